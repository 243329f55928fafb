import CapstanClient
import Foundation
import Logging

/// A reconciler run by the ``ControllerManager``: it sets up informers and a work queue from its
/// ``ControllerContext`` and runs until the task is cancelled.
public protocol Controller: Sendable {
    /// The name `--controllers` selects it by (`deployment`, `replicaset`, `garbage-collector`, ...).
    var name: String { get }
    /// Whether `*` includes it.
    var enabledByDefault: Bool { get }
    func run(context: ControllerContext) async throws
}

extension Controller {
    public var enabledByDefault: Bool { true }
}

/// What a controller gets from its manager: the client, the informer factory shared by every
/// controller (one watch per resource), its own event recorder, the clock and a logger.
public struct ControllerContext: Sendable {
    public var client: APIClient
    public var informers: SharedInformerFactory
    public var clock: ControllerClock
    public var logger: Logger
    /// The cluster CA certificate (PEM), published in every namespace's `kube-root-ca.crt`.
    public var clusterCAPEM: String?
    /// Workers per controller (kube-controller-manager's `--concurrent-*-syncs`).
    public var workers: Int
    /// The controller's recorder (component `<name>-controller`); the manager runs it.
    public var recorder: EventRecorder

    public init(client: APIClient, informers: SharedInformerFactory, recorder: EventRecorder, clock: ControllerClock = .continuous,
                logger: Logger, clusterCAPEM: String? = nil, workers: Int = 5) {
        self.client = client
        self.informers = informers
        self.recorder = recorder
        self.clock = clock
        self.logger = logger
        self.clusterCAPEM = clusterCAPEM
        self.workers = workers
    }
}
