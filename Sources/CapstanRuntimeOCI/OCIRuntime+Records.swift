import CapstanContainerRuntime
import CapstanOCI
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Sandboxes and containers are kept on disk as well as in memory, so that a new runtime
/// instance (the agent restarted) knows them: `<stateRoot>/sandboxes/<id>/sandbox.json` and
/// `<stateRoot>/containers/<id>/container.json` (in the bundle), written atomically whenever a
/// record changes and removed with their directories.
extension OCIRuntime {
    struct SandboxRecord: Codable {
        var status: PodSandboxStatus
        var config: PodSandboxConfig
        var ipc: String?
        var uts: String?
    }

    struct ContainerRecord: Codable {
        var status: ContainerStatus
        var config: ContainerConfig
        var cgroupsPath: String
        var stopSignal: Int32
        var diffIDs: [ContentDigest]
    }

    static let sandboxRecordName = "sandbox.json"
    static let containerRecordName = "container.json"

    func persistSandbox(_ id: String) {
        persistence.withLock { _ in
            guard let sandbox = state.withLock({ $0.sandboxes[id] }) else { return }
            let record = SandboxRecord(status: sandbox.status, config: sandbox.config, ipc: sandbox.ipc, uts: sandbox.uts)
            Self.write(record, to: sandbox.directory + "/" + Self.sandboxRecordName)
        }
    }

    func persistContainer(_ id: String) {
        persistence.withLock { _ in
            guard let container = state.withLock({ $0.containers[id] }) else { return }
            let record = ContainerRecord(status: container.status, config: container.config, cgroupsPath: container.cgroupsPath,
                                         stopSignal: container.stopSignal, diffIDs: container.diffIDs)
            Self.write(record, to: container.bundle + "/" + Self.containerRecordName)
        }
    }

    /// Replaces the record whole (a crash leaves the old or the new one).
    private static func write(_ record: some Encodable, to path: String) {
        guard let data = try? JSONEncoder().encode(record) else { return }
        try? FileReplace.write(Array(data), to: path)
    }

    private static func read<Record: Decodable>(_ type: Record.Type, _ path: String) -> Record? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(type, from: data)
    }

    // MARK: Restoring

    /// Loads the records a previous instance left: sandboxes, and containers as their shims
    /// tell (running while the shim runs; exited with the code the shim recorded). Leftovers of
    /// creations that did not finish are removed. Returns the containers whose shims to watch.
    func restore() -> [String] {
        let fm = FileManager.default
        var sandboxes: [String: Sandbox] = [:]
        let sandboxRoot = configuration.stateRoot + "/sandboxes"
        for id in (try? fm.contentsOfDirectory(atPath: sandboxRoot)) ?? [] {
            let directory = sandboxRoot + "/" + id
            guard let record = Self.read(SandboxRecord.self, directory + "/" + Self.sandboxRecordName) else {
                // Its creation did not finish: release what it made.
                HostOps.removeNamespaces(["net", "ipc", "uts"].map { directory + "/" + $0 })
                try? fm.removeItem(atPath: directory)
                continue
            }
            var sandbox = Sandbox(status: record.status, config: record.config, directory: directory, ipc: record.ipc, uts: record.uts)
            let namespaces = [record.status.networkNamespacePath, record.ipc, record.uts].compactMap { $0 }
            if sandbox.status.state == .ready, !namespaces.allSatisfy(PodNamespaces.exists) {
                // The namespaces are gone (the host restarted): its containers cannot run there any more.
                sandbox.status.state = .notReady
            }
            sandboxes[id] = sandbox
        }

        var containers: [String: Container] = [:]
        var watch: [String] = []
        let containerRoot = configuration.stateRoot + "/containers"
        for id in (try? fm.contentsOfDirectory(atPath: containerRoot)) ?? [] {
            let bundle = containerRoot + "/" + id
            guard let record = Self.read(ContainerRecord.self, bundle + "/" + Self.containerRecordName),
                  sandboxes[record.status.sandboxID] != nil else {
                // Its creation did not finish, or its sandbox was removed: finish removing it.
                if Shim.isRunning(bundle: bundle) == true { _ = try? Subprocess.runSynchronously(runtimeCommand(["delete", "--force", id])) }
                HostOps.unmount(bundle + "/rootfs")
                try? removeBundle(id, bundle: bundle)
                continue
            }
            var container = Container(status: record.status, config: record.config, bundle: bundle, cgroupsPath: record.cgroupsPath,
                                      stopSignal: record.stopSignal, diffIDs: record.diffIDs)
            if recover(&container) { watch.append(id) }
            containers[id] = container
            sandboxes[record.status.sandboxID]?.containers.insert(id)
        }
        // Writable layers of containers with no record (their state went with a reboot's /run).
        if let layerRoot = configuration.writableLayerRoot {
            for id in (try? fm.contentsOfDirectory(atPath: layerRoot)) ?? [] where containers[id] == nil {
                try? fm.removeItem(atPath: layerRoot + "/" + id)
            }
        }
        state.withLock { state in
            state.sandboxes = sandboxes
            state.containers = containers
        }
        for id in sandboxes.keys { persistSandbox(id) }
        for id in containers.keys { persistContainer(id) }
        return watch
    }

    /// The state of a container that was being started or running when the previous instance
    /// ended; true when its shim still runs it (then the caller watches the shim).
    private func recover(_ container: inout Container) -> Bool {
        let id = container.status.id
        guard container.status.state == .running || container.status.state == .created else { return false }
        switch Shim.isRunning(bundle: container.bundle) {
        case nil where container.status.state == .created:
            // Created, never started: it stays so.
            return false
        case true?:
            if container.status.state == .created || runtimeStatus(id) == "created" {
                // The previous instance ended between `create` and `start`: nothing will start it.
                _ = try? Subprocess.runSynchronously(runtimeCommand(["delete", "--force", id]))
                Self.recordExit(&container, code: 128, reason: "StartError", message: "the node agent restarted while the container was starting",
                                at: Date())
                return false
            }
            if let pid = container.status.pid {
                container.process = ContainerProcess.open(pid: pid, cgroupsPath: container.cgroupsPath)
            }
            return true
        default:
            if container.status.state == .running, let exit = Shim.readExit(bundle: container.bundle) {
                Self.recordExit(&container, exit)
                return false
            }
            // The shim is gone without a record of the exit (killed, or the host restarted).
            _ = try? Subprocess.runSynchronously(runtimeCommand(["delete", "--force", id]))
            let starting = container.status.state == .created
            Self.recordExit(&container, code: starting ? 128 : 255, reason: starting ? "StartError" : TerminationReason.error,
                            message: Self.lostShimMessage, at: Date())
            return false
        }
    }

    static let lostShimMessage = "the container's shim ended without recording the container's exit (killed, or the host restarted)"

    /// The exit its shim recorded.
    static func recordExit(_ container: inout Container, _ exit: Shim.Exit) {
        recordExit(&container, code: exit.code, reason: TerminationReason.forExit(code: exit.code, oomKilled: exit.oomKilled),
                   message: nil, at: exit.finishedAt)
    }

    static func recordExit(_ container: inout Container, code: Int32, reason: String?, message: String?, at date: Date) {
        container.status.state = .exited
        container.status.exitCode = code
        if container.status.reason == nil { container.status.reason = reason }
        if container.status.message == nil { container.status.message = message }
        if container.status.startedAt == nil { container.status.startedAt = date }
        container.status.finishedAt = date
        container.status.pid = nil
        container.process = nil
    }

    /// `status` from the OCI runtime's `state` (created, running, stopped), nil when it does not know the container.
    func runtimeStatus(_ id: String) -> String? {
        guard let output = try? Subprocess.runSynchronously(runtimeCommand(["state", id])), output.status == 0 else { return nil }
        struct State: Decodable { var status: String }
        return (try? JSONDecoder().decode(State.self, from: Data(output.stdout)))?.status
    }
}
