import ArgumentParser
import CapstanClient
import CapstanImageStore
import CapstanNodeAgent
import CapstanRuntimeOCI
import Foundation
import Logging
import ServiceLifecycle

/// `capstan agent`: a node agent that registers this machine as a Node and runs its pods with runc or crun.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run a node agent: register this machine as a Node and run the pods bound to it.")

    @Option(name: .long, help: "Kubeconfig of the cluster to join.")
    var kubeconfig: String

    @Option(name: .long, help: "Name of the Node (default: the host name).")
    var nodeName: String?

    @Option(name: .long, help: "OCI runtime: runc or crun (a name on PATH or a path).")
    var runtime = "runc"

    @Option(name: .long, help: "Directory for images, pod directories, logs, IP allocations and containers' writable layers.")
    var root = "/var/lib/capstan/agent"

    @Option(name: .long, help: "Directory for the runtime's state (bundles, records, namespaces), on a tmpfs the agent mounts (default: <root>/state).")
    var stateDir: String?

    @Option(name: .long, help: "Pod CIDR used when the Node has no spec.podCIDR.")
    var podCIDR = "10.42.0.0/24"

    @Option(name: .long, help: "Name of the pod bridge.")
    var bridge = "capstan0"

    @Option(name: .long, help: "Port of the agent's HTTPS endpoint (container logs); 0 for any free port.")
    var port = 10250

    @Option(name: .long, help: "Registries reached over plain HTTP (host:port), comma separated.")
    var insecureRegistries: String = ""

    @Flag(name: .long, help: "Stop every pod's containers when the agent exits (default: leave them for the next agent to adopt).")
    var stopPodsOnExit = false

    @Option(name: .long, help: "Pods whose sandboxes and containers are made and started at once, the first-seen pod first (0: no limit; default: three per core).")
    var parallelStarts: Int?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        try Self.validate(parallelStarts: parallelStarts)
    }

    /// `--parallel-starts`: 0 (no limit) or a count of pods.
    static func validate(parallelStarts: Int?) throws {
        if let parallelStarts, parallelStarts < 0 {
            throw ValidationError("--parallel-starts must be 0 (no limit) or a count of pods, not \(parallelStarts)")
        }
    }

    func run() async throws {
        var logger = Logger(label: "capstan.agent")
        logger.logLevel = logLevel
        let clientConfiguration: ClientConfiguration
        do {
            clientConfiguration = try AgentCommand.clientConfiguration(Kubeconfig.load(path: kubeconfig).configuration())
        } catch {
            throw ValidationError("cannot read kubeconfig \(kubeconfig): \(error)")
        }
        let name = nodeName ?? AgentCommand.defaultNodeName()
        let client = try APIClient(configuration: clientConfiguration, logger: logger)
        let stateDirectory = stateDir ?? root + "/state"
        let agent = try AgentCommand.makeOCIAgent(
            client: client, caPEM: clientConfiguration.certificateAuthorityPEM, nodeName: name, root: root,
            stateDirectory: stateDirectory, runtimeBinary: runtime, port: port, insecureRegistries: insecureRegistries, podCIDR: podCIDR,
            network: .bridge(name: bridge), stopPodsOnExit: stopPodsOnExit, parallelStarts: parallelStarts, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: AgentService(agent: agent))],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        print("node agent \(name) joining \(clientConfiguration.server)")
        // Progress lines must reach pipes and logs as they happen.
        fflush(nil)
        try await group.run()
        await client.shutdown()
        StateMount.release(stateDirectory)
    }
}

extension AgentCommand {
    /// The agent's API client: requests as streams of the watches' h2 connection, as kubelet's
    /// client sends them, so a burst of pod status writes and events costs no new connections
    /// (each a TLS handshake on both ends, which the HTTP/1.1 pool paid again after every burst).
    static func clientConfiguration(_ base: ClientConfiguration) -> ClientConfiguration {
        var configuration = base
        configuration.userAgent = "capstan-agent"
        configuration.http2ForRequests = true
        return configuration
    }

    /// This host's name, lower-cased and without its domain.
    static func defaultNodeName() -> String {
        (ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost").lowercased()
    }

    /// A node agent running pods with an OCI runtime (runc/crun) from an image store under
    /// `root`, its state on a tmpfs at `stateDirectory` (release it with `StateMount.release` once the agent ended), serving logs on a self-signed endpoint that trusts the cluster CA's clients.
    /// `capstan agent` and `capstan up` both make theirs here.
    static func makeOCIAgent(client: APIClient, caPEM: [UInt8]?, nodeName: String, root: String, stateDirectory: String, runtimeBinary: String,
                             port: Int, insecureRegistries: String, podCIDR: String, network: NodeAgentConfiguration.Network,
                             stopPodsOnExit: Bool, parallelStarts: Int? = nil, logger: Logger) throws -> NodeAgent {
        let facts = HostFacts.probe(rootDirectory: "/", runtimeVersion: "")
        let images = try ImageStore(root: root + "/images",
                                    plainHTTPRegistries: Set(insecureRegistries.split(separator: ",").map(String.init)), logger: logger)
        do {
            try StateMount.prepare(stateDirectory)
        } catch {
            // Without mount rights (a container, a restricted user) the state stays on disk.
            logger.warning("the runtime state stays on disk", metadata: ["directory": "\(stateDirectory)", "error": "\(error)"])
        }
        let oci = try OCIRuntime(configuration: .init(runtimeBinary: runtimeBinary, stateRoot: stateDirectory,
                                                      writableLayerRoot: root + "/containers"),
                                 images: images, logger: logger)
        let server = try AgentServerConfiguration.selfSigned(
            nodeName: nodeName, ipAddresses: [facts.internalIP, "127.0.0.1"], port: port,
            clientCAPEM: caPEM.map { String(decoding: $0, as: UTF8.self) })
        var configuration = NodeAgentConfiguration(nodeName: nodeName, rootDirectory: root, defaultPodCIDR: podCIDR,
                                                   network: network, stopPodsOnExit: stopPodsOnExit, server: server)
        if let parallelStarts { configuration.parallelStarts = parallelStarts }
        configuration.onStarted = { StartupFootprint.release(logger: logger) }
        return NodeAgent(client: client, configuration: configuration, runtime: oci, imageService: oci, logger: logger)
    }
}

/// Runs the agent until graceful shutdown (SIGTERM/SIGINT cancel it).
struct AgentService: Service {
    let agent: NodeAgent

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await agent.run() }
    }
}
