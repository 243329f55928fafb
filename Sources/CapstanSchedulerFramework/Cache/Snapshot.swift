import CapstanAPI

/// The view of the cluster one scheduling cycle runs against (Kubernetes' `cache.Snapshot`).
///
/// `SchedulerCache.updateSnapshot(_:)` brings it up to date by generation: only nodes changed
/// since the last update are copied, and a copy shares the node's arrays, so a cycle costs
/// O(changed nodes), never O(all pods). The node list is rebuilt only when nodes come or go,
/// or their zones change.
///
/// It also keeps the indexes the inter-pod plugins need (see `Snapshot+Indexes.swift`):
/// topology domains per key, per-node counts of pods matching a selector, and the terms of
/// existing pods with affinity grouped by identity.
///
/// Not thread-safe: confine to the scheduler's isolation domain.
public final class Snapshot {
    /// Nodes in the order the filter walks them (zones interleaved, as Kubernetes' node tree).
    @exclusivity(unchecked) public private(set) var nodeInfoList: [NodeInfo] = []
    /// Nodes hosting pods with a podAffinity/podAntiAffinity stanza.
    @exclusivity(unchecked) public private(set) var havePodsWithAffinityList: [NodeInfo] = []
    /// Nodes hosting pods with required anti-affinity terms.
    @exclusivity(unchecked) public private(set) var havePodsWithRequiredAntiAffinityList: [NodeInfo] = []
    /// The cache generation this snapshot reflects.
    @exclusivity(unchecked) public internal(set) var generation: Int64 = 0
    @exclusivity(unchecked) var clusterObjectsGeneration: Int64 = -1

    @exclusivity(unchecked) private var byName: [String: NodeInfo] = [:]
    /// Slot -> node; a slot is a node's stable index in per-node tables.
    @exclusivity(unchecked) public private(set) var slots: [NodeInfo?] = []
    @exclusivity(unchecked) private var freeSlots: [Int] = []
    @exclusivity(unchecked) private var listsDirty = false
    @exclusivity(unchecked) private var affinityListsDirty = false

    /// Labels of each namespace, for namespace selectors in affinity terms.
    @exclusivity(unchecked) public internal(set) var namespaceLabels: [String: [String: String]] = [:]
    /// PodDisruptionBudgets, for preemption.
    @exclusivity(unchecked) public internal(set) var podDisruptionBudgets: [PolicyV1.PodDisruptionBudget] = []
    /// How many nodes have each image (by the names nodes report).
    @exclusivity(unchecked) public internal(set) var imageNodeCounts: [String: Int] = [:]
    /// Services and controllers whose selectors form the default spreading selector.
    @exclusivity(unchecked) public internal(set) var workloads = WorkloadSelectors()
    /// Nodes with at least one PreferNoSchedule taint.
    @exclusivity(unchecked) public private(set) var nodesWithPreferNoScheduleTaints = 0

    // Indexes (Snapshot+Indexes.swift).
    @exclusivity(unchecked) var domainsByKey: [String: TopologyDomains] = [:]
    @exclusivity(unchecked) var matchTables: [PodMatcher: MatchCountTable] = [:]
    @exclusivity(unchecked) var matchTableUse = 0
    /// Maximum number of selector count tables kept; the least recently used goes first.
    @exclusivity(unchecked) public var maxMatchTables = 64
    let existingTerms = ExistingTermIndex()

    public init() {}

    /// A snapshot of these nodes (tests, simulations).
    public convenience init(nodes: [NodeInfo]) {
        self.init()
        for n in nodes { upsert(n) }
        finishUpdate()
    }

    public var numNodes: Int { nodeInfoList.count }

    public func get(_ name: String) -> NodeInfo? { byName[name] }

    /// Total number of slots (upper bound of `NodeInfo.slot`).
    public var slotCount: Int { slots.count }

    // MARK: Updates (from the cache)

    /// Copies `source` (a cache node) into this snapshot's node of that name.
    func upsert(_ source: NodeInfo) {
        if let existing = byName[source.name] {
            let oldLabels = existing.labels
            let hadAffinity = !existing.podsWithAffinity.isEmpty
            let hadAnti = !existing.podsWithRequiredAntiAffinity.isEmpty
            let oldPreferNoSchedule = Self.hasPreferNoSchedule(existing)
            existingTerms.remove(existing)
            existing.copy(from: source)
            existingTerms.add(existing)
            if Self.hasPreferNoSchedule(existing) != oldPreferNoSchedule {
                nodesWithPreferNoScheduleTaints += oldPreferNoSchedule ? -1 : 1
            }
            if oldLabels != existing.labels {
                labelsChanged(existing, zoneChanged: Self.zoneKey(oldLabels) != Self.zoneKey(existing.labels))
            }
            if hadAffinity != !existing.podsWithAffinity.isEmpty || hadAnti != !existing.podsWithRequiredAntiAffinity.isEmpty {
                affinityListsDirty = true
            }
            recount(existing)
        } else {
            let n = NodeInfo(name: source.name)
            let slot: Int
            if let s = freeSlots.popLast() {
                slot = s
                slots[s] = n
            } else {
                slot = slots.count
                slots.append(n)
            }
            n._slot = slot
            n.copy(from: source)
            byName[n.name] = n
            existingTerms.add(n)
            if Self.hasPreferNoSchedule(n) { nodesWithPreferNoScheduleTaints += 1 }
            for (_, d) in domainsByKey { d.update(n) }
            recount(n)
            listsDirty = true
        }
    }

    func remove(_ name: String) {
        guard let n = byName.removeValue(forKey: name) else { return }
        existingTerms.remove(n)
        if Self.hasPreferNoSchedule(n) { nodesWithPreferNoScheduleTaints -= 1 }
        for (_, d) in domainsByKey { d.clear(slot: n.slot) }
        for (_, t) in matchTables where n.slot < t.perSlot.count { t.perSlot[n.slot] = 0 }
        slots[n.slot] = nil
        freeSlots.append(n.slot)
        listsDirty = true
    }

    private func labelsChanged(_ n: NodeInfo, zoneChanged: Bool) {
        for (_, d) in domainsByKey { d.update(n) }
        if zoneChanged { listsDirty = true }
    }

    /// Rebuilds the node lists when nodes came, went or changed zone.
    func finishUpdate() {
        if listsDirty {
            rebuildNodeList()
            listsDirty = false
            affinityListsDirty = true
        }
        if affinityListsDirty {
            havePodsWithAffinityList = nodeInfoList.filter { !$0.podsWithAffinity.isEmpty }
            havePodsWithRequiredAntiAffinityList = nodeInfoList.filter { !$0.podsWithRequiredAntiAffinity.isEmpty }
            affinityListsDirty = false
        }
    }

    /// Zones in order of first appearance, nodes within a zone by slot, taken round-robin.
    private func rebuildNodeList() {
        var zoneOrder: [String] = []
        var byZone: [String: [NodeInfo]] = [:]
        for case let n? in slots {
            let z = Self.zoneKey(n.labels)
            if byZone[z] == nil { zoneOrder.append(z) }
            byZone[z, default: []].append(n)
        }
        var list: [NodeInfo] = []
        list.reserveCapacity(byName.count)
        if zoneOrder.count <= 1 {
            list = byZone[zoneOrder.first ?? ""] ?? []
        } else {
            let zones = zoneOrder.map { byZone[$0]! }
            var i = 0
            while list.count < byName.count {
                for z in zones where i < z.count { list.append(z[i]) }
                i += 1
            }
        }
        nodeInfoList = list
    }

    static func zoneKey(_ labels: [String: String]) -> String {
        let region = labels["topology.kubernetes.io/region"] ?? labels["failure-domain.beta.kubernetes.io/region"] ?? ""
        let zone = labels["topology.kubernetes.io/zone"] ?? labels["failure-domain.beta.kubernetes.io/zone"] ?? ""
        if region.isEmpty && zone.isEmpty { return "" }
        return region + ":\u{0}:" + zone
    }

    private static func hasPreferNoSchedule(_ n: NodeInfo) -> Bool {
        n.taints.contains { $0.effect == Taints.preferNoSchedule }
    }
}

/// Selectors of the workloads a pod may belong to, from which Kubernetes derives the
/// default spreading selector: Services, ReplicationControllers, ReplicaSets, StatefulSets.
public struct WorkloadSelectors: Sendable {
    /// Service selectors by namespace, then service name.
    public var services: [String: [String: [String: String]]] = [:]
    /// ReplicationController selectors by `namespace/name`.
    public var replicationControllers: [String: [String: String]] = [:]
    /// ReplicaSet selectors by `namespace/name`.
    public var replicaSets: [String: MetaV1.LabelSelector] = [:]
    /// StatefulSet selectors by `namespace/name`.
    public var statefulSets: [String: MetaV1.LabelSelector] = [:]

    public init() {}

    public var isEmpty: Bool {
        services.isEmpty && replicationControllers.isEmpty && replicaSets.isEmpty && statefulSets.isEmpty
    }
}
