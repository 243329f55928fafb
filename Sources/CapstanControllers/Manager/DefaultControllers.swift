import CapstanClient
import CapstanControllerRuntime
import Logging

/// Every controller of `capstan server`, as kube-controller-manager names them. Add new
/// controllers here.
public enum DefaultControllers {
    public static var all: [any Controller] {
        [
            ReplicaSetController(),
            DeploymentController(),
            EndpointSliceController(), JobController(), CronJobController(), TTLAfterFinishedController(), PersistentVolumeBinderController(), NodeLifecycleController(), PodGCController(), DisruptionController(), DaemonSetController(), StatefulSetController(),
            NamespaceController(),
            ServiceAccountController(),
            RootCACertPublisher(),
            GarbageCollectorController(),
        ]
    }
}

extension ControllerManager {
    /// The controller manager of `capstan server`: every ``DefaultControllers`` controller
    /// selected by `enabled` (`--controllers`: `*`, `name`, `-name`), behind the
    /// `kube-system/kube-controller-manager` Lease.
    ///
    /// - Parameter clusterCAPEM: the cluster CA certificate, published as `kube-root-ca.crt`.
    public convenience init(client: APIClient, enabled: [String] = ["*"], clusterCAPEM: String? = nil,
                            leaderElection: LeaderElectionConfig? = LeaderElectionConfig(), logger: Logger? = nil) throws {
        try self.init(client: client, controllers: DefaultControllers.all, enabled: enabled, clusterCAPEM: clusterCAPEM,
                      leaderElection: leaderElection, logger: logger)
    }
}
