import CapstanAPI
import CapstanSchedulerFramework

/// Fits a pod only on nodes matching its `nodeSelector` and required node affinity, and
/// prefers nodes matching its preferred terms by their weights (Kubernetes' NodeAffinity).
/// When every required term pins `metadata.name`, PreFilter narrows the cycle to those nodes.
public final class NodeAffinity: PreFilterPlugin, FilterPlugin, PreScorePlugin, NormalizeScorePlugin, EnqueueExtensions {
    public static let name = "NodeAffinity"
    public static let errReasonPod = "node(s) didn't match Pod's node affinity/selector"
    public static let errReasonConflict = "pod affinity terms conflict"
    public var name: String { Self.name }
    static let mismatch = Status(.unschedulableAndUnresolvable, reason: errReasonPod, plugin: name)

    final class PreScoreState: StateData {
        let terms: [(NodeSelectorMatcher.Term, Int64)]
        init(_ terms: [(NodeSelectorMatcher.Term, Int64)]) { self.terms = terms }
        func clone() -> any StateData { self }
    }
    private let preScoreKey = StateKey<PreScoreState>()

    public init() {}

    public func preFilter(state: CycleState, pod: PodInfo) -> (PreFilterResult?, Status) {
        if pod.requiredNodeAffinity.isEmpty { return (nil, .skip) }
        guard let terms = pod.pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
              !terms.isEmpty else { return (nil, .success) }
        var nodeNames: Set<String>?
        for t in terms {
            var termNames: Set<String>?
            for r in t.matchFields ?? [] where r.key == "metadata.name" && r.operator == "In" {
                let s = Set(r.values ?? [])
                termNames = termNames.map { $0.intersection(s) } ?? s
            }
            // A term without a name pin allows every node: no narrowing.
            guard let termNames else { return (nil, .success) }
            nodeNames = (nodeNames ?? []).union(termNames)
        }
        if let nodeNames, nodeNames.isEmpty { return (nil, .unresolvable(Self.errReasonConflict)) }
        return (PreFilterResult(nodeNames: nodeNames), .success)
    }

    public func filter(state: CycleState, pod: PodInfo, node: NodeInfo) -> Status {
        pod.requiredNodeAffinity.matches(node) ? .success : Self.mismatch
    }

    public func preScore(state: CycleState, pod: PodInfo, nodes: [NodeInfo]) -> Status {
        let preferred = pod.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []
        if preferred.isEmpty { return .skip }
        state.write(preScoreKey, PreScoreState(preferred.filter { $0.weight != 0 }.map { (NodeSelectorMatcher.Term($0.preference), Int64($0.weight)) }))
        return .success
    }

    public func score(state: CycleState, pod: PodInfo, node: NodeInfo) -> Int64 {
        guard let s = state.read(preScoreKey) else { return 0 }
        var count: Int64 = 0
        for (term, weight) in s.terms where term.matches(labels: node.labels, nodeName: node.name) { count += weight }
        return count
    }

    public func normalizeScore(state: CycleState, pod: PodInfo, nodes: [NodeInfo], scores: inout [Int64]) -> Status {
        defaultNormalizeScore(reverse: false, scores: &scores)
        return .success
    }

    public func eventsToRegister() -> [ClusterEventWithHint] {
        [ClusterEventWithHint(ClusterEvent(.node, [.add, .updateNodeLabel, .updateNodeTaint]), hint: { pod, objects in
            guard let node = objects.newNode else { return .queue }
            return pod.requiredNodeAffinity.matches(labels: node.metadata?.labels ?? [:], nodeName: node.metadata?.name ?? "") ? .queue : .skip
        })]
    }
}
