import CapstanAPI
import CapstanAPIMachinery
import CapstanSchedulerFramework

extension PodTopologySpread {
    /// Per constraint: matching pods per domain and which domains are eligible.
    final class FilterState: StateData {
        @exclusivity(unchecked) var constraints: [Constraint]
        @exclusivity(unchecked) var domains: [TopologyDomains]
        @exclusivity(unchecked) var counts: [[Int32]]
        @exclusivity(unchecked) var eligible: [[Bool]]
        @exclusivity(unchecked) var eligibleCount: [Int]
        @exclusivity(unchecked) var minMatch: [Int32]
        @exclusivity(unchecked) var minDirty: [Bool]
        @exclusivity(unchecked) var selfMatch: [Int32]

        init(constraints: [Constraint], domains: [TopologyDomains], selfMatch: [Int32]) {
            self.constraints = constraints
            self.domains = domains
            self.selfMatch = selfMatch
            counts = domains.map { [Int32](repeating: 0, count: $0.count) }
            eligible = domains.map { [Bool](repeating: false, count: $0.count) }
            eligibleCount = Array(repeating: 0, count: constraints.count)
            minMatch = Array(repeating: Int32.max, count: constraints.count)
            minDirty = Array(repeating: true, count: constraints.count)
        }

        private init(copying o: FilterState) {
            constraints = o.constraints
            domains = o.domains
            counts = o.counts
            eligible = o.eligible
            eligibleCount = o.eligibleCount
            minMatch = o.minMatch
            minDirty = o.minDirty
            selfMatch = o.selfMatch
        }

        func clone() -> any StateData { FilterState(copying: self) }

        func markEligible(_ i: Int, _ d: Int) {
            if d >= eligible[i].count {
                eligible[i].append(contentsOf: repeatElement(false, count: d + 1 - eligible[i].count))
                counts[i].append(contentsOf: repeatElement(0, count: d + 1 - counts[i].count))
            }
            if !eligible[i][d] {
                eligible[i][d] = true
                eligibleCount[i] += 1
            }
        }

        /// The global minimum of constraint `i` (0 while fewer than minDomains domains).
        func minMatchNum(_ i: Int) -> Int32 {
            if eligibleCount[i] < Int(constraints[i].minDomains) { return 0 }
            if minDirty[i] {
                var m = Int32.max
                let e = eligible[i], c = counts[i]
                for d in 0..<e.count where e[d] && c[d] < m { m = c[d] }
                minMatch[i] = m
                minDirty[i] = false
            }
            return minMatch[i]
        }
    }

    public func preFilter(state: CycleState, pod: PodInfo) -> (PreFilterResult?, Status) {
        let snapshot = state.snapshot
        let constraints: [Constraint]
        do {
            constraints = try self.constraints(for: pod, snapshot: snapshot, action: "DoNotSchedule")
        } catch {
            return (nil, .error("obtaining pod's hard topology spread constraints: \(error)"))
        }
        if constraints.isEmpty { return (nil, .skip) }
        let domains = constraints.map { snapshot.domains(for: $0.topologyKey) }
        let tables = constraints.map { Self.table(snapshot, namespace: pod.namespace, selector: $0.selector) }
        let s = FilterState(constraints: constraints, domains: domains,
                            selfMatch: constraints.map { $0.selector.matches(pod.labels) ? 1 : 0 })
        let affinity = pod.requiredNodeAffinity
        let needAffinity = !affinity.isEmpty && constraints.contains { $0.honorNodeAffinity }
        let needNode = needAffinity || constraints.contains { $0.honorNodeTaints }
        let n = constraints.count
        // Walk slots, not nodes: domains and counts are plain arrays indexed by slot, and the
        // node itself is only looked at when an inclusion policy needs it.
        let doms = domains.map(\.domainOfSlot)
        let pers = tables.map { $0?.perSlot }
        var counts = s.counts, eligible = s.eligible, eligibleCount = s.eligibleCount
        let slots = snapshot.slots
        let slotCount = doms.map(\.count).min() ?? 0
        slots: for slot in 0..<slotCount {
            for i in 0..<n where doms[i][slot] < 0 { continue slots }
            var affinityMatches = true
            var node: NodeInfo?
            if needNode {
                guard let nd = slots[slot] else { continue }
                node = nd
                affinityMatches = !needAffinity || affinity.matches(nd)
            }
            for i in 0..<n {
                if let node, !constraints[i].includes(node, pod: pod, affinityMatches: affinityMatches) { continue }
                let d = Int(doms[i][slot])
                if !eligible[i][d] {
                    eligible[i][d] = true
                    eligibleCount[i] += 1
                }
                if let per = pers[i], slot < per.count { counts[i][d] += per[slot] }
            }
        }
        s.counts = counts
        s.eligible = eligible
        s.eligibleCount = eligibleCount
        state.write(filterKey, s)
        return (nil, .success)
    }

    public func filter(state: CycleState, pod: PodInfo, node: NodeInfo) -> Status {
        guard let s = state.read(filterKey) else { return .success }
        for i in 0..<s.constraints.count {
            let d = Int(s.domains[i].domain(of: node))
            if d < 0 { return Self.nodeLabelNotMatch }
            let minMatch = s.minMatchNum(i)
            let matchNum = d < s.counts[i].count && s.eligible[i][d] ? s.counts[i][d] : 0
            let skew = Int64(matchNum) + Int64(s.selfMatch[i]) - Int64(minMatch)
            if skew > Int64(s.constraints[i].maxSkew) { return Self.constraintsNotMatch }
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

    private func update(state: CycleState, pod: PodInfo, changed: PodInfo, node: NodeInfo, delta: Int32) {
        guard let s = state.read(filterKey), changed.namespace == pod.namespace, node.node != nil else { return }
        for i in 0..<s.constraints.count where s.domains[i].domain(of: node) < 0 { return }
        let affinityMatches = pod.requiredNodeAffinity.isEmpty || pod.requiredNodeAffinity.matches(node)
        for i in 0..<s.constraints.count {
            let c = s.constraints[i]
            if !c.selector.matches(changed.labels) { continue }
            if !c.includes(node, pod: pod, affinityMatches: affinityMatches) { continue }
            let d = Int(s.domains[i].domain(of: node))
            s.markEligible(i, d)
            s.counts[i][d] += delta
            s.minDirty[i] = true
        }
    }
}
