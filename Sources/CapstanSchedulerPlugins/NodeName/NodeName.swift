import CapstanSchedulerFramework

/// Fits a pod only on the node named by its `spec.nodeName`, if set (Kubernetes' NodeName).
public final class NodeName: PreFilterPlugin, FilterPlugin, EnqueueExtensions {
    public static let name = "NodeName"
    public static let errReason = "node(s) didn't match the requested node name"
    public var name: String { Self.name }
    static let mismatch = Status(.unschedulableAndUnresolvable, reason: errReason, plugin: name)

    public init() {}

    /// Nothing to check for pods that name no node.
    public func preFilter(state: CycleState, pod: PodInfo) -> (PreFilterResult?, Status) {
        pod.nodeName.isEmpty ? (nil, .skip) : (nil, .success)
    }

    public func filter(state: CycleState, pod: PodInfo, node: NodeInfo) -> Status {
        if pod.nodeName.isEmpty || pod.nodeName == node.name { return .success }
        return Self.mismatch
    }

    public func eventsToRegister() -> [ClusterEventWithHint] {
        [ClusterEventWithHint(ClusterEvent(.node, [.add, .updateNodeLabel, .updateNodeTaint]), hint: { pod, objects in
            guard let node = objects.newNode else { return .queue }
            return pod.nodeName.isEmpty || node.metadata?.name == pod.nodeName ? .queue : .skip
        })]
    }
}
