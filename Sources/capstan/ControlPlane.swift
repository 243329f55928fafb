import CapstanClient
import Foundation
import CapstanControllerRuntime
import CapstanControllers
import CapstanScheduler
import Logging

/// The components that join the API server in `capstan server` and `capstan up`: the
/// scheduler and the controller manager. Each is a client of the API, as a separate process
/// would be (one code path, whether they run in the server's process or not); in the server's
/// process their requests reach its router without a connection (`localTransport`).
struct ControlPlane: Sendable {
    /// The admin kubeconfig the server wrote.
    var kubeconfigPath: String
    /// `--controllers` items (`*`, `name`, `-name`).
    var controllers: [String] = ["*"]
    /// The cluster CA, published in every namespace's `kube-root-ca.crt`.
    var clusterCAPEM: String?
    /// Compete for the `kube-controller-manager` and `kube-scheduler` Leases (several servers
    /// over one etcd), so that each runs in one server at a time.
    var leaderElection = true
    var runScheduler = true
    /// The server in this process, answering the components' requests without TLS or HTTP.
    var localTransport: (any LocalTransport)?
    var logger: Logger

    /// Fails early (before the server starts) on a bad `--controllers` value.
    func validate() throws {
        _ = try ControllerSelection(controllers).validate(known: Set(DefaultControllers.all.map(\.name)))
    }

    /// Runs the scheduler and the controllers until cancelled.
    func run() async throws {
        var configuration = try Kubeconfig.load(path: kubeconfigPath).configuration()
        configuration.localTransport = localTransport
        var controllerConfiguration = configuration
        controllerConfiguration.userAgent = "capstan-controller-manager"
        var schedulerConfiguration = configuration
        schedulerConfiguration.userAgent = "capstan-scheduler"
        // Bindings come in bursts; keep more warm connections than the default.
        schedulerConfiguration.maxIdleConnections = 8
        let controllerClient = try APIClient(configuration: controllerConfiguration, logger: logger)
        let schedulerClient = try APIClient(configuration: schedulerConfiguration, logger: logger)
        var controllerLogger = logger
        controllerLogger[metadataKey: "component"] = "controllers"
        var schedulerLogger = logger
        schedulerLogger[metadataKey: "component"] = "scheduler"
        do {
            let identity = "\(ProcessInfo.processInfo.hostName)_\(UUID().uuidString.lowercased())"
            let manager = try ControllerManager(
                client: controllerClient, controllers: DefaultControllers.all, enabled: controllers,
                clusterCAPEM: clusterCAPEM, identity: identity, leaderElection: leaderElection ? LeaderElectionConfig() : nil,
                logger: controllerLogger)
            let scheduler = try Scheduler(client: schedulerClient, logger: schedulerLogger)
            let runScheduler = self.runScheduler
            let elector = leaderElection
                ? LeaderElector(client: schedulerClient, name: "kube-scheduler", identity: identity, logger: schedulerLogger) : nil
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await manager.run() }
                if runScheduler {
                    group.addTask {
                        if let elector { try await elector.run { try await scheduler.run() } } else { try await scheduler.run() }
                    }
                }
                // The first to end (cancellation, or a failure) ends the others.
                try await group.next()
                group.cancelAll()
            }
        } catch {
            await controllerClient.shutdown()
            await schedulerClient.shutdown()
            throw error
        }
        await controllerClient.shutdown()
        await schedulerClient.shutdown()
    }
}
