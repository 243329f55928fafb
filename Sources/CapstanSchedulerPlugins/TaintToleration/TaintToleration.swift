import CapstanAPI
import CapstanSchedulerFramework

/// Keeps pods off nodes with NoSchedule/NoExecute taints they do not tolerate, and prefers
/// nodes with fewer untolerated PreferNoSchedule taints (Kubernetes' TaintToleration).
public final class TaintToleration: FilterPlugin, PreScorePlugin, NormalizeScorePlugin, EnqueueExtensions {
    public static let name = "TaintToleration"
    public var name: String { Self.name }

    final class PreScoreState: StateData {
        let tolerations: [CoreV1.Toleration]
        init(_ t: [CoreV1.Toleration]) { tolerations = t }
        func clone() -> any StateData { self }
    }
    private let preScoreKey = StateKey<PreScoreState>()

    public init() {}

    public func filter(state: CycleState, pod: PodInfo, node: NodeInfo) -> Status {
        if !node.hasTaints { return .success }
        guard let taint = Taints.firstUntolerated(node.taints, pod.tolerations, where: Taints.isDoNotSchedule) else { return .success }
        return Status(.unschedulableAndUnresolvable, reason: "node(s) had untolerated taint {\(taint.key): \(taint.value ?? "")}", plugin: Self.name)
    }

    /// Keeps the tolerations that can tolerate PreferNoSchedule taints. When no node has such
    /// a taint every node would score the same, so the score is skipped.
    public func preScore(state: CycleState, pod: PodInfo, nodes: [NodeInfo]) -> Status {
        if state.snapshot.nodesWithPreferNoScheduleTaints == 0 { return .skip }
        let t = pod.tolerations.filter { ($0.effect ?? "").isEmpty || $0.effect == Taints.preferNoSchedule }
        state.write(preScoreKey, PreScoreState(t))
        return .success
    }

    public func score(state: CycleState, pod: PodInfo, node: NodeInfo) -> Int64 {
        if !node.hasTaints { return 0 }
        let tolerations = state.read(preScoreKey)?.tolerations ?? []
        var count: Int64 = 0
        for taint in node.taints where taint.effect == Taints.preferNoSchedule {
            if !Taints.tolerated(taint, by: tolerations) { count += 1 }
        }
        return count
    }

    public func normalizeScore(state: CycleState, pod: PodInfo, nodes: [NodeInfo], scores: inout [Int64]) -> Status {
        defaultNormalizeScore(reverse: true, scores: &scores)
        return .success
    }

    public func eventsToRegister() -> [ClusterEventWithHint] {
        [
            ClusterEventWithHint(ClusterEvent(.node, [.add, .updateNodeTaint]), hint: { pod, objects in
                guard let node = objects.newNode else { return .queue }
                let untolerated = Taints.firstUntolerated(node.spec?.taints ?? [], pod.tolerations, where: Taints.isDoNotSchedule)
                return untolerated == nil ? .queue : .skip
            }),
            ClusterEventWithHint(ClusterEvent(.unscheduledPod, .updatePodToleration)),
        ]
    }
}
