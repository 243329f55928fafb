import CapstanAPI
import CapstanAPIMachinery

// Indexes kept up to date with the snapshot, so PodTopologySpread and InterPodAffinity do
// O(nodes) array work per cycle instead of matching every pod in the cluster:
//
// - `TopologyDomains`: for a topology key, each node's domain as a small integer;
// - `MatchCountTable`: for a pod selector, how many pods on each node match it (built on
//   first use by one scan, then recounted only for changed nodes; least recently used
//   tables are dropped);
// - `ExistingTermIndex`: the affinity terms of pods already placed, grouped by identical
//   term, with per-node counts, so "which existing pods' anti-affinity does this pod hit"
//   costs one match per distinct term.

/// The domain (an integer) of every node for one topology key.
public final class TopologyDomains {
    public let key: String
    /// Domain of each slot; -1 when the node lacks the label or the slot is empty.
    @exclusivity(unchecked) public private(set) var domainOfSlot: [Int32]
    /// Domain id -> label value. Ids are never reused while the snapshot lives.
    @exclusivity(unchecked) public private(set) var values: [String] = []
    @exclusivity(unchecked) private var idOfValue: [String: Int32] = [:]

    init(key: String, slots: [NodeInfo?]) {
        self.key = key
        domainOfSlot = Array(repeating: -1, count: slots.count)
        for case let n? in slots { update(n) }
    }

    /// Number of domain ids allocated (an upper bound for per-domain arrays).
    public var count: Int { values.count }

    func update(_ n: NodeInfo) {
        if n.slot >= domainOfSlot.count {
            domainOfSlot.append(contentsOf: repeatElement(-1, count: n.slot + 1 - domainOfSlot.count))
        }
        guard let v = n.labels[key] else {
            domainOfSlot[n.slot] = -1
            return
        }
        if let id = idOfValue[v] {
            domainOfSlot[n.slot] = id
        } else {
            let id = Int32(values.count)
            values.append(v)
            idOfValue[v] = id
            domainOfSlot[n.slot] = id
        }
    }

    func clear(slot: Int) {
        if slot < domainOfSlot.count { domainOfSlot[slot] = -1 }
    }

    /// The node's domain, or -1 when it has no value for the key.
    @inlinable
    public func domain(of node: NodeInfo) -> Int32 {
        let s = node.slot
        if s >= 0 && s < domainOfSlot.count { return domainOfSlot[s] }
        return -1
    }

    /// The id of a label value, if any node has it.
    public func id(of value: String) -> Int32? { idOfValue[value] }
}

/// Namespaces and a label selector a pod must both match.
public struct PodSelection: Sendable, Hashable {
    public var namespaces: Set<String>
    public var allNamespaces: Bool
    public var selector: LabelSelector

    public init(namespaces: Set<String>, allNamespaces: Bool = false, selector: LabelSelector) {
        self.namespaces = namespaces
        self.allNamespaces = allNamespaces
        self.selector = selector
    }

    @inlinable
    public func matches(_ pod: PodInfo) -> Bool {
        (allNamespaces || namespaces.contains(pod.namespace)) && selector.matches(pod.labels)
    }
}

/// Pods matching every selection (optionally ignoring terminating pods).
public struct PodMatcher: Sendable, Hashable {
    public var selections: [PodSelection]
    public var skipTerminating: Bool

    public init(_ selections: [PodSelection], skipTerminating: Bool = false) {
        self.selections = selections
        self.skipTerminating = skipTerminating
    }

    @inlinable
    public func matches(_ pod: PodInfo) -> Bool {
        if skipTerminating && pod.isTerminating { return false }
        for s in selections where !s.matches(pod) { return false }
        return true
    }
}

/// How many pods on each node match a `PodMatcher`.
public final class MatchCountTable {
    public let matcher: PodMatcher
    /// Count per node slot.
    @exclusivity(unchecked) public internal(set) var perSlot: [Int32]
    @exclusivity(unchecked) var lastUse = 0

    init(matcher: PodMatcher, slots: [NodeInfo?]) {
        self.matcher = matcher
        perSlot = Array(repeating: 0, count: slots.count)
        for case let n? in slots { recount(n) }
    }

    func recount(_ n: NodeInfo) {
        if n.slot >= perSlot.count {
            perSlot.append(contentsOf: repeatElement(0, count: n.slot + 1 - perSlot.count))
        }
        var c: Int32 = 0
        for p in n.pods where matcher.matches(p) { c += 1 }
        perSlot[n.slot] = c
    }

    /// The count for a node of the snapshot.
    @inlinable
    public func count(on node: NodeInfo) -> Int32 {
        let s = node.slot
        return s >= 0 && s < perSlot.count ? perSlot[s] : 0
    }
}

/// Affinity terms of placed pods, grouped by identical (kind, weight, term), with the number
/// of pods carrying the term on each node.
public final class ExistingTermIndex {
    public struct Kind: RawRepresentable, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let requiredAffinity = Kind(rawValue: 0)
        public static let requiredAntiAffinity = Kind(rawValue: 1)
        public static let preferredAffinity = Kind(rawValue: 2)
        public static let preferredAntiAffinity = Kind(rawValue: 3)
    }

    public struct GroupKey: Sendable, Hashable {
        public var kind: Kind
        public var weight: Int32
        public var term: AffinityTerm
    }

    public final class Group {
        public let key: GroupKey
        /// Pods carrying the term, per node slot (only nodes with some).
        @exclusivity(unchecked) public internal(set) var perSlot: [Int: Int32] = [:]
        @exclusivity(unchecked) public internal(set) var total = 0
        init(key: GroupKey) { self.key = key }
    }

    @exclusivity(unchecked) public private(set) var groups: [GroupKey: Group] = [:]
    /// Number of groups per kind, to skip work when a kind is absent.
    @exclusivity(unchecked) public private(set) var groupCount: [Int] = [0, 0, 0, 0]

    func add(_ node: NodeInfo) { apply(node, delta: 1) }
    func remove(_ node: NodeInfo) { apply(node, delta: -1) }

    private func apply(_ node: NodeInfo, delta: Int32) {
        for pod in node.podsWithAffinity {
            for t in pod.requiredAffinityTerms { bump(GroupKey(kind: .requiredAffinity, weight: 0, term: t), node.slot, delta) }
            for t in pod.requiredAntiAffinityTerms { bump(GroupKey(kind: .requiredAntiAffinity, weight: 0, term: t), node.slot, delta) }
            for t in pod.preferredAffinityTerms { bump(GroupKey(kind: .preferredAffinity, weight: t.weight, term: t.term), node.slot, delta) }
            for t in pod.preferredAntiAffinityTerms { bump(GroupKey(kind: .preferredAntiAffinity, weight: t.weight, term: t.term), node.slot, delta) }
        }
    }

    private func bump(_ key: GroupKey, _ slot: Int, _ delta: Int32) {
        let g: Group
        if let existing = groups[key] {
            g = existing
        } else {
            guard delta > 0 else { return }
            g = Group(key: key)
            groups[key] = g
            groupCount[Int(key.kind.rawValue)] += 1
        }
        let c = (g.perSlot[slot] ?? 0) + delta
        g.perSlot[slot] = c > 0 ? c : nil
        g.total += Int(delta)
        if g.total <= 0 {
            groups[key] = nil
            groupCount[Int(key.kind.rawValue)] -= 1
        }
    }

    /// Groups of one kind.
    public func groups(of kind: Kind) -> [Group] {
        guard groupCount[Int(kind.rawValue)] > 0 else { return [] }
        return groups.values.filter { $0.key.kind == kind }
    }
}

extension Snapshot {
    /// Domains of `key` (built on first use, then kept current).
    public func domains(for key: String) -> TopologyDomains {
        if let d = domainsByKey[key] { return d }
        let d = TopologyDomains(key: key, slots: slots)
        domainsByKey[key] = d
        return d
    }

    /// Per-node counts of pods matching `matcher` (built on first use by one scan).
    public func matchCounts(_ matcher: PodMatcher) -> MatchCountTable {
        matchTableUse += 1
        if let t = matchTables[matcher] {
            t.lastUse = matchTableUse
            return t
        }
        if matchTables.count >= maxMatchTables, let victim = matchTables.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            matchTables[victim.key] = nil
        }
        let t = MatchCountTable(matcher: matcher, slots: slots)
        t.lastUse = matchTableUse
        matchTables[matcher] = t
        return t
    }

    /// The grouped affinity terms of placed pods.
    public var existingPodTerms: ExistingTermIndex { existingTerms }

    func recount(_ n: NodeInfo) {
        for (_, t) in matchTables { t.recount(n) }
    }

    /// The namespaces whose labels `selector` matches.
    public func namespaces(matching selector: LabelSelector) -> Set<String> {
        var out = Set<String>()
        for (name, labels) in namespaceLabels where selector.matches(labels) { out.insert(name) }
        return out
    }

    /// The selection an incoming pod's term denotes, with its namespace selector resolved
    /// against the snapshot's namespaces (Kubernetes' `mergeAffinityTermNamespacesIfNotEmpty`).
    public func selection(for term: AffinityTerm) -> PodSelection {
        if term.namespaceSelector.isEmpty {
            return PodSelection(namespaces: term.namespaces, allNamespaces: true, selector: term.selector)
        }
        var names = term.namespaces
        if !term.namespaceSelector.matchesNothing {
            names.formUnion(namespaces(matching: term.namespaceSelector))
        }
        return PodSelection(namespaces: names, selector: term.selector)
    }
}
