import CapstanContainerRuntime
import CapstanOCI

/// Builds a container's OCI `config.json` from its `ContainerConfig`, the image config and
/// the sandbox's namespaces. Pure: every input is a parameter.
struct SpecBuilder {
    struct SandboxNamespaces: Sendable, Hashable {
        /// Paths of the pod's namespaces to join; `nil`: the node's namespace.
        var network: String?
        var ipc: String?
        var uts: String?
        var hostname: String
        var sysctls: [String: String]
        /// `nil`: a new PID namespace; "": the node's (hostPID); a path: join it (shared pod PID namespace).
        var pid: String? = nil
    }

    var config: ContainerConfig
    var image: ImageRuntimeConfig
    var namespaces: SandboxNamespaces
    var rootfs: String
    var cgroupsPath: String
    /// The image's /etc/passwd and /etc/group (empty when absent).
    var passwd: String
    var group: String
    /// Clamp oomScoreAdj to >= 0 (hosts without CAP_SYS_RESOURCE).
    var clampOOMScoreAdj: Bool

    func build() throws(RuntimeError) -> RuntimeSpec {
        let args = try config.resolvedArguments(image: image)
        var env = config.resolvedEnvironment(image: image)
        if !env.contains(where: { $0.hasPrefix("PATH=") }) {
            env.insert("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", at: 0)
        }
        if !env.contains(where: { $0.hasPrefix("HOSTNAME=") }) { env.append("HOSTNAME=\(namespaces.hostname)") }
        let user = try resolveUser()
        if config.runAsNonRoot && user.uid == 0 {
            throw RuntimeError(.failedPrecondition, "container has runAsNonRoot and image will run as root")
        }
        let capabilities = try capabilitySet()
        var oomScoreAdj = config.resources.oomScoreAdj
        if clampOOMScoreAdj, let value = oomScoreAdj, value < 0 { oomScoreAdj = 0 }
        let process = RuntimeSpec.Process(
            terminal: config.tty, user: user, args: args, env: env, cwd: config.resolvedWorkingDir(image: image),
            capabilities: RuntimeSpec.Capabilities(capabilities),
            noNewPrivileges: config.privileged ? false : !config.allowPrivilegeEscalation,
            oomScoreAdj: oomScoreAdj
        )
        var mounts = RuntimeSpec.defaultMounts(readOnlySys: !config.privileged)
        let destinations = Set(config.mounts.map { normalize($0.containerPath) })
        mounts.removeAll { destinations.contains($0.destination) }
        for mount in config.mounts {
            guard mount.containerPath.hasPrefix("/"), !mount.hostPath.isEmpty else {
                throw RuntimeError(.invalidArgument, "mount \(mount.hostPath) -> \(mount.containerPath): paths must be absolute")
            }
            if mount.propagation == .bidirectional && !config.privileged {
                throw RuntimeError(.invalidArgument, "mount \(mount.containerPath): Bidirectional propagation needs a privileged container")
            }
            let propagation = switch mount.propagation {
            case .private: "rprivate"
            case .hostToContainer: "rslave"
            case .bidirectional: "rshared"
            }
            mounts.append(RuntimeSpec.Mount(
                destination: normalize(mount.containerPath), type: "bind", source: mount.hostPath,
                options: ["rbind", propagation] + (mount.readOnly ? ["ro"] : [])
            ))
        }
        var specNamespaces = [RuntimeSpec.Namespace(type: "mount")]
        switch namespaces.pid {
        case nil: specNamespaces.append(RuntimeSpec.Namespace(type: "pid"))
        case let path? where !path.isEmpty: specNamespaces.append(RuntimeSpec.Namespace(type: "pid", path: path))
        default: break
        }
        if let network = namespaces.network { specNamespaces.append(RuntimeSpec.Namespace(type: "network", path: network)) }
        if let ipc = namespaces.ipc { specNamespaces.append(RuntimeSpec.Namespace(type: "ipc", path: ipc)) }
        if let uts = namespaces.uts { specNamespaces.append(RuntimeSpec.Namespace(type: "uts", path: uts)) }
        let resources = RuntimeSpec.Resources(
            memory: config.resources.memoryLimitBytes.map { RuntimeSpec.Resources.Memory(limit: $0) },
            cpu: config.resources.cpuShares == nil && config.resources.cpuQuota == nil ? nil
                : RuntimeSpec.Resources.CPU(shares: config.resources.cpuShares, quota: config.resources.cpuQuota, period: config.resources.cpuQuota == nil ? nil : (config.resources.cpuPeriod ?? 100_000)),
            pids: config.resources.pidsLimit.map { RuntimeSpec.Resources.Pids(limit: $0) },
            devices: [RuntimeSpec.Resources.DeviceRule(allow: config.privileged, access: "rwm")]
        )
        let propagation: String? = config.mounts.contains { $0.propagation == .bidirectional } ? "rshared"
            : config.mounts.contains { $0.propagation == .hostToContainer } ? "rslave" : nil
        let linux = RuntimeSpec.Linux(
            namespaces: specNamespaces, resources: resources, cgroupsPath: cgroupsPath,
            maskedPaths: config.privileged ? [] : (config.maskedPaths ?? RuntimeSpec.defaultMaskedPaths),
            readonlyPaths: config.privileged ? [] : (config.readonlyPaths ?? RuntimeSpec.defaultReadonlyPaths),
            sysctl: namespaces.sysctls.isEmpty ? nil : namespaces.sysctls,
            seccomp: config.seccomp == .runtimeDefault && !config.privileged ? SeccompDefaults.profile(capabilities: capabilities) : nil,
            rootfsPropagation: propagation
        )
        return RuntimeSpec(
            process: process, root: RuntimeSpec.Root(path: rootfs, readonly: config.readOnlyRootFilesystem),
            hostname: namespaces.uts == nil ? nil : namespaces.hostname, mounts: mounts, linux: linux,
            annotations: config.annotations.isEmpty ? nil : config.annotations
        )
    }

    private func resolveUser() throws(RuntimeError) -> RuntimeSpec.User {
        let fromImage = try ImageUser(image.user).resolve(passwd: passwd, group: group)
        let uid = config.runAsUser ?? fromImage.uid
        var gid = config.runAsGroup ?? fromImage.gid
        if config.runAsUser != nil && config.runAsGroup == nil {
            // A uid from the pod spec takes its primary group from the image's passwd, else 0.
            gid = Self.primaryGroup(of: uid, passwd: passwd) ?? 0
        }
        return RuntimeSpec.User(uid: uid, gid: gid, additionalGids: config.supplementalGroups.isEmpty ? nil : config.supplementalGroups)
    }

    private static func primaryGroup(of uid: UInt32, passwd: String) -> UInt32? {
        for line in passwd.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            if fields.count >= 4, UInt32(fields[2]) == uid { return UInt32(fields[3]) }
        }
        return nil
    }

    private func capabilitySet() throws(RuntimeError) -> [String] {
        if config.privileged { return RuntimeSpec.allCapabilities }
        func canonical(_ name: String) throws(RuntimeError) -> String {
            let upper = name.uppercased()
            if upper == "ALL" { return upper }
            let full = upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
            guard RuntimeSpec.allCapabilities.contains(full) else { throw RuntimeError(.invalidArgument, "unknown capability \(name)") }
            return full
        }
        var set = RuntimeSpec.defaultCapabilities
        var drops: [String] = []
        for name in config.capabilities.drop { drops.append(try canonical(name)) }
        if drops.contains("ALL") { set = [] } else { set.removeAll { drops.contains($0) } }
        for name in config.capabilities.add {
            let capability = try canonical(name)
            if capability == "ALL" { set = RuntimeSpec.allCapabilities; break }
            if !set.contains(capability) { set.append(capability) }
        }
        return set
    }

    private func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." && !part.isEmpty {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return "/" + parts.joined(separator: "/")
    }
}
