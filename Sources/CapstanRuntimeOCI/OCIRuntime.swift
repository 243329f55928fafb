import CapstanContainerRuntime
import CapstanImageStore
import CapstanOCI
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `ContainerRuntime` on an OCI runtime CLI (runc by default, or crun).
///
/// Design (see docs in the runtime cookbook):
/// - A pod sandbox is a set of persistent namespaces, not a process: IPC and UTS namespaces
///   (and the network namespace unless the caller passes one) are created with `unshare` and
///   bind-mounted on files under `<stateRoot>/sandboxes/<id>/`; containers join them by path.
///   There is no pause process. Each container has its own PID namespace unless the sandbox
///   asks for a pod PID namespace (`namespaces.pid == .pod`): then later containers join the
///   PID namespace of the pod's first running container (which is PID 1 there, so the others
///   die with it; a pause process would be needed to decouple them).
/// - A container is a bundle `<stateRoot>/containers/<id>/` with an overlayfs rootfs (image
///   layers from the `ImageStore` as lower dirs) and a generated `config.json`. At
///   `startContainer` a shim (`capstan-shim`, in C: see `Shim`) starts in a session of its own
///   and runs the OCI runtime's `create` with pipes for stdout/stderr; it is a child subreaper,
///   so the container's init becomes its child. This process then runs `start`.
/// - The shim, not this process, holds the container's stdio: it writes the CRI log file
///   (with rotation), keeps the container's stdin and takes attach connections for it, waits
///   for the init, reads the cgroup's OOM counter, records the exit in the bundle, and runs
///   `delete`. So containers keep running, and logging, when this process ends; their exits
///   are recorded while nobody watches. Stop signals go straight to the init's pid (the shim's
///   zombie until reaped).
/// - Sandboxes and containers are recorded as JSON files next to their directories
///   (OCIRuntime+Records.swift); a new instance on the same state root loads them and adopts
///   running containers (same ids, pids and start times) by their shims.
/// - This process is a child subreaper too: `exec` processes (`runc exec --detach`) are
///   reparented to it and waited for here.
public final class OCIRuntime: ContainerRuntime, ImageService {
    public struct Configuration: Sendable {
        /// `runc` or `crun` (a name on PATH or a path).
        public var runtimeBinary: String
        /// Bundles, namespace files, records and the OCI runtime's own state (`--root`): state
        /// that lives as long as the containers, so a tmpfs (`/run`) serves, as containerd's does.
        public var stateRoot: String
        /// Where the containers' writable layers (overlay upper and work directories) go, one
        /// directory per container: on disk, beside images and logs. nil: inside each bundle.
        public var writableLayerRoot: String?
        /// Parent cgroup (cgroupfs path) of containers whose sandbox names none.
        public var cgroupParent: String
        /// Clamp negative oomScoreAdj to 0 (needed without CAP_SYS_RESOURCE).
        public var clampOOMScoreAdj: Bool
        /// A container log file is rotated when it would grow past this (kubelet: containerLogMaxSize).
        public var containerLogMaxSize: Int64
        /// Log files kept per container, the current one included (kubelet: containerLogMaxFiles).
        public var containerLogMaxFiles: Int
        /// The `capstan-shim` executable; nil: the one next to this process's executable, else on PATH.
        public var shimBinary: String?

        public init(
            runtimeBinary: String = "runc", stateRoot: String = "/run/capstan", cgroupParent: String = "/capstan",
            clampOOMScoreAdj: Bool = true, containerLogMaxSize: Int64 = 10 << 20, containerLogMaxFiles: Int = 5,
            shimBinary: String? = nil, writableLayerRoot: String? = nil
        ) {
            self.runtimeBinary = runtimeBinary
            self.stateRoot = stateRoot
            self.writableLayerRoot = writableLayerRoot
            self.cgroupParent = cgroupParent
            self.clampOOMScoreAdj = clampOOMScoreAdj
            self.containerLogMaxSize = containerLogMaxSize
            self.containerLogMaxFiles = containerLogMaxFiles
            self.shimBinary = shimBinary
        }
    }

    struct Sandbox {
        var status: PodSandboxStatus
        var config: PodSandboxConfig
        var directory: String
        var ipc: String?
        var uts: String?
        var containers: Set<String> = []
    }

    struct Container {
        var status: ContainerStatus
        var config: ContainerConfig
        var bundle: String
        var cgroupsPath: String
        var stopSignal: Int32
        var diffIDs: [ContentDigest]
        /// The running init, signalled through its pidfd (nil before it runs, after it exited, or
        /// when it was gone before it could be opened).
        var process: ContainerProcess?
        var starting = false
        var exitWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    struct State {
        var sandboxes: [String: Sandbox] = [:]
        var containers: [String: Container] = [:]
        var nextWaiter = 0
    }

    public let configuration: Configuration
    public let images: ImageStore
    let logger: Logger
    let state = Mutex(State())
    /// Serializes record writes, so that the last state written is the last one taken.
    let persistence = Mutex(())
    let shimBinary: String
    /// The runtime's binary as this process and the shims execute it (nil: from its file).
    let sealedRuntime: SealedRuntime?
    private let versionCache = Mutex<RuntimeVersion?>(nil)

    /// Makes this process a child subreaper, prepares the state directories, and loads the
    /// sandboxes and containers recorded there (adopting the containers whose shims run).
    public init(configuration: Configuration = Configuration(), images: ImageStore, logger: Logger = Logger(label: "capstan.runtime")) throws {
        self.configuration = configuration
        self.images = images
        self.logger = logger
        guard let shim = configuration.shimBinary ?? Shim.locate() else {
            throw RuntimeError(.internalError, "\(Shim.binaryName) was not found next to this executable or on PATH (swift build builds it; scripts/build-release too)")
        }
        shimBinary = shim
        sealedRuntime = SealedRuntime(binary: configuration.runtimeBinary, directory: configuration.stateRoot + "/bin")
        guard HostOps.becomeSubreaper() else {
            throw RuntimeError(.internalError, "prctl(PR_SET_CHILD_SUBREAPER) failed: \(String(cString: strerror(errno)))")
        }
        for directory in ["sandboxes", "containers", "runtime"].map({ configuration.stateRoot + "/" + $0 }) + [configuration.writableLayerRoot].compactMap({ $0 }) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw RuntimeError(.internalError, "cannot create \(directory): \(error)")
            }
        }
        for id in restore() { watchAdopted(id) }
    }

    var runtimeRoot: String { configuration.stateRoot + "/runtime" }

    /// The directory holding container `id`'s overlay upper and work directories.
    func writableLayer(_ id: String) -> String {
        configuration.writableLayerRoot.map { $0 + "/" + id } ?? configuration.stateRoot + "/containers/" + id
    }

    /// Removes a container's bundle and, where it lives apart, its writable layer.
    func removeBundle(_ id: String, bundle: String) throws {
        try FileManager.default.removeItem(atPath: bundle)
        if configuration.writableLayerRoot != nil {
            let layer = writableLayer(id)
            if FileManager.default.fileExists(atPath: layer) { try FileManager.default.removeItem(atPath: layer) }
        }
    }

    func runtimeCommand(_ arguments: [String]) -> Subprocess.Command {
        Subprocess.Command([configuration.runtimeBinary, "--root", runtimeRoot] + arguments, executable: sealedRuntime?.executable)
    }

    static func newID() -> String {
        String(format: "%016llx%016llx", UInt64.random(in: 0 ... .max), UInt64.random(in: 0 ... .max))
    }

    public func version() async throws -> RuntimeVersion {
        if let cached = versionCache.withLock({ $0 }) { return cached }
        let output = try await Subprocess.run([configuration.runtimeBinary, "--version"])
        let firstLine = String(decoding: output.stdout, as: UTF8.self).split(separator: "\n").first ?? ""
        let version = firstLine.split(separator: " ").last.map(String.init) ?? "unknown"
        let name = (configuration.runtimeBinary as NSString).lastPathComponent
        let result = RuntimeVersion(runtimeName: name, runtimeVersion: version)
        versionCache.withLock { $0 = result }
        return result
    }

    // MARK: Sandboxes

    public func runPodSandbox(_ config: PodSandboxConfig) async throws -> String {
        let id = Self.newID()
        let directory = configuration.stateRoot + "/sandboxes/" + id
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw RuntimeError(.internalError, "cannot create \(directory): \(error)")
        }
        let ownsNetwork = config.namespaces.network == .pod && config.networkNamespacePath == nil
        let network: String? = switch config.namespaces.network {
        case .node: nil
        default: config.networkNamespacePath ?? directory + "/net"
        }
        let ipc: String? = config.namespaces.ipc == .node ? nil : directory + "/ipc"
        let uts: String? = config.namespaces.network == .node ? nil : directory + "/uts"
        let hostname = config.hostname.isEmpty ? config.metadata.name : config.hostname
        do {
            try HostOps.createNamespaces(network: ownsNetwork ? network : nil, ipc: ipc, uts: uts, hostname: hostname)
        } catch {
            // The namespaces that were made are gone already (PodNamespaces cleans up after itself).
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        let status = PodSandboxStatus(
            id: id, metadata: config.metadata, state: .ready, createdAt: Date(), networkNamespacePath: network,
            ownsNetworkNamespace: ownsNetwork, labels: config.labels, annotations: config.annotations
        )
        var sandbox = Sandbox(status: status, config: config, directory: directory, ipc: ipc, uts: uts)
        sandbox.config.hostname = hostname
        state.withLock { $0.sandboxes[id] = sandbox }
        persistSandbox(id)
        return id
    }

    public func stopPodSandbox(_ id: String, timeout: Duration) async throws {
        guard let containers = state.withLock({ $0.sandboxes[id]?.containers }) else { return }
        // Every container gets its stop even when one fails; the namespaces are released anyway.
        let failures = await withTaskGroup(of: (any Error)?.self) { group in
            for container in containers {
                group.addTask {
                    do {
                        try await self.stopContainer(container, timeout: timeout)
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            var failures: [any Error] = []
            for await case let failure? in group { failures.append(failure) }
            return failures
        }
        let namespaces: [String] = state.withLock { state in
            guard var sandbox = state.sandboxes[id], sandbox.status.state == .ready else { return [] }
            sandbox.status.state = .notReady
            state.sandboxes[id] = sandbox
            return [sandbox.status.ownsNetworkNamespace ? sandbox.status.networkNamespacePath : nil, sandbox.ipc, sandbox.uts].compactMap { $0 }
        }
        persistSandbox(id)
        HostOps.removeNamespaces(namespaces)
        if let failure = failures.first { throw failure }
    }

    public func removePodSandbox(_ id: String) async throws {
        guard state.withLock({ $0.sandboxes[id] != nil }) else { return }
        var failure: (any Error)?
        do {
            try await stopPodSandbox(id, timeout: .zero)
        } catch {
            failure = error
        }
        let (containers, directory) = state.withLock { state in
            (state.sandboxes[id]?.containers ?? [], state.sandboxes[id]?.directory)
        }
        for container in containers {
            do {
                try await removeContainer(container)
            } catch {
                failure = failure ?? error
            }
        }
        if let failure {
            // Keep the sandbox so the caller can retry; its namespaces are already released.
            throw failure
        }
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
        state.withLock { _ = $0.sandboxes.removeValue(forKey: id) }
    }

    public func podSandboxStatus(_ id: String) async throws -> PodSandboxStatus {
        guard let status = state.withLock({ $0.sandboxes[id]?.status }) else {
            throw RuntimeError(.notFound, "pod sandbox \(id) not found")
        }
        return status
    }

    public func listPodSandboxes(_ filter: PodSandboxFilter) async throws -> [PodSandboxStatus] {
        state.withLock { state in
            if let id = filter.id { return state.sandboxes[id].map { [$0.status] }?.filter(filter.matches) ?? [] }
            return state.sandboxes.values.map(\.status).filter(filter.matches).sorted { $0.createdAt < $1.createdAt }
        }
    }

    // MARK: Containers

    public func createContainer(in sandboxID: String, _ config: ContainerConfig) async throws -> String {
        guard let sandbox = state.withLock({ $0.sandboxes[sandboxID] }) else {
            throw RuntimeError(.notFound, "pod sandbox \(sandboxID) not found")
        }
        guard sandbox.status.state == .ready else {
            throw RuntimeError(.failedPrecondition, "pod sandbox \(sandboxID) is not ready")
        }
        guard let image = await images.image(config.image) else {
            throw RuntimeError(.imageNotFound, "image \(config.image) is not present")
        }
        let id = Self.newID()
        let bundle = configuration.stateRoot + "/containers/" + id
        let layers = await images.layerDirectories(image)
        let imageConfig = Self.runtimeConfig(image.config)
        let parent = sandbox.config.cgroupParent.map { $0.hasPrefix("/") ? $0 : "/" + $0 } ?? configuration.cgroupParent
        let cgroupsPath = parent + "/" + id
        // Shared pod PID namespace: join the one of the pod's first running container (there is
        // no pause process, so the namespace ends with that container).
        let pidNamespace: String? = switch sandbox.config.namespaces.pid {
        case .node: ""
        case .container: nil
        case .pod: state.withLock { state in
            sandbox.containers.compactMap { state.containers[$0] }.filter { $0.status.state == .running }
                .min { ($0.status.startedAt ?? .distantFuture) < ($1.status.startedAt ?? .distantFuture) }
                .flatMap { $0.status.pid }.map { "/proc/\($0)/ns/pid" }
        }
        }
        let builder = SpecBuilder(
            config: config, image: imageConfig,
            namespaces: SpecBuilder.SandboxNamespaces(
                network: sandbox.status.networkNamespacePath, ipc: sandbox.ipc, uts: sandbox.uts,
                hostname: sandbox.config.hostname, sysctls: sandbox.config.sysctls, pid: pidNamespace
            ),
            rootfs: bundle + "/rootfs", cgroupsPath: cgroupsPath,
            passwd: Self.readFromLayers(layers, "etc/passwd"), group: Self.readFromLayers(layers, "etc/group"),
            clampOOMScoreAdj: configuration.clampOOMScoreAdj
        )
        let spec: RuntimeSpec
        do {
            spec = try builder.build()
        } catch {
            throw error
        }
        do {
            let layer = writableLayer(id)
            try HostOps.mountOverlay(layers: layers, upper: layer + "/upper", work: layer + "/work", target: bundle + "/rootfs")
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            try encoder.encode(spec).write(to: URL(fileURLWithPath: bundle + "/config.json"))
        } catch {
            HostOps.unmount(bundle + "/rootfs")
            try? removeBundle(id, bundle: bundle)
            throw (error as? RuntimeError) ?? RuntimeError(.createFailed, "writing the bundle \(bundle): \(error)")
        }
        let status = ContainerStatus(
            id: id, sandboxID: sandboxID, metadata: config.metadata, state: .created, createdAt: Date(),
            image: config.image, imageRef: image.id.description, logPath: config.logPath,
            labels: config.labels, annotations: config.annotations
        )
        let stopSignal = config.stopSignal ?? Self.signalNumber(imageConfig.stopSignal) ?? SIGTERM
        let inserted = state.withLock { state in
            guard state.sandboxes[sandboxID]?.status.state == .ready else { return false }
            state.sandboxes[sandboxID]?.containers.insert(id)
            state.containers[id] = Container(status: status, config: config, bundle: bundle, cgroupsPath: cgroupsPath, stopSignal: stopSignal, diffIDs: image.diffIDs)
            return true
        }
        guard inserted else {
            HostOps.unmount(bundle + "/rootfs")
            try? removeBundle(id, bundle: bundle)
            throw RuntimeError(.failedPrecondition, "pod sandbox \(sandboxID) stopped while the container was created")
        }
        persistContainer(id)
        return id
    }

    public func containerStatus(_ id: String) async throws -> ContainerStatus {
        guard let status = state.withLock({ $0.containers[id]?.status }) else {
            throw RuntimeError(.notFound, "container \(id) not found")
        }
        return status
    }

    public func listContainers(_ filter: ContainerFilter) async throws -> [ContainerStatus] {
        state.withLock { state in
            if let id = filter.id { return state.containers[id].map { [$0.status] }?.filter(filter.matches) ?? [] }
            let candidates: [Container] = if let sandbox = filter.sandboxID {
                (state.sandboxes[sandbox]?.containers ?? []).compactMap { state.containers[$0] }
            } else {
                Array(state.containers.values)
            }
            return candidates.map(\.status).filter(filter.matches).sorted { $0.createdAt < $1.createdAt }
        }
    }

    /// Removes the default cgroup parent (in every hierarchy) if no container uses it any
    /// more; call at shutdown, after the sandboxes are removed.
    public func removeIdleCgroupParent() {
        guard state.withLock({ $0.containers.isEmpty }) else { return }
        HostOps.removeCgroup(configuration.cgroupParent)
    }

    // MARK: Helpers

    static func runtimeConfig(_ config: ImageConfiguration.Config) -> ImageRuntimeConfig {
        ImageRuntimeConfig(
            entrypoint: config.entrypoint ?? [], cmd: config.cmd ?? [], env: config.env ?? [],
            workingDir: config.workingDir, user: config.user, stopSignal: config.stopSignal
        )
    }

    /// The file from the topmost layer that has it (empty when none does).
    static func readFromLayers(_ layers: [String], _ relative: String) -> String {
        for layer in layers.reversed() {
            if let data = FileManager.default.contents(atPath: layer + "/" + relative) { return String(decoding: data.prefix(1 << 20), as: UTF8.self) }
        }
        return ""
    }

    static func signalNumber(_ name: String?) -> Int32? {
        guard var name = name?.uppercased(), !name.isEmpty else { return nil }
        if let number = Int32(name) { return number }
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        let table: [String: Int32] = [
            "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "KILL": SIGKILL, "USR1": SIGUSR1, "USR2": SIGUSR2,
            "TERM": SIGTERM, "WINCH": SIGWINCH, "STOP": SIGSTOP, "CONT": SIGCONT, "PWR": SIGPWR,
        ]
        return table[name]
    }
}
