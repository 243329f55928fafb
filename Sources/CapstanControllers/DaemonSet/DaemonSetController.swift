import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import Foundation

/// The DaemonSet controller: one pod per eligible node as ``DaemonSetCore`` decides (node
/// selector, node affinity, taints and tolerations), rolling updates with maxUnavailable or
/// maxSurge (OnDelete leaves old pods alone) over ControllerRevisions (so `kubectl rollout
/// history|undo daemonset` work), and the status numbers Kubernetes reports.
public struct DaemonSetController: Controller {
    public let name = "daemonset"

    public init() {}

    public func run(context: ControllerContext) async throws {
        let daemonSets = context.informers.informer(AppsV1.DaemonSet.self)
        let nodes = context.informers.informer(CoreV1.Node.self)
        let pods = context.informers.informer(CoreV1.Pod.self)
        let revisions = context.informers.informer(AppsV1.ControllerRevision.self)
        let history = ControllerHistory(client: context.client)
        let queue = WorkQueue<ObjectKey>(clock: context.clock)
        let expectations = Expectations(clock: context.clock)
        daemonSets.addEventHandler { event in
            if case .deleted(let ds) = event { expectations.delete(ds.key.description) }
            queue.add(event.object.key)
        }
        nodes.addEventHandler { event in
            if case .updated(let old, let new) = event, old.objectMeta.labels == new.objectMeta.labels, old.spec?.taints == new.spec?.taints,
               old.isReadyNode == new.isReadyNode { return }
            for ds in daemonSets.store.list() { queue.add(ds.key) }
        }
        pods.addEventHandler { event in
            let pod = event.object
            guard let ref = pod.objectMeta.controllerRef, ref.kind == "DaemonSet",
                  let ds = daemonSets.store.get(namespace: pod.namespace, name: ref.name), ds.objectMeta.uid == ref.uid else { return }
            let key = ds.key.description
            switch event {
            case .added(let p): if p.isTerminating { expectations.deletionObserved(key) } else { expectations.creationObserved(key) }
            case .updated(let old, let new): if new.isTerminating && !old.isTerminating { expectations.deletionObserved(key) }
            case .deleted(let p): if !p.isTerminating { expectations.deletionObserved(key) }
            }
            queue.add(ds.key)
        }
        try await daemonSets.waitForSync()
        try await nodes.waitForSync()
        try await pods.waitForSync()
        try await revisions.waitForSync()
        await queue.run(workers: context.workers) { key in
            guard let ds = daemonSets.store.get(key), ds.objectMeta.deletionTimestamp == nil else { return }
            guard expectations.satisfied(key.description) else { return }
            let now = Int64(context.clock.date.timeIntervalSince1970.rounded(.down))
            let owned = pods.store.byIndex(IndexName.controllerUID, ds.objectMeta.uid ?? "")
            let dsRevisions = revisions.store.byIndex(IndexName.controllerUID, ds.objectMeta.uid ?? "")
            let (current, collisionCount) = try await history.ensureRevision(
                owner: ds.objectMeta, ownerRef: ds.asControllerRef, template: ds.spec?.template ?? CoreV1.PodTemplateSpec(),
                existing: dsRevisions, collisionCount: ds.status?.collisionCount)
            let hash = current.metadata?.labels?[ControllerHistoryCore.hashLabel] ?? ""
            var plan = DaemonSetCore.reconcile(ds, nodes: nodes.store.list(), pods: owned, now: now, hash: hash)
            plan.status.collisionCount = collisionCount
            expectations.expect(key.description, adds: plan.create.count, deletes: plan.delete.count)
            var firstError: (any Error)?
            for name in plan.delete {
                do {
                    try await context.client.delete(CoreV1.Pod.self, name: name, namespace: key.namespace)
                    context.recorder.record(ds, reason: "SuccessfulDelete", message: "Deleted pod: \(name)")
                } catch {
                    expectations.deletionObserved(key.description)
                    if !APIErrors.isNotFound(error) { firstError = firstError ?? error }
                }
            }
            for node in plan.create {
                do {
                    let pod = try await context.client.create(DaemonSetCore.makePod(ds, node: node, hash: hash))
                    context.recorder.record(ds, reason: "SuccessfulCreate", message: "Created pod: \(pod.name)")
                } catch {
                    expectations.creationObserved(key.description)
                    context.recorder.record(ds, type: .warning, reason: "FailedCreate", message: "Error creating: \(error)")
                    firstError = firstError ?? error
                }
            }
            if plan.status != ds.status {
                var updated = ds
                updated.status = plan.status
                _ = try await context.client.updateStatus(updated)
            }
            // History: the current revision and those pods still run are kept.
            let podHashes = Set(owned.compactMap { $0.objectMeta.labels?[ControllerHistoryCore.hashLabel] })
            var live: Set<String> = [current.metadata?.name ?? ""]
            for revision in dsRevisions where podHashes.contains(revision.metadata?.labels?[ControllerHistoryCore.hashLabel] ?? "") {
                live.insert(revision.metadata?.name ?? "")
            }
            try await history.truncate(dsRevisions.filter { $0.metadata?.name != current.metadata?.name } + [current], live: live,
                                       limit: ds.spec?.revisionHistoryLimit, namespace: ds.namespace)
            if let minReady = ds.spec?.minReadySeconds, minReady > 0, plan.status.numberAvailable != plan.status.numberReady {
                queue.add(key, after: .seconds(Int64(minReady)))
            }
            if let firstError { throw firstError }
        }
    }
}

extension CoreV1.Node {
    fileprivate var isReadyNode: Bool { status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" } ?? false }
}
