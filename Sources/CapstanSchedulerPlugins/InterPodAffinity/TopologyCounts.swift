import CapstanSchedulerFramework

/// Counts per (topology key, domain), Kubernetes' `topologyToMatchedTermCount` over the
/// snapshot's domain ids instead of string pairs.
struct TopologyCounts {
    private(set) var keys: [String] = []
    private(set) var domains: [TopologyDomains] = []
    private(set) var counts: [[Int64]] = []
    /// Entries that are not zero (the size of Kubernetes' map, which drops zero entries).
    private(set) var nonZero = 0

    var isEmpty: Bool { nonZero == 0 }

    mutating func index(for key: String, in snapshot: Snapshot) -> Int {
        if let i = keys.firstIndex(of: key) { return i }
        let d = snapshot.domains(for: key)
        keys.append(key)
        domains.append(d)
        counts.append([Int64](repeating: 0, count: d.count))
        return keys.count - 1
    }

    mutating func add(_ k: Int, domain d: Int, _ delta: Int64) {
        guard delta != 0, d >= 0 else { return }
        if d >= counts[k].count { counts[k].append(contentsOf: repeatElement(0, count: d + 1 - counts[k].count)) }
        let old = counts[k][d]
        let new = old + delta
        counts[k][d] = new
        if old == 0 && new != 0 { nonZero += 1 } else if old != 0 && new == 0 { nonZero -= 1 }
    }

    /// Adds `multiplier` x each node's count of `table` to the node's domain for key `k`.
    mutating func addCounts(_ k: Int, of table: MatchCountTable, multiplier: Int64) {
        let dom = domains[k].domainOfSlot
        let per = table.perSlot
        for slot in 0..<min(per.count, dom.count) where per[slot] != 0 {
            let d = dom[slot]
            if d >= 0 { add(k, domain: Int(d), Int64(per[slot]) * multiplier) }
        }
    }

    /// Adds `multiplier` x the per-node counts of an existing-term group.
    mutating func addCounts(_ k: Int, of group: ExistingTermIndex.Group, multiplier: Int64) {
        let dom = domains[k].domainOfSlot
        for (slot, c) in group.perSlot where slot < dom.count {
            let d = dom[slot]
            if d >= 0 { add(k, domain: Int(d), Int64(c) * multiplier) }
        }
    }

    /// The count of the node's domain for key `k` (0 when it lacks the key).
    @inline(__always)
    func count(_ k: Int, _ node: NodeInfo) -> Int64 {
        let d = Int(domains[k].domain(of: node))
        return d >= 0 && d < counts[k].count ? counts[k][d] : 0
    }

    @inline(__always)
    func hasKey(_ k: Int, _ node: NodeInfo) -> Bool { domains[k].domain(of: node) >= 0 }
}
