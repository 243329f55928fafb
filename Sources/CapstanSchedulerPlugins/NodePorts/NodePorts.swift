import CapstanSchedulerFramework

/// Fits a pod only where the host ports it asks for are free (Kubernetes' NodePorts).
public final class NodePorts: PreFilterPlugin, FilterPlugin, EnqueueExtensions {
    public static let name = "NodePorts"
    public static let errReason = "node(s) didn't have free ports for the requested pod ports"
    public var name: String { Self.name }
    static let portsTaken = Status(.unschedulable, reason: errReason, plugin: name)

    public init() {}

    /// Pods without host ports are skipped.
    public func preFilter(state: CycleState, pod: PodInfo) -> (PreFilterResult?, Status) {
        pod.hostPorts.isEmpty ? (nil, .skip) : (nil, .success)
    }

    public func filter(state: CycleState, pod: PodInfo, node: NodeInfo) -> Status {
        Self.fits(pod, node) ? .success : Self.portsTaken
    }

    public static func fits(_ pod: PodInfo, _ node: NodeInfo) -> Bool {
        if node.usedPorts.isEmpty { return true }
        for p in pod.hostPorts where node.usedPorts.conflicts(p) { return false }
        return true
    }

    public func eventsToRegister() -> [ClusterEventWithHint] {
        [
            ClusterEventWithHint(ClusterEvent(.assignedPod, .delete), hint: { pod, objects in
                guard let deleted = objects.oldPod else { return .queue }
                for a in deleted.hostPorts {
                    for b in pod.hostPorts where a.port == b.port && a.protocol == b.protocol { return .queue }
                }
                return .skip
            }),
            ClusterEventWithHint(ClusterEvent(.node, [.add, .updateNodeTaint, .updateNodeLabel])),
        ]
    }
}
