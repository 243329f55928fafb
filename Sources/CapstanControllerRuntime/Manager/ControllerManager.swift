import CapstanClient
import Foundation
import Logging

/// Runs the enabled controllers of a process, as kube-controller-manager: it waits to lead the
/// `kube-controller-manager` Lease in `kube-system` (unless leader election is off), then starts
/// one shared informer factory, the controllers and their event recorders, and stops them when
/// leadership is lost (competing again) or when ``run()``'s task is cancelled.
public final class ControllerManager: Sendable {
    public let client: APIClient
    public let controllers: [any Controller]
    public let selection: ControllerSelection
    public let clusterCAPEM: String?
    public let identity: String
    public let leaderElection: LeaderElectionConfig?
    public let leaseName: String
    public let workers: Int
    private let clock: ControllerClock
    private let logger: Logger

    /// - Parameters:
    ///   - enabled: `--controllers` items (`*`, `name`, `-name`); unknown names are an error.
    ///   - leaderElection: nil runs the controllers at once, without a Lease.
    public init(client: APIClient, controllers: [any Controller], enabled: [String] = ["*"], clusterCAPEM: String? = nil,
                identity: String? = nil, leaderElection: LeaderElectionConfig? = LeaderElectionConfig(),
                leaseName: String = "kube-controller-manager", workers: Int = 5, clock: ControllerClock = .continuous,
                logger: Logger? = nil) throws {
        let selection = ControllerSelection(enabled)
        try selection.validate(known: Set(controllers.map(\.name)))
        self.client = client
        self.controllers = controllers
        self.selection = selection
        self.clusterCAPEM = clusterCAPEM
        self.identity = identity ?? "\(ProcessInfo.processInfo.hostName)_\(UUID().uuidString.lowercased())"
        self.leaderElection = leaderElection
        self.leaseName = leaseName
        self.workers = workers
        self.clock = clock
        self.logger = logger ?? Logger(label: "capstan.controllers")
    }

    /// The controllers that run.
    public var enabledControllers: [any Controller] {
        controllers.filter { selection.isEnabled($0.name, enabledByDefault: $0.enabledByDefault) }
    }

    /// Runs until the task is cancelled.
    public func run() async throws {
        if let leaderElection {
            let elector = LeaderElector(client: client, name: leaseName, namespace: "kube-system", identity: identity,
                                        config: leaderElection, clock: clock, logger: logger)
            try await elector.run { await self.runControllers() }
        } else {
            await runControllers()
        }
    }

    /// One term: fresh informers, recorders and controllers, until cancelled.
    private func runControllers() async {
        let informers = SharedInformerFactory(client: client, logger: logger)
        let enabled = enabledControllers
        logger.info("starting controllers: \(enabled.map(\.name).joined(separator: ", "))")
        await withDiscardingTaskGroup { group in
            for controller in enabled {
                let recorder = EventRecorder(client: client, component: "\(controller.name)-controller", clock: clock, logger: logger)
                var logger = self.logger
                logger[metadataKey: "controller"] = "\(controller.name)"
                let context = ControllerContext(client: client, informers: informers, recorder: recorder, clock: clock,
                                                logger: logger, clusterCAPEM: clusterCAPEM, workers: workers)
                group.addTask { await recorder.run() }
                group.addTask {
                    do {
                        try await controller.run(context: context)
                    } catch is CancellationError {
                    } catch {
                        logger.error("controller \(controller.name) stopped: \(error)")
                    }
                }
            }
            // Every task runs until the term's task is cancelled; the group waits for them.
            group.addTask { await informers.run() }
        }
    }
}
