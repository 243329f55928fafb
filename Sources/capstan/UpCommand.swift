import ArgumentParser
import CapstanAPI
import CapstanAPIServer
import CapstanClient
import CapstanNodeAgent
import CapstanNodeSimulator
import CapstanRuntimeOCI
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `capstan up`: a whole cluster on this machine in one process: the API server on the
/// embedded SQLite store, the scheduler, the controller manager and one node agent, the
/// components talking to the API over loopback as separate processes would.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Run a one-node cluster on this machine (control plane and a node agent), in the foreground.")

    @Option(name: .long, help: "Directory for the store, certificates, kubeconfig, images and pods.")
    var dataDir = "./capstan-data"

    @Option(name: .long, help: "Container runtime: runc, crun, or sim (a simulated node: pods are shown Running, no containers run). Default: runc, else crun.")
    var runtime: String?

    @Option(name: .long, help: "API server port.")
    var port = 6443

    @Option(name: .long, help: "Address the API server listens on.")
    var bindAddress = "127.0.0.1"

    @Option(name: .long, help: "Name of the node (default: the host name).")
    var nodeName: String?

    @Option(name: .long, help: "Port of the node agent's HTTPS endpoint (logs); 0 for any free port.")
    var agentPort = 10250

    @Option(name: .long, help: "Registries reached over plain HTTP (host:port), comma separated.")
    var insecureRegistries = ""

    @Option(name: .long, help: "The node's pod network (its .1 is the bridge's address).")
    var podCIDR = "10.42.0.0/24"

    @Option(name: .long, help: "Name of the pod bridge (pod network namespaces are named after it).")
    var bridge = "capstan0"

    @Option(name: .long, help: "Controllers to run (`*`, `name`, `-name`), comma separated.")
    var controllers = "*"

    @Flag(name: .long, help: "Remove the data directory first and start a fresh cluster.")
    var reset = false

    @Option(name: .long, help: "Log level of the components: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    func run() async throws {
        let started = ContinuousClock.now
        let progress = Progress(started: started)
        var logger = Logger(label: "capstan")
        logger.logLevel = logLevel

        let dataDirectory = URL(fileURLWithPath: dataDir).standardizedFileURL.path
        if reset { try Self.removeDataDirectory(dataDirectory) }
        let node = try resolveRuntime()
        let name = nodeName ?? AgentCommand.defaultNodeName()
        var controlPlane = ControlPlane(kubeconfigPath: dataDirectory + "/kubeconfig",
                                        controllers: controllers.split(separator: ",").map(String.init), logger: logger)
        // One process on the embedded store: no Leases to wait for after a crash.
        controlPlane.leaderElection = false
        do { try controlPlane.validate() } catch { throw ValidationError("--controllers: \(error)") }

        var config = APIServerConfiguration()
        config.bindAddress = bindAddress
        config.port = port
        config.dataDirectory = dataDirectory
        let resumed = FileManager.default.fileExists(atPath: dataDirectory + "/state.db")
        let server: APIServer
        do {
            server = try await APIServer.open(config, logger: logger)
        } catch {
            throw ValidationError("cannot open the cluster in \(dataDirectory): \(error)")
        }
        progress.line("store \(resumed ? "reopened" : "created"): sqlite \(dataDirectory)/state.db; certificates ready")

        let host = bindAddress == "0.0.0.0" ? "127.0.0.1" : bindAddress
        let ready = Readiness()
        var withCA = controlPlane
        withCA.clusterCAPEM = server.pki?.caCertificatePEM
        withCA.localTransport = server.localTransport()
        let control = withCA
        let componentLogger = logger
        let services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: UpServerService(server: server, host: host, ready: ready, progress: progress)),
            .init(service: UpComponentService(ready: ready) { try await control.run() }),
            .init(service: UpComponentService(ready: ready) {
                try await Self.runNode(node, name: name, dataDirectory: dataDirectory, agentPort: agentPort,
                                       insecureRegistries: insecureRegistries, podCIDR: podCIDR, bridge: bridge,
                                       progress: progress, logger: componentLogger)
            }),
        ]
        // Services stop in reverse order: the node first (its pods stop cleanly), the API server last.
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: logger))
        try await group.run()
        progress.line("stopped")
    }

    /// What runs the node's pods.
    enum NodeRuntime {
        case oci(binary: String)
        case simulated
    }

    /// The runtime asked for, or the first that can run here; a clear error naming what is
    /// missing otherwise (never a silent fallback to a simulated node).
    func resolveRuntime() throws -> NodeRuntime {
        if runtime == "sim" { return .simulated }
        let candidates = runtime.map { [$0] } ?? ["runc", "crun"]
        guard getuid() == 0 else {
            throw ValidationError("""
                capstan up runs real containers with runc or crun, which needs root (this is uid \(getuid())).
                Run it as root, or use --runtime sim for a simulated node (pods are scheduled and shown Running, but no containers run).
                """)
        }
        for candidate in candidates {
            if candidate != "runc", candidate != "crun", !candidate.contains("/") {
                throw ValidationError("--runtime \(candidate): expected runc, crun, sim or a path to an OCI runtime")
            }
            if let path = Self.which(candidate) { return .oci(binary: path) }
        }
        throw ValidationError("""
            no OCI runtime found (looked for \(candidates.joined(separator: ", ")) on PATH).
            Install one (apt-get install runc), or use --runtime sim for a simulated node (pods are scheduled and shown Running, but no containers run).
            """)
    }

    static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// `--reset`: only a directory that holds a Capstan cluster (or nothing) is removed.
    static func removeDataDirectory(_ path: String) throws {
        let fm = FileManager.default
        guard fm.fileExists(atPath: path) else { return }
        let entries = (try? fm.contentsOfDirectory(atPath: path)) ?? []
        let ours: Set<String> = ["state.db", "state.db-wal", "state.db-shm", "pki", "kubeconfig", "agent"]
        guard entries.allSatisfy({ ours.contains($0) }) else {
            throw ValidationError("--reset: \(path) holds files Capstan did not make (\(entries.filter { !ours.contains($0) }.sorted().joined(separator: ", "))); not removing it")
        }
        StateMount.discard(path + "/agent/state")
        try fm.removeItem(atPath: path)
    }

    /// Runs this machine's node until cancelled, and reports when it is Ready.
    static func runNode(_ node: NodeRuntime, name: String, dataDirectory: String, agentPort: Int, insecureRegistries: String,
                        podCIDR: String, bridge: String, progress: Progress, logger: Logger) async throws {
        let clientConfiguration = try Kubeconfig.load(path: dataDirectory + "/kubeconfig").configuration()
        let client = try APIClient(configuration: AgentCommand.clientConfiguration(clientConfiguration), logger: logger)
        defer { Task { await client.shutdown() } }
        let watcher = Task {
            let t0 = ContinuousClock.now
            while !Task.isCancelled {
                let nodeName = Self.nodeName(node, name)
                if let n = try? await client.get(CoreV1.Node.self, name: nodeName),
                   n.status?.conditions?.contains(where: { $0.type == "Ready" && $0.status == "True" }) == true {
                    progress.line("node \(nodeName) Ready (\(Progress.format(ContinuousClock.now - t0)) after the API)")
                    progress.line("kubeconfig: \(dataDirectory)/kubeconfig")
                    progress.line("use it:     export KUBECONFIG=\(dataDirectory)/kubeconfig; kubectl get nodes")
                    return
                }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        defer { watcher.cancel() }
        switch node {
        case .simulated:
            let simulator = NodeSimulator(client: client, configuration: .init(nodeCount: 1, namePrefix: name + "-sim-"), logger: logger)
            try await simulator.run()
        case .oci(let binary):
            let stateDirectory = dataDirectory + "/agent/state"
            defer { StateMount.release(stateDirectory) }
            let agent = try AgentCommand.makeOCIAgent(
                client: client, caPEM: clientConfiguration.certificateAuthorityPEM, nodeName: name, root: dataDirectory + "/agent",
                stateDirectory: stateDirectory, runtimeBinary: binary, port: agentPort, insecureRegistries: insecureRegistries, podCIDR: podCIDR,
                network: .bridge(name: bridge, namespacePrefix: bridge + "-"), stopPodsOnExit: true, logger: logger)
            try await agent.run()
        }
    }

    static func nodeName(_ node: NodeRuntime, _ name: String) -> String {
        if case .simulated = node { return name + "-sim-0" }
        return name
    }
}

/// Short progress lines with the time since the command started.
struct Progress: Sendable {
    let started: ContinuousClock.Instant

    func line(_ text: String) {
        print("[\(Self.format(ContinuousClock.now - started))] \(text)")
        fflush(nil)
    }

    static func format(_ d: Duration) -> String {
        let ms = Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
        return ms < 1000 ? "\(Int(ms.rounded())) ms" : String(format: "%.2f s", ms / 1000)
    }
}

/// Opens once the API server serves; any number of components wait for it (a cancelled
/// waiter returns at once).
final class Readiness: Sendable {
    private struct State {
        var open = false
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }
    private let state = Mutex(State())

    func open() {
        let waiters = state.withLock { s in
            s.open = true
            defer { s.waiters.removeAll() }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume() }
    }

    func wait() async {
        let id = state.withLock { s in
            defer { s.nextID += 1 }
            return s.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s in
                    if s.open || Task.isCancelled { return true }
                    s.waiters[id] = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}

/// The API server of `capstan up`: reports when it serves and opens `ready`.
struct UpServerService: Service {
    let server: APIServer
    let host: String
    let ready: Readiness
    let progress: Progress

    func run() async throws {
        try await server.run { port in
            _ = try? server.writeKubeconfig(host: host)
            progress.line("API serving on https://\(host):\(port)")
            ready.open()
        }
    }
}

/// A component that starts once the API serves and stops on graceful shutdown.
struct UpComponentService: Service {
    let ready: Readiness
    let body: @Sendable () async throws -> Void

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            await ready.wait()
            if Task.isCancelled { return }
            try await body()
        }
    }
}
