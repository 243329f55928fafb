import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import CapstanControllers
import CapstanNodeSimulator
import CapstanScheduler
import CapstanTesting
import Foundation

/// A whole cluster in this process for end-to-end tests: the API server, the workload
/// controllers, the scheduler and simulated nodes (`sim-0`, `sim-1`, ...), with kubectl
/// pointed at the server.
struct SimulatedCluster {
    let client: APIClient
    let server: RunningServer
    let simulator: NodeSimulator
    let kubectl: Kubectl

    /// The controllers of the end-to-end tests; node lifecycle with short timings (a node is
    /// silent after 2 s), so a failed node is noticed quickly.
    static var controllers: [any Controller] {
        [ReplicaSetController(), DeploymentController(), GarbageCollectorController(), DisruptionController(), DaemonSetController(),
         NodeLifecycleController(gracePeriod: .seconds(2), monitorPeriod: .milliseconds(250))]
    }

    /// Pods (not terminating) of `selector` in `default`.
    func pods(_ labels: [String: String]) async throws -> [CoreV1.Pod] {
        let selector = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        return try await client.list(CoreV1.Pod.self, namespace: "default", options: ListOptions(labelSelector: selector)).items
            .filter { !$0.isTerminating }
    }
}

/// Runs `body` against a fresh ``SimulatedCluster`` of `nodes` nodes (pods Running and Ready
/// `podStartup` after they are bound), then stops everything.
func withSimulatedCluster(nodes: Int, podStartup: Duration = .zero, controllers: [any Controller] = SimulatedCluster.controllers,
                          _ body: (SimulatedCluster) async throws -> Void) async throws {
    try await withWorkloadControllers(controllers) { client, server in
        let nodeClient = try server.makeClient()
        var configuration = NodeSimulator.Configuration(nodeCount: nodes, namePrefix: "sim-", podStartup: podStartup)
        configuration.leaseRenewInterval = .milliseconds(250)
        let simulator = NodeSimulator(client: nodeClient, configuration: configuration, logger: quietLogger)
        var schedulerConfiguration = Scheduler.Configuration()
        schedulerConfiguration.tickInterval = .milliseconds(20)
        let scheduler = try Scheduler(client: nodeClient, configuration: schedulerConfiguration, logger: quietLogger)
        let background = Task {
            await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await simulator.run() }
                group.addTask { try await scheduler.run() }
            }
        }
        func stop() async {
            background.cancel()
            _ = await background.result
            await nodeClient.shutdown()
        }
        do {
            await simulator.waitUntilRegistered()
            await scheduler.waitUntilSynced()
            try await body(SimulatedCluster(client: client, server: server, simulator: simulator,
                                            kubectl: Kubectl(kubeconfig: server.kubeconfigPath, workDir: server.directory)))
        } catch {
            await stop()
            throw error
        }
        await stop()
    }
}
