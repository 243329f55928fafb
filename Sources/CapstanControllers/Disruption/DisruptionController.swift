import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import Foundation

/// The disruption controller: keeps every PodDisruptionBudget's status (expectedPods,
/// desiredHealthy, currentHealthy, disruptionsAllowed, disruptedPods, observedGeneration and
/// the DisruptionAllowed condition) current, which the pods `eviction` subresource reads.
public struct DisruptionController: Controller {
    public let name = "disruption"

    public init() {}

    public func run(context: ControllerContext) async throws {
        let sync = DisruptionSync(context: context)
        sync.registerHandlers()
        for wait in [sync.budgets.waitForSync, sync.pods.waitForSync, sync.replicaSets.waitForSync,
                     sync.deployments.waitForSync, sync.statefulSets.waitForSync] {
            try await wait()
        }
        await sync.queue.run(workers: context.workers) { key in try await sync.sync(key) }
    }
}

final class DisruptionSync: Sendable {
    let context: ControllerContext
    let budgets: Informer<PolicyV1.PodDisruptionBudget>
    let pods: Informer<CoreV1.Pod>
    let replicaSets: Informer<AppsV1.ReplicaSet>
    let deployments: Informer<AppsV1.Deployment>
    let statefulSets: Informer<AppsV1.StatefulSet>
    let queue: WorkQueue<ObjectKey>

    init(context: ControllerContext) {
        self.context = context
        budgets = context.informers.informer(PolicyV1.PodDisruptionBudget.self)
        pods = context.informers.informer(CoreV1.Pod.self)
        replicaSets = context.informers.informer(AppsV1.ReplicaSet.self)
        deployments = context.informers.informer(AppsV1.Deployment.self)
        statefulSets = context.informers.informer(AppsV1.StatefulSet.self)
        queue = WorkQueue(clock: context.clock)
    }

    func registerHandlers() {
        budgets.addEventHandler { [self] event in
            if case .deleted = event { return }
            queue.add(event.object.key)
        }
        pods.addEventHandler { [self] event in
            switch event {
            case .added(let pod), .deleted(let pod):
                enqueueBudgets(of: pod)
            case .updated(let old, let new):
                guard old.isReady != new.isReady || old.objectMeta.labels != new.objectMeta.labels
                    || old.objectMeta.deletionTimestamp != new.objectMeta.deletionTimestamp else { return }
                enqueueBudgets(of: new)
                if old.objectMeta.labels != new.objectMeta.labels { enqueueBudgets(of: old) }
            }
        }
        // Scale changes move expectedPods of budgets counted against controllers.
        let scaled: @Sendable (String?, String) -> Void = { [self] namespace, _ in
            for budget in budgets.store.list(namespace: namespace ?? "") {
                if case .int? = budget.spec?.minAvailable { continue }
                queue.add(budget.key)
            }
        }
        replicaSets.addEventHandler { event in if case .updated(let o, let n) = event, o.spec?.replicas != n.spec?.replicas { scaled(n.namespace, n.name) } }
        deployments.addEventHandler { event in if case .updated(let o, let n) = event, o.spec?.replicas != n.spec?.replicas { scaled(n.namespace, n.name) } }
        statefulSets.addEventHandler { event in if case .updated(let o, let n) = event, o.spec?.replicas != n.spec?.replicas { scaled(n.namespace, n.name) } }
    }

    func enqueueBudgets(of pod: CoreV1.Pod) {
        for budget in budgets.store.list(namespace: pod.namespace ?? "") where DisruptionCore.selects(budget, pod) {
            queue.add(budget.key)
        }
    }

    /// The replicas of a pod's controller: a ReplicaSet's Deployment counts for the ReplicaSet.
    func scale(_ ref: MetaV1.OwnerReference, namespace: String) -> Int? {
        switch ref.kind {
        case "ReplicaSet":
            guard let rs = replicaSets.store.get(namespace: namespace, name: ref.name), rs.objectMeta.uid == ref.uid else { return nil }
            if let owner = rs.objectMeta.controllerRef, owner.kind == "Deployment",
               let deployment = deployments.store.get(namespace: namespace, name: owner.name), deployment.objectMeta.uid == owner.uid {
                return Int(deployment.spec?.replicas ?? 1)
            }
            return Int(rs.spec?.replicas ?? 1)
        case "StatefulSet":
            guard let set = statefulSets.store.get(namespace: namespace, name: ref.name), set.objectMeta.uid == ref.uid else { return nil }
            return Int(set.spec?.replicas ?? 1)
        default:
            return nil
        }
    }

    func sync(_ key: ObjectKey) async throws {
        guard let budget = budgets.store.get(key), budget.objectMeta.deletionTimestamp == nil else { return }
        let selected = pods.store.list(namespace: key.namespace).filter { DisruptionCore.selects(budget, $0) }
        let now = Int64(context.clock.date.timeIntervalSince1970.rounded(.down))
        let result = DisruptionCore.status(budget: budget, pods: selected, scale: { self.scale($0, namespace: key.namespace) }, now: now)
        if result.status != budget.status {
            var updated = budget
            updated.status = result.status
            _ = try await context.client.updateStatus(updated)
            if result.status.conditions?.last?.reason == "SyncFailed" {
                context.recorder.record(budget, type: .warning, reason: "CalculateExpectedPodCountFailed",
                                        message: "Failed to calculate the number of expected pods: \(result.status.conditions?.last?.message ?? "")")
            }
        }
        if let at = result.recheckAt { queue.add(key, after: .seconds(max(1, at - now))) }
    }
}
