#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CapstanSchedulerFramework

extension PodTopologySpread {
    final class ScoreState: StateData {
        let constraints: [Constraint]
        let domains: [TopologyDomains]
        let tables: [MatchCountTable?]
        /// Matching pods per domain (not for hostname constraints, counted per node).
        let counts: [[Int64]]
        let weights: [Double]
        let isHostname: [Bool]
        /// Nodes lacking a topology key are ignored (not for the system defaults).
        let requireAllTopologies: Bool

        init(constraints: [Constraint], domains: [TopologyDomains], tables: [MatchCountTable?], counts: [[Int64]], weights: [Double],
             isHostname: [Bool], requireAllTopologies: Bool) {
            self.constraints = constraints
            self.domains = domains
            self.tables = tables
            self.counts = counts
            self.weights = weights
            self.isHostname = isHostname
            self.requireAllTopologies = requireAllTopologies
        }

        func clone() -> any StateData { self }

        @inline(__always)
        func ignored(_ node: NodeInfo) -> Bool {
            guard requireAllTopologies else { return false }
            for d in domains where d.domain(of: node) < 0 { return true }
            return false
        }
    }

    public func preScore(state: CycleState, pod: PodInfo, nodes filtered: [NodeInfo]) -> Status {
        let snapshot = state.snapshot
        if filtered.isEmpty || snapshot.numNodes == 0 { return .skip }
        let constraints: [Constraint]
        do {
            constraints = try self.constraints(for: pod, snapshot: snapshot, action: "ScheduleAnyway")
        } catch {
            return .error("obtaining pod's soft topology spread constraints: \(error)")
        }
        if constraints.isEmpty { return .skip }
        let requireAll = !(pod.pod.spec?.topologySpreadConstraints ?? []).isEmpty || !systemDefaulted
        let n = constraints.count
        let domains = constraints.map { snapshot.domains(for: $0.topologyKey) }
        let isHostname = constraints.map { $0.topologyKey == Self.hostnameLabel }

        // Domains present among the filtered nodes, and their number.
        var present = domains.map { [Bool](repeating: false, count: $0.count) }
        var topoSize = [Int](repeating: 0, count: n)
        var missing = [Bool](repeating: false, count: n)
        var ignoredCount = 0
        for node in filtered {
            var ignore = false
            if requireAll { for i in 0..<n where domains[i].domain(of: node) < 0 { ignore = true } }
            if ignore {
                ignoredCount += 1
                continue
            }
            for i in 0..<n where !isHostname[i] {
                let d = Int(domains[i].domain(of: node))
                if d < 0 {
                    if !missing[i] { missing[i] = true; topoSize[i] += 1 }
                } else if !present[i][d] {
                    present[i][d] = true
                    topoSize[i] += 1
                }
            }
        }
        let weights = (0..<n).map { i in
            log(Double((isHostname[i] ? filtered.count - ignoredCount : topoSize[i]) + 2))
        }

        // Count matching pods per present domain over all nodes.
        let tables = constraints.map { Self.table(snapshot, namespace: pod.namespace, selector: $0.selector) }
        var counts = domains.map { [Int64](repeating: 0, count: $0.count) }
        let affinity = pod.requiredNodeAffinity
        let needAffinity = !affinity.isEmpty && constraints.contains { $0.honorNodeAffinity }
        if (0..<n).contains(where: { !isHostname[$0] && tables[$0] != nil }) {
            nodes: for node in snapshot.nodeInfoList {
                if requireAll { for i in 0..<n where domains[i].domain(of: node) < 0 { continue nodes } }
                let affinityMatches = !needAffinity || affinity.matches(node)
                for i in 0..<n where !isHostname[i] {
                    guard let t = tables[i] else { continue }
                    let d = Int(domains[i].domain(of: node))
                    guard d >= 0, present[i][d] else { continue }
                    if !constraints[i].includes(node, pod: pod, affinityMatches: affinityMatches) { continue }
                    counts[i][d] += Int64(t.count(on: node))
                }
            }
        }
        state.write(scoreKey, ScoreState(constraints: constraints, domains: domains, tables: tables, counts: counts, weights: weights,
                                         isHostname: isHostname, requireAllTopologies: requireAll))
        return .success
    }

    public func score(state: CycleState, pod: PodInfo, node: NodeInfo) -> Int64 {
        guard let s = state.read(scoreKey), !s.ignored(node) else { return 0 }
        var score = 0.0
        for i in 0..<s.constraints.count {
            let d = Int(s.domains[i].domain(of: node))
            guard d >= 0 else { continue }
            let cnt: Int64
            if s.isHostname[i] {
                cnt = Int64(s.tables[i]?.count(on: node) ?? 0)
            } else {
                cnt = d < s.counts[i].count ? s.counts[i][d] : 0
            }
            score += Double(cnt) * s.weights[i] + Double(s.constraints[i].maxSkew - 1)
        }
        return Int64(score.rounded())
    }

    public func normalizeScore(state: CycleState, pod: PodInfo, nodes: [NodeInfo], scores: inout [Int64]) -> Status {
        guard let s = state.read(scoreKey) else { return .success }
        var minScore = Int64.max, maxScore: Int64 = 0
        for i in scores.indices where !s.ignored(nodes[i]) {
            minScore = min(minScore, scores[i])
            maxScore = max(maxScore, scores[i])
        }
        for i in scores.indices {
            if s.ignored(nodes[i]) {
                scores[i] = 0
            } else if maxScore == 0 {
                scores[i] = maxNodeScore
            } else {
                scores[i] = maxNodeScore * (maxScore + minScore - scores[i]) / maxScore
            }
        }
        return .success
    }
}
