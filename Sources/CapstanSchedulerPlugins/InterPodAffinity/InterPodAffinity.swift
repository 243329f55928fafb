import CapstanAPI
import CapstanSchedulerFramework

/// Places pods relative to other pods (Kubernetes' InterPodAffinity):
///
/// - required affinity: the node's domain (per term's topology key) must hold a pod matching
///   all terms — except for the first pod of a group that matches its own terms;
/// - required anti-affinity: no pod matching a term in the node's domain;
/// - existing pods' required anti-affinity: the pod may not land in a domain whose pods
///   repel it;
/// - preferred terms of the pod and of existing pods (and existing pods' required affinity,
///   with `hardPodAffinityWeight`) score domains, normalised min-max.
///
/// Counting uses the snapshot's per-node match tables and its index of existing pods' terms
/// grouped by identical term, so a cycle does O(nodes) array work.
public final class InterPodAffinity: PreFilterExtensions, FilterPlugin, PreScorePlugin, NormalizeScorePlugin, EnqueueExtensions {
    public static let name = "InterPodAffinity"
    public static let errReasonAffinityRulesNotMatch = "node(s) didn't match pod affinity rules"
    public static let errReasonAntiAffinityRulesNotMatch = "node(s) didn't match pod anti-affinity rules"
    public static let errReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules"
    public var name: String { Self.name }
    static let affinityNotMatch = Status(.unschedulableAndUnresolvable, reason: errReasonAffinityRulesNotMatch, plugin: name)
    static let antiAffinityNotMatch = Status(.unschedulable, reason: errReasonAntiAffinityRulesNotMatch, plugin: name)
    static let existingAntiAffinityNotMatch = Status(.unschedulable, reason: errReasonExistingAntiAffinityRulesNotMatch, plugin: name)

    /// Score weight of existing pods' required affinity terms matching the incoming pod.
    public let hardPodAffinityWeight: Int32
    /// Ignore existing pods' preferred terms when the incoming pod has none of its own.
    public let ignorePreferredTermsOfExistingPods: Bool

    let filterKey = StateKey<FilterState>()
    let scoreKey = StateKey<ScoreState>()

    public init(hardPodAffinityWeight: Int32 = 1, ignorePreferredTermsOfExistingPods: Bool = false) {
        self.hardPodAffinityWeight = hardPodAffinityWeight
        self.ignorePreferredTermsOfExistingPods = ignorePreferredTermsOfExistingPods
    }

    // MARK: Filter

    final class FilterState: StateData {
        let affinitySelections: [PodSelection]
        let antiSelections: [PodSelection]
        let affinityKeys: [Int]
        let antiKeys: [Int]
        @exclusivity(unchecked) var existingAnti: TopologyCounts
        @exclusivity(unchecked) var affinity: TopologyCounts
        @exclusivity(unchecked) var anti: TopologyCounts
        let namespaceLabels: [String: String]?
        let podMatchesAllAffinityTerms: Bool

        init(affinitySelections: [PodSelection], antiSelections: [PodSelection], affinityKeys: [Int], antiKeys: [Int],
             existingAnti: TopologyCounts, affinity: TopologyCounts, anti: TopologyCounts, namespaceLabels: [String: String]?,
             podMatchesAllAffinityTerms: Bool) {
            self.affinitySelections = affinitySelections
            self.antiSelections = antiSelections
            self.affinityKeys = affinityKeys
            self.antiKeys = antiKeys
            self.existingAnti = existingAnti
            self.affinity = affinity
            self.anti = anti
            self.namespaceLabels = namespaceLabels
            self.podMatchesAllAffinityTerms = podMatchesAllAffinityTerms
        }

        func clone() -> any StateData {
            FilterState(affinitySelections: affinitySelections, antiSelections: antiSelections, affinityKeys: affinityKeys,
                        antiKeys: antiKeys, existingAnti: existingAnti, affinity: affinity, anti: anti,
                        namespaceLabels: namespaceLabels, podMatchesAllAffinityTerms: podMatchesAllAffinityTerms)
        }
    }

    public func preFilter(state: CycleState, pod: PodInfo) -> (PreFilterResult?, Status) {
        let snapshot = state.snapshot
        let existingGroups = snapshot.existingPodTerms.groups(of: .requiredAntiAffinity)
        if pod.requiredAffinityTerms.isEmpty && pod.requiredAntiAffinityTerms.isEmpty && existingGroups.isEmpty {
            return (nil, .skip)
        }
        let nsLabels = snapshot.namespaceLabels[pod.namespace]

        var existingAnti = TopologyCounts()
        for g in existingGroups where g.key.term.matches(pod, namespaceLabels: nsLabels) {
            let k = existingAnti.index(for: g.key.term.topologyKey, in: snapshot)
            existingAnti.addCounts(k, of: g, multiplier: 1)
        }
        if existingAnti.isEmpty && pod.requiredAffinityTerms.isEmpty && pod.requiredAntiAffinityTerms.isEmpty {
            return (nil, .skip)
        }

        var affinity = TopologyCounts()
        let affinitySelections = pod.requiredAffinityTerms.map { snapshot.selection(for: $0) }
        let affinityKeys = pod.requiredAffinityTerms.map { affinity.index(for: $0.topologyKey, in: snapshot) }
        if !affinitySelections.isEmpty {
            let table = snapshot.matchCounts(PodMatcher(affinitySelections))
            for k in affinityKeys { affinity.addCounts(k, of: table, multiplier: 1) }
        }

        var anti = TopologyCounts()
        let antiSelections = pod.requiredAntiAffinityTerms.map { snapshot.selection(for: $0) }
        let antiKeys = pod.requiredAntiAffinityTerms.map { anti.index(for: $0.topologyKey, in: snapshot) }
        for (i, sel) in antiSelections.enumerated() {
            anti.addCounts(antiKeys[i], of: snapshot.matchCounts(PodMatcher([sel])), multiplier: 1)
        }

        let matchesAll = !affinitySelections.isEmpty && affinitySelections.allSatisfy { $0.matches(pod) }
        state.write(filterKey, FilterState(affinitySelections: affinitySelections, antiSelections: antiSelections,
                                           affinityKeys: affinityKeys, antiKeys: antiKeys, existingAnti: existingAnti,
                                           affinity: affinity, anti: anti, namespaceLabels: nsLabels,
                                           podMatchesAllAffinityTerms: matchesAll))
        return (nil, .success)
    }

    public func filter(state: CycleState, pod: PodInfo, node: NodeInfo) -> Status {
        guard let s = state.read(filterKey) else { return .success }
        // The pod's affinity.
        if !s.affinityKeys.isEmpty {
            var podsExist = true
            for k in s.affinityKeys {
                guard s.affinity.hasKey(k, node) else { return Self.affinityNotMatch }
                if s.affinity.count(k, node) <= 0 { podsExist = false }
            }
            // The first pod of a group with affinity to itself may go anywhere with the keys.
            if !podsExist && !(s.affinity.isEmpty && s.podMatchesAllAffinityTerms) {
                return Self.affinityNotMatch
            }
        }
        // The pod's anti-affinity.
        if !s.anti.isEmpty {
            for k in s.antiKeys where s.anti.count(k, node) > 0 {
                return Self.antiAffinityNotMatch
            }
        }
        // Existing pods' anti-affinity.
        if !s.existingAnti.isEmpty {
            for k in 0..<s.existingAnti.keys.count where s.existingAnti.count(k, node) > 0 {
                return Self.existingAntiAffinityNotMatch
            }
        }
        return .success
    }

    public func addPod(state: CycleState, podToSchedule: PodInfo, podToAdd: PodInfo, node: NodeInfo) -> Status {
        update(state: state, pod: podToSchedule, changed: podToAdd, node: node, delta: 1)
        return .success
    }

    public func removePod(state: CycleState, podToSchedule: PodInfo, podToRemove: PodInfo, node: NodeInfo) -> Status {
        update(state: state, pod: podToSchedule, changed: podToRemove, node: node, delta: -1)
        return .success
    }

    private func update(state: CycleState, pod: PodInfo, changed: PodInfo, node: NodeInfo, delta: Int64) {
        guard let s = state.read(filterKey) else { return }
        let snapshot = state.snapshot
        for t in changed.requiredAntiAffinityTerms where t.matches(pod, namespaceLabels: s.namespaceLabels) {
            let k = s.existingAnti.index(for: t.topologyKey, in: snapshot)
            s.existingAnti.add(k, domain: Int(s.existingAnti.domains[k].domain(of: node)), delta)
        }
        if !s.affinitySelections.isEmpty && s.affinitySelections.allSatisfy({ $0.matches(changed) }) {
            for k in s.affinityKeys { s.affinity.add(k, domain: Int(s.affinity.domains[k].domain(of: node)), delta) }
        }
        for (i, sel) in s.antiSelections.enumerated() where sel.matches(changed) {
            let k = s.antiKeys[i]
            s.anti.add(k, domain: Int(s.anti.domains[k].domain(of: node)), delta)
        }
    }

    // MARK: Score

    final class ScoreState: StateData {
        let scores: TopologyCounts
        init(_ scores: TopologyCounts) { self.scores = scores }
        func clone() -> any StateData { self }
    }

    public func preScore(state: CycleState, pod: PodInfo, nodes: [NodeInfo]) -> Status {
        if nodes.isEmpty { return .skip }
        let snapshot = state.snapshot
        let hasConstraints = !pod.preferredAffinityTerms.isEmpty || !pod.preferredAntiAffinityTerms.isEmpty
        if ignorePreferredTermsOfExistingPods && !hasConstraints { return .skip }
        let index = snapshot.existingPodTerms
        let required = hardPodAffinityWeight > 0 ? index.groups(of: .requiredAffinity) : []
        let preferred = ignorePreferredTermsOfExistingPods ? [] : index.groups(of: .preferredAffinity)
        let preferredAnti = ignorePreferredTermsOfExistingPods ? [] : index.groups(of: .preferredAntiAffinity)
        if !hasConstraints && required.isEmpty && preferred.isEmpty && preferredAnti.isEmpty { return .skip }
        let nsLabels = snapshot.namespaceLabels[pod.namespace]

        var scores = TopologyCounts()
        var touched = false
        func incoming(_ terms: [WeightedAffinityTerm], sign: Int64) {
            for wt in terms {
                let table = snapshot.matchCounts(PodMatcher([snapshot.selection(for: wt.term)]))
                let k = scores.index(for: wt.term.topologyKey, in: snapshot)
                let before = scores.nonZero
                scores.addCounts(k, of: table, multiplier: Int64(wt.weight) * sign)
                if scores.nonZero != before || Self.anyMatchWithKey(table, scores.domains[k]) { touched = true }
            }
        }
        incoming(pod.preferredAffinityTerms, sign: 1)
        incoming(pod.preferredAntiAffinityTerms, sign: -1)
        func existing(_ groups: [ExistingTermIndex.Group], weight: (ExistingTermIndex.Group) -> Int64) {
            for g in groups where g.key.term.matches(pod, namespaceLabels: nsLabels) {
                let k = scores.index(for: g.key.term.topologyKey, in: snapshot)
                let dom = scores.domains[k].domainOfSlot
                if g.perSlot.keys.contains(where: { $0 < dom.count && dom[$0] >= 0 }) { touched = true }
                scores.addCounts(k, of: g, multiplier: weight(g))
            }
        }
        existing(required) { _ in Int64(self.hardPodAffinityWeight) }
        existing(preferred) { Int64($0.key.weight) }
        existing(preferredAnti) { -Int64($0.key.weight) }
        if !touched { return .skip }
        state.write(scoreKey, ScoreState(scores))
        return .success
    }

    /// True when some matching pod sits on a node having the key.
    private static func anyMatchWithKey(_ table: MatchCountTable, _ domains: TopologyDomains) -> Bool {
        let dom = domains.domainOfSlot
        for slot in 0..<min(table.perSlot.count, dom.count) where table.perSlot[slot] != 0 && dom[slot] >= 0 { return true }
        return false
    }

    public func score(state: CycleState, pod: PodInfo, node: NodeInfo) -> Int64 {
        guard let s = state.read(scoreKey) else { return 0 }
        var total: Int64 = 0
        for k in 0..<s.scores.keys.count { total += s.scores.count(k, node) }
        return total
    }

    public func normalizeScore(state: CycleState, pod: PodInfo, nodes: [NodeInfo], scores: inout [Int64]) -> Status {
        guard state.read(scoreKey) != nil else { return .success }
        var minCount = Int64.max, maxCount = Int64.min
        for s in scores {
            minCount = min(minCount, s)
            maxCount = max(maxCount, s)
        }
        let diff = maxCount - minCount
        for i in scores.indices {
            scores[i] = diff > 0 ? Int64(Double(maxNodeScore) * (Double(scores[i] - minCount) / Double(diff))) : 0
        }
        return .success
    }

    // MARK: Events

    public func eventsToRegister() -> [ClusterEventWithHint] {
        [
            ClusterEventWithHint(ClusterEvent(.assignedPod, [.add, .delete, .updatePodLabel]), hint: { pod, objects in
                guard let changed = objects.newPod ?? objects.oldPod else { return .queue }
                // The changed pod matters if it matches one of the pod's terms, or repels it.
                for t in pod.requiredAffinityTerms + pod.requiredAntiAffinityTerms
                    where t.matches(changed, namespaceLabels: nil) || t.hasNamespaceSelector {
                    return .queue
                }
                if objects.oldPod != nil && !changed.requiredAntiAffinityTerms.isEmpty { return .queue }
                return .skip
            }),
            ClusterEventWithHint(ClusterEvent(.node, [.add, .updateNodeLabel, .updateNodeTaint])),
        ]
    }
}
