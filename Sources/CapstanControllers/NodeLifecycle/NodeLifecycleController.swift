import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import Foundation
import Synchronization

/// The node lifecycle controller: a node whose kubelet neither renews its Lease (in
/// `kube-node-lease`) nor posts status for ``gracePeriod`` gets its conditions set to Unknown
/// ("NodeStatusUnknown"); the `node.kubernetes.io/unreachable` / `not-ready` taints follow the
/// Ready condition (and go when the node recovers); pods on a NoExecute-tainted node are
/// deleted once their tolerations run out (the API server adds the 300 s default
/// tolerations, as the DefaultTolerationSeconds admission does).
public struct NodeLifecycleController: Controller {
    public let name = "node-lifecycle"
    /// How long a node may stay silent (kube-controller-manager's `--node-monitor-grace-period`).
    public var gracePeriod: Duration
    /// How often nodes are checked (`--node-monitor-period`).
    public var monitorPeriod: Duration

    public init(gracePeriod: Duration = .seconds(40), monitorPeriod: Duration = .seconds(5)) {
        self.gracePeriod = gracePeriod
        self.monitorPeriod = monitorPeriod
    }

    public func run(context: ControllerContext) async throws {
        let sync = NodeLifecycleSync(context: context, gracePeriod: gracePeriod)
        sync.registerHandlers()
        try await sync.nodes.waitForSync()
        try await sync.leases.waitForSync()
        try await sync.pods.waitForSync()
        await withDiscardingTaskGroup { group in
            group.addTask { await sync.nodeQueue.run(workers: 1) { name in try await sync.monitor(name) } }
            group.addTask { await sync.evictionQueue.run(workers: context.workers) { name in try await sync.evictPods(onNode: name) } }
            group.addTask {
                // The periodic pass: silence is noticed by time passing, not by events.
                while !Task.isCancelled {
                    for node in sync.nodes.store.list() { sync.nodeQueue.add(node.name) }
                    do { try await context.clock.sleep(for: monitorPeriod) } catch { return }
                }
            }
        }
    }
}

final class NodeLifecycleSync: Sendable {
    /// The last heartbeat seen for a node and when (by this controller's clock) it was first seen.
    struct Heartbeat: Sendable, Equatable {
        var leaseRenewal: MetaV1.MicroTime?
        var statusHeartbeat: MetaV1.Time?
        var observedAt: Duration
    }

    let context: ControllerContext
    let gracePeriod: Duration
    let nodes: Informer<CoreV1.Node>
    let leases: Informer<CoordinationV1.Lease>
    let pods: Informer<CoreV1.Pod>
    let nodeQueue: WorkQueue<String>
    let evictionQueue: WorkQueue<String>
    let heartbeats = Mutex<[String: Heartbeat]>([:])

    init(context: ControllerContext, gracePeriod: Duration) {
        self.context = context
        self.gracePeriod = gracePeriod
        nodes = context.informers.informer(CoreV1.Node.self)
        leases = context.informers.informer(CoordinationV1.Lease.self)
        pods = context.informers.informer(CoreV1.Pod.self)
        nodeQueue = WorkQueue(clock: context.clock)
        evictionQueue = WorkQueue(clock: context.clock)
    }

    func registerHandlers() {
        nodes.addEventHandler { [self] event in
            if case .deleted(let node) = event {
                heartbeats.withLock { _ = $0.removeValue(forKey: node.name) }
                return
            }
            nodeQueue.add(event.object.name)
            if Self.noExecuteTaints(event.object).isEmpty == false { evictionQueue.add(event.object.name) }
        }
        leases.addEventHandler { [self] event in
            guard event.object.namespace == "kube-node-lease" else { return }
            if case .deleted = event { return }
            nodeQueue.add(event.object.name)
        }
        pods.addEventHandler { [self] event in
            if case .deleted = event { return }
            // A pod landing on a tainted node is checked there.
            guard let node = event.object.spec?.nodeName, !node.isEmpty,
                  let n = nodes.store.get(namespace: nil, name: node), !Self.noExecuteTaints(n).isEmpty else { return }
            evictionQueue.add(node)
        }
    }

    static func noExecuteTaints(_ node: CoreV1.Node) -> [CoreV1.Taint] {
        (node.spec?.taints ?? []).filter { $0.effect == "NoExecute" }
    }

    var nowSeconds: Int64 { Int64(context.clock.date.timeIntervalSince1970.rounded(.down)) }

    /// Seconds since the node's last heartbeat changed, by this controller's clock.
    func silence(of node: CoreV1.Node) -> Int64 {
        let lease = leases.store.get(namespace: "kube-node-lease", name: node.name)?.spec?.renewTime
        let status = node.status?.conditions?.first { $0.type == "Ready" }?.lastHeartbeatTime
        let now = context.clock.now
        let observedAt = heartbeats.withLock { beats -> Duration in
            if let last = beats[node.name], last.leaseRenewal == lease, last.statusHeartbeat == status { return last.observedAt }
            beats[node.name] = Heartbeat(leaseRenewal: lease, statusHeartbeat: status, observedAt: now)
            return now
        }
        return (now - observedAt).components.seconds
    }

    func monitor(_ name: String) async throws {
        guard var node = nodes.store.get(namespace: nil, name: name) else { return }
        let now = MetaV1.Time(secondsSinceEpoch: nowSeconds)
        let wasReady = node.status?.conditions?.first { $0.type == "Ready" }?.status
        if let conditions = NodeLifecycleCore.conditionsAfterSilence(node: node, silentFor: silence(of: node),
                                                                     gracePeriod: gracePeriod.components.seconds, now: now) {
            node.status?.conditions = conditions
            if node.status == nil { node.status = CoreV1.NodeStatus(conditions: conditions) }
            node = try await context.client.updateStatus(node)
            if wasReady == "True" {
                context.recorder.record(node, reason: "NodeNotReady", message: "Node \(name) status is now: NodeNotReady")
            }
        }
        if let taints = NodeLifecycleCore.taintsForReadiness(node: node, now: now) {
            var updated = node
            if updated.spec == nil { updated.spec = CoreV1.NodeSpec() }
            updated.spec?.taints = taints.isEmpty ? nil : taints
            node = try await context.client.update(updated)
        }
        if !Self.noExecuteTaints(node).isEmpty { evictionQueue.add(name) }
    }

    /// Deletes the pods on the node whose tolerations ran out; looks again when the next one will.
    func evictPods(onNode name: String) async throws {
        guard let node = nodes.store.get(namespace: nil, name: name) else { return }
        let taints = Self.noExecuteTaints(node)
        guard !taints.isEmpty else { return }
        let now = nowSeconds
        var next: Int64?
        for pod in pods.store.byIndex(IndexName.nodeName, name) where pod.isActive {
            guard case .at(let at) = NodeLifecycleCore.eviction(of: pod, taints: taints, now: now) else { continue }
            if at > now {
                next = min(next ?? at, at)
                continue
            }
            context.recorder.record(pod, reason: "TaintManagerEviction", message: "Marking for deletion Pod \(pod.namespace ?? "")/\(pod.name)")
            do {
                try await context.client.delete(CoreV1.Pod.self, name: pod.name, namespace: pod.namespace)
            } catch where APIErrors.isNotFound(error) {}
        }
        if let next { evictionQueue.add(name, after: .seconds(next - now)) }
    }
}
