import CapstanSchedulerFramework

/// Holds pods with `spec.schedulingGates` out of the active queue until the gates are removed
/// (Kubernetes' SchedulingGates).
public final class SchedulingGates: PreEnqueuePlugin, EnqueueExtensions {
    public static let name = "SchedulingGates"
    public var name: String { Self.name }

    public init() {}

    public func preEnqueue(_ pod: PodInfo) -> Status {
        guard pod.isGated else { return .success }
        let gates = (pod.pod.spec?.schedulingGates ?? []).map(\.name)
        return Status(.unschedulableAndUnresolvable, reason: "waiting for scheduling gates: [\(gates.joined(separator: " "))]")
    }

    public func eventsToRegister() -> [ClusterEventWithHint] {
        [ClusterEventWithHint(ClusterEvent(.unscheduledPod, .updatePodSchedulingGatesEliminated))]
    }
}
