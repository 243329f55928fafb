import CapstanAPI
import CapstanSchedulerFramework

/// Keeps pods off cordoned nodes (`spec.unschedulable`) unless they tolerate the
/// `node.kubernetes.io/unschedulable:NoSchedule` taint (Kubernetes' NodeUnschedulable).
public final class NodeUnschedulable: FilterPlugin, EnqueueExtensions {
    public static let name = "NodeUnschedulable"
    public static let errReasonUnschedulable = "node(s) were unschedulable"
    public var name: String { Self.name }
    static let cordoned = Status(.unschedulableAndUnresolvable, reason: errReasonUnschedulable, plugin: name)

    public init() {}

    public func filter(state: CycleState, pod: PodInfo, node: NodeInfo) -> Status {
        guard node.unschedulable else { return .success }
        if Taints.tolerated(Taints.unschedulableTaint, by: pod.tolerations) { return .success }
        return Self.cordoned
    }

    public func eventsToRegister() -> [ClusterEventWithHint] {
        [
            ClusterEventWithHint(ClusterEvent(.node, [.add, .updateNodeTaint]), hint: { pod, objects in
                guard let node = objects.newNode else { return .queue }
                return node.spec?.unschedulable == true && !Taints.tolerated(Taints.unschedulableTaint, by: pod.tolerations) ? .skip : .queue
            }),
            ClusterEventWithHint(ClusterEvent(.unscheduledPod, .updatePodToleration)),
        ]
    }
}
