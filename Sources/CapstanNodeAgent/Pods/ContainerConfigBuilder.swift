import CapstanAPI
import CapstanContainerRuntime
import Foundation

/// Labels the agent puts on sandboxes and containers, to find (and adopt) them again.
public enum AgentLabels {
    public static let managed = "capstan.io/managed"
    public static let podUID = "io.kubernetes.pod.uid"
    public static let podName = "io.kubernetes.pod.name"
    public static let podNamespace = "io.kubernetes.pod.namespace"
    public static let containerName = "io.kubernetes.container.name"
}

/// Builds the runtime's `ContainerConfig` from a pod's container (pure): environment with every
/// `valueFrom` kind and `envFrom`, `$(VAR)` expansion, security context, cgroup resources.
/// ConfigMaps and Secrets the environment refers to are fetched by the caller and passed in.
public struct ContainerConfigBuilder: Sendable {
    public struct MissingReference: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public var pod: CoreV1.Pod
    /// ConfigMap name → data; Secret name → decoded data. Absent names are missing objects.
    public var configMaps: [String: [String: String]]
    public var secrets: [String: [String: String]]
    public var podIP: String?
    public var hostIP: String

    public init(pod: CoreV1.Pod, configMaps: [String: [String: String]] = [:], secrets: [String: [String: String]] = [:],
                podIP: String?, hostIP: String) {
        self.pod = pod
        self.configMaps = configMaps
        self.secrets = secrets
        self.podIP = podIP
        self.hostIP = hostIP
    }

    public func config(for container: CoreV1.Container, attempt: Int, logPath: String?, mounts: [Mount]) throws(MissingReference) -> ContainerConfig {
        let env = try environment(for: container)
        var lookup: [String: String] = [:]
        for variable in env { lookup[variable.name] = variable.value }
        let security = container.securityContext
        let podSecurity = pod.spec?.securityContext
        var config = ContainerConfig(
            name: container.name, attempt: attempt, image: container.image ?? "",
            command: (container.command ?? []).map { Self.expand($0, lookup) }, args: (container.args ?? []).map { Self.expand($0, lookup) },
            env: env, workingDir: container.workingDir.flatMap { $0.isEmpty ? nil : $0 }, mounts: mounts,
            runAsUser: (security?.runAsUser ?? podSecurity?.runAsUser).flatMap { UInt32(exactly: $0) },
            runAsGroup: (security?.runAsGroup ?? podSecurity?.runAsGroup).flatMap { UInt32(exactly: $0) },
            supplementalGroups: (podSecurity?.supplementalGroups ?? []).compactMap { UInt32(exactly: $0) }
                + (podSecurity?.fsGroup.flatMap { UInt32(exactly: $0) }.map { [$0] } ?? []),
            runAsNonRoot: security?.runAsNonRoot ?? podSecurity?.runAsNonRoot ?? false,
            capabilities: Capabilities(add: security?.capabilities?.add ?? [], drop: security?.capabilities?.drop ?? []),
            privileged: security?.privileged ?? false,
            readOnlyRootFilesystem: security?.readOnlyRootFilesystem ?? false,
            allowPrivilegeEscalation: security?.allowPrivilegeEscalation ?? true,
            seccomp: (security?.seccompProfile ?? podSecurity?.seccompProfile)?.type == "RuntimeDefault" ? .runtimeDefault : .unconfined,
            maskedPaths: security?.procMount == "Unmasked" ? [] : nil, readonlyPaths: security?.procMount == "Unmasked" ? [] : nil,
            resources: Self.resources(container), logPath: logPath,
            tty: container.tty ?? false, stdin: container.stdin ?? false, stdinOnce: container.stdinOnce ?? false)
        config.labels = [
            AgentLabels.managed: "true", AgentLabels.podUID: pod.metadata?.uid ?? "", AgentLabels.podName: pod.metadata?.name ?? "",
            AgentLabels.podNamespace: pod.metadata?.namespace ?? "", AgentLabels.containerName: container.name,
        ]
        return config
    }

    /// cpu.shares from requests (at least 2), CFS quota from limits (period 100 ms), memory limit.
    static func resources(_ container: CoreV1.Container) -> LinuxResources {
        let requests = container.resources?.requests ?? [:]
        let limits = container.resources?.limits ?? [:]
        var resources = LinuxResources()
        let cpuRequest = requests["cpu"] ?? limits["cpu"]
        resources.cpuShares = UInt64(max(2, (cpuRequest?.milliValue ?? 0) * 1024 / 1000))
        if let cpu = limits["cpu"], !cpu.isZero {
            resources.cpuPeriod = 100_000
            resources.cpuQuota = max(1000, cpu.milliValue * 100)
        }
        if let memory = limits["memory"], !memory.isZero { resources.memoryLimitBytes = memory.value }
        return resources
    }

    /// The container's environment in order: envFrom sources, then env (later names win).
    func environment(for container: CoreV1.Container) throws(MissingReference) -> [EnvVar] {
        var order: [String] = []
        var values: [String: String] = [:]
        func set(_ name: String, _ value: String) {
            if values.updateValue(value, forKey: name) == nil { order.append(name) }
        }
        for source in container.envFrom ?? [] {
            let prefix = source.prefix ?? ""
            if let ref = source.configMapRef {
                guard let data = configMaps[ref.name ?? ""] else {
                    if ref.optional == true { continue }
                    throw MissingReference(description: "configmap \"\(ref.name ?? "")\" not found")
                }
                for key in data.keys.sorted() { set(prefix + key, data[key] ?? "") }
            }
            if let ref = source.secretRef {
                guard let data = secrets[ref.name ?? ""] else {
                    if ref.optional == true { continue }
                    throw MissingReference(description: "secret \"\(ref.name ?? "")\" not found")
                }
                for key in data.keys.sorted() { set(prefix + key, data[key] ?? "") }
            }
        }
        for variable in container.env ?? [] {
            if let source = variable.valueFrom {
                guard let value = try resolve(source, container: container) else { continue }
                set(variable.name, value)
            } else {
                set(variable.name, Self.expand(variable.value ?? "", values))
            }
        }
        return order.map { EnvVar($0, values[$0] ?? "") }
    }

    private func resolve(_ source: CoreV1.EnvVarSource, container: CoreV1.Container) throws(MissingReference) -> String? {
        if let ref = source.configMapKeyRef {
            if let value = configMaps[ref.name ?? ""]?[ref.key] { return value }
            if ref.optional == true { return nil }
            if configMaps[ref.name ?? ""] == nil { throw MissingReference(description: "configmap \"\(ref.name ?? "")\" not found") }
            throw MissingReference(description: "couldn't find key \(ref.key) in ConfigMap \(pod.metadata?.namespace ?? "")/\(ref.name ?? "")")
        }
        if let ref = source.secretKeyRef {
            if let value = secrets[ref.name ?? ""]?[ref.key] { return value }
            if ref.optional == true { return nil }
            if secrets[ref.name ?? ""] == nil { throw MissingReference(description: "secret \"\(ref.name ?? "")\" not found") }
            throw MissingReference(description: "couldn't find key \(ref.key) in Secret \(pod.metadata?.namespace ?? "")/\(ref.name ?? "")")
        }
        if let ref = source.fieldRef { return fieldValue(ref.fieldPath) }
        if let ref = source.resourceFieldRef {
            let target = ref.containerName.flatMap { name in
                ((pod.spec?.containers ?? []) + (pod.spec?.initContainers ?? [])).first { $0.name == name }
            } ?? container
            return Self.resourceValue(ref.resource, container: target, divisor: ref.divisor)
        }
        return nil
    }

    func fieldValue(_ path: String) -> String {
        let meta = pod.metadata
        switch path {
        case "metadata.name": return meta?.name ?? ""
        case "metadata.namespace": return meta?.namespace ?? ""
        case "metadata.uid": return meta?.uid ?? ""
        case "spec.nodeName": return pod.spec?.nodeName ?? ""
        case "spec.serviceAccountName": return pod.spec?.serviceAccountName ?? ""
        case "status.hostIP", "status.hostIPs": return hostIP
        case "status.podIP", "status.podIPs": return podIP ?? ""
        default:
            for (prefix, map) in [("metadata.labels", meta?.labels), ("metadata.annotations", meta?.annotations)] where path.hasPrefix(prefix) {
                let rest = path.dropFirst(prefix.count)
                if rest.hasPrefix("['"), rest.hasSuffix("']") { return map?[String(rest.dropFirst(2).dropLast(2))] ?? "" }
                return (map ?? [:]).keys.sorted().map { "\($0)=\"\(map?[$0] ?? "")\"" }.joined(separator: "\n")
            }
            return ""
        }
    }

    /// `limits.cpu` etc. in units of the divisor (rounded up, as kubelet does); unset limits are reported as 0.
    static func resourceValue(_ resource: String, container: CoreV1.Container, divisor: Quantity?) -> String {
        let parts = resource.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return "" }
        let table = parts[0] == "limits" ? container.resources?.limits : container.resources?.requests
        let quantity = table?[parts[1]] ?? Quantity(0)
        let unit = divisor.flatMap { $0.isZero ? nil : $0 } ?? Quantity(1)
        if parts[1] == "cpu" {
            let milli = quantity.milliValue
            let per = max(1, unit.milliValue)
            return String((milli + per - 1) / per)
        }
        let per = max(1, unit.value)
        return String((quantity.value + per - 1) / per)
    }

    /// `$(VAR)` expansion as Kubernetes does it: `$$` escapes, unknown references stay as written.
    static func expand(_ text: String, _ values: [String: String]) -> String {
        guard text.contains("$") else { return text }
        var out = ""
        var index = text.startIndex
        while index < text.endIndex {
            let char = text[index]
            let next = text.index(after: index)
            if char == "$", next < text.endIndex {
                if text[next] == "$" { out.append("$"); index = text.index(after: next); continue }
                if text[next] == "(", let close = text[next...].firstIndex(of: ")") {
                    let name = String(text[text.index(after: next)..<close])
                    if let value = values[name] { out += value } else { out += "$(\(name))" }
                    index = text.index(after: close)
                    continue
                }
            }
            out.append(char)
            index = next
        }
        return out
    }
}
