import ArgumentParser
import CapstanClient
import CapstanNodeSimulator
import Foundation
import Logging
import ServiceLifecycle

/// `capstan simulate`: simulated nodes against a server, for scale work and controller tests.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Register simulated nodes whose pods run without containers (as kwok does).")

    @Option(name: .long, help: "The kubeconfig of the server (default: $KUBECONFIG, then ./capstan-data/kubeconfig).")
    var kubeconfig: String?

    @Option(name: .long, help: "How many nodes.")
    var nodes = 10

    @Option(name: .long, help: "CPU of each node (a quantity).")
    var cpu = "32"

    @Option(name: .long, help: "Memory of each node (a quantity).")
    var memory = "256Gi"

    @Option(name: .long, help: "Pods each node accepts.")
    var pods = 110

    @Option(name: .long, help: "Extra node labels: key=value,...")
    var labels = ""

    @Option(name: .long, help: "Node taints: key=value:Effect,...")
    var taints = ""

    @Option(name: .long, help: "Delay from a pod bound to it Running (1s, 500ms).")
    var podStartup = "0s"

    @Option(name: .long, help: "Node names are this prefix and an index.")
    var namePrefix = "sim-"

    @Option(name: .long, help: "A node that registers, then stops renewing its Lease (repeatable).")
    var failNode: [String] = []

    @Option(name: .long, help: "Concurrent pod writes (node and lease writes get a quarter of it).")
    var writeConcurrency = 32

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let path = kubeconfig ?? ProcessInfo.processInfo.environment["KUBECONFIG"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "./capstan-data/kubeconfig"
        guard nodes >= 0 else { throw ValidationError("--nodes must not be negative") }
        var configuration: NodeSimulator.Configuration
        do {
            let template = SimulatedNodeTemplate(cpu: cpu, memory: memory, pods: pods, labels: try SimulatorParsing.labels(labels),
                                                 taints: try SimulatorParsing.taints(taints))
            try template.validate()
            configuration = NodeSimulator.Configuration(nodeCount: nodes, namePrefix: namePrefix, template: template,
                                                        podStartup: try SimulatorParsing.duration(podStartup))
        } catch {
            throw ValidationError("\(error)")
        }
        configuration.writeConcurrency = max(1, writeConcurrency)
        var logger = Logger(label: "capstan.simulate")
        logger.logLevel = logLevel
        var clientConfiguration: ClientConfiguration
        do {
            clientConfiguration = try Kubeconfig.load(path: path).configuration()
        } catch {
            throw ValidationError("cannot load the kubeconfig \(path): \(error)")
        }
        clientConfiguration.maxConnections = configuration.writeConcurrency + configuration.writeConcurrency / 4 + 4
        clientConfiguration.maxIdleConnections = clientConfiguration.maxConnections
        let client = try APIClient(configuration: clientConfiguration, logger: logger)
        let simulator = NodeSimulator(client: client, configuration: configuration, logger: logger)
        for name in failNode where !simulator.nodeNames.contains(name) {
            throw ValidationError("--fail-node \(name): not one of the simulated nodes (\(namePrefix)0...\(namePrefix)\(nodes - 1))")
        }
        let service = SimulatorService(simulator: simulator, failNodes: failNode)
        let group = ServiceGroup(configuration: .init(services: [.init(service: service)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        await client.shutdown()
    }
}

/// Runs the simulator until a shutdown signal, reporting registration.
struct SimulatorService: Service {
    let simulator: NodeSimulator
    let failNodes: [String]

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await simulator.run() }
                group.addTask {
                    let start = ContinuousClock.now
                    await simulator.waitUntilRegistered()
                    if Task.isCancelled { return }
                    print("registered \(simulator.nodeNames.count) simulated nodes in \(ContinuousClock.now - start)")
                    for name in failNodes {
                        simulator.failNode(name)
                        print("node \(name) stopped renewing its lease")
                    }
                    fflush(nil)
                }
                try await group.waitForAll()
            }
        }
    }
}
