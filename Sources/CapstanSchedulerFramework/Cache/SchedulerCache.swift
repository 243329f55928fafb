import CapstanAPI
import CapstanAPIMachinery

/// The scheduler's view of placed pods and nodes, kept current from informer events plus the
/// pods the scheduler has *assumed* (placed but whose binding is not yet observed), as
/// Kubernetes' scheduler cache:
///
/// - `assumePod` after a successful cycle, so the next cycle sees the node's resources taken;
/// - `finishBinding` once the binding was sent, which starts the assumed pod's TTL;
/// - `forgetPod` when binding failed;
/// - `addPod` when the informer reports the pod assigned: confirms an assumed pod;
/// - `cleanupExpiredAssumedPods` drops assumed pods whose binding was never observed.
///
/// Every change bumps a generation and logs the node name, so `updateSnapshot` copies only
/// what changed. Not thread-safe: confine to the scheduler's isolation domain.
public final class SchedulerCache {
    public struct CacheError: Error, Hashable, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    private struct PodState {
        var pod: PodInfo
        var deadline: Duration?
        var bindingFinished = false
    }

    @exclusivity(unchecked) private var nodes: [String: NodeInfo] = [:]
    @exclusivity(unchecked) private var podStates: [String: PodState] = [:]
    @exclusivity(unchecked) private var assumedPods: Set<String> = []
    @exclusivity(unchecked) private var generation: Int64 = 0
    @exclusivity(unchecked) private var changeLog: [(generation: Int64, name: String)] = []

    @exclusivity(unchecked) private var namespaces: [String: [String: String]] = [:]
    @exclusivity(unchecked) private var pdbs: [String: PolicyV1.PodDisruptionBudget] = [:]
    @exclusivity(unchecked) private var pdbList: [PolicyV1.PodDisruptionBudget] = []
    @exclusivity(unchecked) private var imageNodes: [String: Set<String>] = [:]
    @exclusivity(unchecked) private var imageNodeCounts: [String: Int] = [:]
    @exclusivity(unchecked) private var workloads = WorkloadSelectors()
    @exclusivity(unchecked) private var clusterObjectsGeneration: Int64 = 0

    private let clock: SchedulerClock
    /// How long an assumed pod whose binding finished may wait to be observed; nil: forever.
    public let assumedPodTTL: Duration?

    public init(clock: SchedulerClock = .continuous, assumedPodTTL: Duration? = .seconds(15 * 60)) {
        self.clock = clock
        self.assumedPodTTL = assumedPodTTL
    }

    // MARK: Queries

    public var nodeCount: Int { nodes.values.reduce(0) { $0 + ($1.node != nil ? 1 : 0) } }
    public var podCount: Int { podStates.count }
    public var assumedPodCount: Int { assumedPods.count }

    public func isAssumed(uid: String) -> Bool { assumedPods.contains(uid) }
    public func pod(uid: String) -> PodInfo? { podStates[uid]?.pod }
    public func nodeInfo(_ name: String) -> NodeInfo? { nodes[name] }

    // MARK: Pods

    /// Places `pod` (with `nodeName` set) on its node before the binding is confirmed.
    public func assumePod(_ pod: PodInfo) throws(CacheError) {
        guard podStates[pod.uid] == nil else { throw CacheError(message: "pod \(pod.key) is already in the cache, so can't be assumed") }
        addToNode(pod)
        podStates[pod.uid] = PodState(pod: pod)
        assumedPods.insert(pod.uid)
    }

    /// The binding was sent: the assumed pod expires after the TTL unless observed.
    public func finishBinding(_ pod: PodInfo) {
        guard assumedPods.contains(pod.uid), var state = podStates[pod.uid] else { return }
        state.bindingFinished = true
        if let ttl = assumedPodTTL { state.deadline = clock.now() + ttl }
        podStates[pod.uid] = state
    }

    /// Undoes `assumePod` (binding failed).
    public func forgetPod(_ pod: PodInfo) throws(CacheError) {
        guard let state = podStates[pod.uid] else { return }
        guard state.pod.nodeName == pod.nodeName else {
            throw CacheError(message: "pod \(pod.key) was assumed on \(state.pod.nodeName) but assigned to \(pod.nodeName)")
        }
        guard assumedPods.contains(pod.uid) else { throw CacheError(message: "pod \(pod.key) wasn't assumed so cannot be forgotten") }
        removeFromNode(state.pod)
        podStates[pod.uid] = nil
        assumedPods.remove(pod.uid)
    }

    /// An assigned pod was observed (informer add, or the binding showing up).
    public func addPod(_ pod: PodInfo) {
        if let state = podStates[pod.uid] {
            // Assumed: confirm with the observed object (possibly on another node).
            removeFromNode(state.pod)
            addToNode(pod)
            podStates[pod.uid] = PodState(pod: pod)
            assumedPods.remove(pod.uid)
        } else {
            addToNode(pod)
            podStates[pod.uid] = PodState(pod: pod)
        }
    }

    /// An assigned pod changed (labels, requests, termination).
    public func updatePod(old: PodInfo, new: PodInfo) {
        guard let state = podStates[new.uid] ?? podStates[old.uid] else {
            addPod(new)
            return
        }
        removeFromNode(state.pod)
        addToNode(new)
        podStates[old.uid] = nil
        podStates[new.uid] = PodState(pod: new)
        assumedPods.remove(new.uid)
        assumedPods.remove(old.uid)
    }

    /// An assigned pod was deleted.
    public func removePod(_ pod: PodInfo) {
        guard let state = podStates.removeValue(forKey: pod.uid) else { return }
        removeFromNode(state.pod)
        assumedPods.remove(pod.uid)
    }

    /// Drops assumed pods whose binding finished more than the TTL ago; returns them.
    @discardableResult
    public func cleanupExpiredAssumedPods() -> [PodInfo] {
        guard !assumedPods.isEmpty else { return [] }
        let now = clock.now()
        var expired: [PodInfo] = []
        for uid in assumedPods {
            guard let s = podStates[uid], s.bindingFinished, let d = s.deadline, now > d else { continue }
            expired.append(s.pod)
        }
        for p in expired {
            removeFromNode(p)
            podStates[p.uid] = nil
            assumedPods.remove(p.uid)
        }
        return expired
    }

    private func addToNode(_ pod: PodInfo) {
        let n = nodeInfoCreating(pod.nodeName)
        n.addPod(pod)
        touch(n)
    }

    private func removeFromNode(_ pod: PodInfo) {
        guard let n = nodes[pod.nodeName] else { return }
        n.removePod(uid: pod.uid)
        if n.node == nil && n.pods.isEmpty {
            nodes[n.name] = nil
        }
        touch(n)
    }

    private func nodeInfoCreating(_ name: String) -> NodeInfo {
        if let n = nodes[name] { return n }
        let n = NodeInfo(name: name)
        nodes[name] = n
        return n
    }

    private func touch(_ n: NodeInfo) {
        generation += 1
        n._generation = generation
        changeLog.append((generation, n.name))
        if changeLog.count > 2 * nodes.count + 4096 { compactChangeLog() }
    }

    private func compactChangeLog() {
        var latest: [String: Int64] = [:]
        for e in changeLog { latest[e.name] = e.generation }
        changeLog = latest.map { ($0.value, $0.key) }.sorted { $0.generation < $1.generation }
    }

    // MARK: Nodes

    public func addNode(_ node: CoreV1.Node) {
        guard let name = node.metadata?.name else { return }
        let n = nodeInfoCreating(name)
        if n.node != nil { removeImages(n) }
        n.setNode(node)
        addImages(n)
        touch(n)
    }

    public func updateNode(_ node: CoreV1.Node) { addNode(node) }

    public func removeNode(_ name: String) {
        guard let n = nodes[name] else { return }
        removeImages(n)
        n.removeNode()
        if n.pods.isEmpty { nodes[name] = nil }
        touch(n)
    }

    private func addImages(_ n: NodeInfo) {
        guard !n.imageSizes.isEmpty else { return }
        for name in n.imageSizes.keys {
            imageNodes[name, default: []].insert(n.name)
            imageNodeCounts[name] = imageNodes[name]!.count
        }
        clusterObjectsGeneration += 1
    }

    private func removeImages(_ n: NodeInfo) {
        guard !n.imageSizes.isEmpty else { return }
        for name in n.imageSizes.keys {
            imageNodes[name]?.remove(n.name)
            let c = imageNodes[name]?.count ?? 0
            if c == 0 { imageNodes[name] = nil; imageNodeCounts[name] = nil } else { imageNodeCounts[name] = c }
        }
        clusterObjectsGeneration += 1
    }

    // MARK: Other cluster objects

    public func setNamespace(_ ns: CoreV1.Namespace) {
        guard let name = ns.metadata?.name else { return }
        namespaces[name] = ns.metadata?.labels ?? [:]
        clusterObjectsGeneration += 1
    }

    public func removeNamespace(_ name: String) {
        namespaces[name] = nil
        clusterObjectsGeneration += 1
    }

    public func setPodDisruptionBudget(_ pdb: PolicyV1.PodDisruptionBudget) {
        pdbs[Self.key(pdb.metadata)] = pdb
        pdbList = Array(pdbs.values)
        clusterObjectsGeneration += 1
    }

    public func removePodDisruptionBudget(namespace: String, name: String) {
        pdbs[namespace + "/" + name] = nil
        pdbList = Array(pdbs.values)
        clusterObjectsGeneration += 1
    }

    public func setService(_ svc: CoreV1.Service) {
        let ns = svc.metadata?.namespace ?? "default"
        let name = svc.metadata?.name ?? ""
        if let sel = svc.spec?.selector, !sel.isEmpty {
            workloads.services[ns, default: [:]][name] = sel
        } else {
            workloads.services[ns]?[name] = nil
        }
        clusterObjectsGeneration += 1
    }

    public func removeService(namespace: String, name: String) {
        workloads.services[namespace]?[name] = nil
        clusterObjectsGeneration += 1
    }

    public func setReplicaSet(_ rs: AppsV1.ReplicaSet) {
        workloads.replicaSets[Self.key(rs.metadata)] = rs.spec?.selector
        clusterObjectsGeneration += 1
    }

    public func removeReplicaSet(namespace: String, name: String) {
        workloads.replicaSets[namespace + "/" + name] = nil
        clusterObjectsGeneration += 1
    }

    public func setStatefulSet(_ ss: AppsV1.StatefulSet) {
        workloads.statefulSets[Self.key(ss.metadata)] = ss.spec?.selector
        clusterObjectsGeneration += 1
    }

    public func removeStatefulSet(namespace: String, name: String) {
        workloads.statefulSets[namespace + "/" + name] = nil
        clusterObjectsGeneration += 1
    }

    public func setReplicationController(_ rc: CoreV1.ReplicationController) {
        workloads.replicationControllers[Self.key(rc.metadata)] = rc.spec?.selector
        clusterObjectsGeneration += 1
    }

    public func removeReplicationController(namespace: String, name: String) {
        workloads.replicationControllers[namespace + "/" + name] = nil
        clusterObjectsGeneration += 1
    }

    private static func key(_ meta: MetaV1.ObjectMeta?) -> String {
        (meta?.namespace ?? "default") + "/" + (meta?.name ?? "")
    }

    // MARK: Snapshot

    /// Brings `snapshot` up to date: copies the nodes changed since its generation.
    public func updateSnapshot(_ snapshot: Snapshot) {
        if snapshot.clusterObjectsGeneration != clusterObjectsGeneration {
            snapshot.namespaceLabels = namespaces
            snapshot.podDisruptionBudgets = pdbList
            snapshot.imageNodeCounts = imageNodeCounts
            snapshot.workloads = workloads
            snapshot.clusterObjectsGeneration = clusterObjectsGeneration
        }
        guard snapshot.generation < generation else { return }
        let since = snapshot.generation
        var lo = 0, hi = changeLog.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if changeLog[mid].generation <= since { lo = mid + 1 } else { hi = mid }
        }
        if changeLog.count - lo > 16 {
            // Many changes (or a new snapshot): visit each node once, in log order.
            var seen = Set<String>()
            for i in lo..<changeLog.count where seen.insert(changeLog[i].name).inserted {
                apply(changeLog[i].name, to: snapshot)
            }
        } else {
            for i in lo..<changeLog.count { apply(changeLog[i].name, to: snapshot) }
        }
        snapshot.generation = generation
        snapshot.finishUpdate()
    }

    private func apply(_ name: String, to snapshot: Snapshot) {
        if let n = nodes[name], n.node != nil {
            if let s = snapshot.get(name), s.generation == n.generation { return }
            snapshot.upsert(n)
        } else {
            snapshot.remove(name)
        }
    }
}
