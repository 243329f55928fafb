import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import CapstanControllerRuntime
import Foundation
import Logging

/// The Deployment controller: one ReplicaSet per pod template (named and labelled with its
/// `pod-template-hash`), rolled by RollingUpdate (maxSurge/maxUnavailable) or Recreate, with
/// revision annotations (a rollback makes an old ReplicaSet current again with a new revision),
/// revisionHistoryLimit clean-up, pause/resume, proportional scaling, progressDeadlineSeconds
/// and the Available/Progressing/ReplicaFailure conditions, and observedGeneration.
public struct DeploymentController: Controller {
    public let name = "deployment"

    public init() {}

    public func run(context: ControllerContext) async throws {
        let sync = DeploymentSync(context: context)
        sync.registerHandlers()
        try await sync.deployments.waitForSync()
        try await sync.replicaSets.waitForSync()
        try await sync.pods.waitForSync()
        await sync.queue.run(workers: context.workers) { key in try await sync.sync(key) }
    }
}

final class DeploymentSync: Sendable {
    let context: ControllerContext
    let deployments: Informer<AppsV1.Deployment>
    let replicaSets: Informer<AppsV1.ReplicaSet>
    let pods: Informer<CoreV1.Pod>
    let queue: WorkQueue<ObjectKey>
    /// Deployment and ReplicaSet writes of this controller not yet seen by the informers.
    let ownWrites = OwnWrites()

    init(context: ControllerContext) {
        self.context = context
        deployments = context.informers.informer(AppsV1.Deployment.self)
        replicaSets = context.informers.informer(AppsV1.ReplicaSet.self)
        pods = context.informers.informer(CoreV1.Pod.self)
        queue = WorkQueue(clock: context.clock)
    }

    func registerHandlers() {
        deployments.addEventHandler { [self] event in
            if case .deleted(let d) = event { ownWrites.forget(d.key.description) }
            queue.add(event.object.key)
        }
        replicaSets.addEventHandler { [self] event in
            if case .deleted(let rs) = event { ownWrites.forget(rs.key.description) }
            if case .updated(let old, let new) = event, old.objectMeta.controllerRef?.uid != new.objectMeta.controllerRef?.uid {
                enqueueOwner(of: old)
            }
            if !enqueueOwner(of: event.object) {
                let labels = event.object.objectMeta.labels ?? [:]
                for d in deployments.store.list(namespace: event.object.namespace ?? "") {
                    if let s = try? LabelSelector(d.spec?.selector), !s.isEmpty, s.matches(labels) { queue.add(d.key) }
                }
            }
        }
        // Recreate waits for old pods to go.
        pods.addEventHandler { [self] event in
            guard case .deleted(let pod) = event, let ref = pod.objectMeta.controllerRef, ref.kind == "ReplicaSet",
                  let rs = replicaSets.store.get(namespace: pod.namespace, name: ref.name) else { return }
            enqueueOwner(of: rs)
        }
    }

    @discardableResult
    func enqueueOwner(of rs: AppsV1.ReplicaSet) -> Bool {
        guard let ref = rs.objectMeta.controllerRef else { return false }
        if ref.kind == "Deployment", let d = deployments.store.get(namespace: rs.namespace, name: ref.name), d.objectMeta.uid == ref.uid {
            queue.add(d.key)
        }
        return true
    }

    func sync(_ key: ObjectKey) async throws {
        guard var d = deployments.store.get(key), let spec = d.spec else { return }
        guard d.objectMeta.deletionTimestamp == nil else { return }
        // The cache has not caught up with our own last writes (to the Deployment or its
        // ReplicaSets): acting now would write from stale data; their events bring us back.
        if ownWrites.isStale(key.description, resourceVersion: d.objectMeta.resourceVersion) { return }
        for rs in replicaSets.store.byIndex(IndexName.controllerUID, d.objectMeta.uid ?? "")
        where ownWrites.isStale(rs.key.description, resourceVersion: rs.objectMeta.resourceVersion) {
            return
        }
        let selector = try LabelSelector(spec.selector)
        if selector.isEmpty {
            context.recorder.record(d, type: .warning, reason: "SelectingAll", message: "This deployment is selecting all pods. A non-empty selector is required.")
            return
        }
        let desired = Int(spec.replicas ?? 1)
        let rolling = spec.strategy?.type != "Recreate"
        let (surge, unavailable) = rolling
            ? DeploymentCore.fenceposts(maxSurge: spec.strategy?.rollingUpdate?.maxSurge, maxUnavailable: spec.strategy?.rollingUpdate?.maxUnavailable, desired: desired)
            : (0, desired)
        var owned = try await claimReplicaSets(d, selector: selector)
        let template = DeploymentCore.withoutHash(spec.template)
        var newRS = owned.filter { DeploymentCore.withoutHash($0.spec?.template) == template }
            .min { ($0.objectMeta.creationTimestamp?.secondsSinceEpoch ?? 0, $0.name) < ($1.objectMeta.creationTimestamp?.secondsSinceEpoch ?? 0, $1.name) }
        let maxOldRevision = owned.filter { $0.objectMeta.uid != newRS?.objectMeta.uid }
            .map { DeploymentCore.revision($0.objectMeta.annotations) }.max() ?? 0
        let wasPaused = d.status?.conditions?.first(where: { $0.type == "Progressing" })?.reason == "DeploymentPaused"
        var progress: DeploymentCore.Progress = spec.paused == true ? (wasPaused ? .none : .paused) : (wasPaused ? .resumed : .none)

        if spec.paused != true {
            if let existing = newRS {
                let updated = try await ensureAnnotations(existing, of: d, revision: max(DeploymentCore.revision(existing.objectMeta.annotations), maxOldRevision + 1),
                                                          desired: desired, surge: surge)
                if updated != existing { replace(&owned, updated) }
                newRS = updated
                if case .none = progress { progress = .foundNewReplicaSet(updated.name) }
            } else {
                let created = try await createReplicaSet(for: d, revision: maxOldRevision + 1, desired: desired, surge: surge)
                owned.append(created)
                newRS = created
                progress = .newReplicaSetCreated(created.name)
            }
        }

        // Scale: a change of spec.replicas outside a rollout, or a rollout step.
        let infos = owned.map(info)
        let newInfo = newRS.map(info)
        let oldInfos = infos.filter { $0.name != newRS?.name }
        let scaling = owned.contains { rs in
            (rs.spec?.replicas ?? 0) > 0 && rs.objectMeta.annotations?[DeploymentCore.desiredReplicasAnnotation].flatMap { Int($0) }.map { $0 != desired } == true
        }
        var steps: [DeploymentCore.Scale]
        if scaling || spec.paused == true {
            steps = scaling ? DeploymentCore.proportionalScale(desired: desired, surge: surge, new: newInfo, old: oldInfos) : []
        } else if rolling, let newInfo {
            steps = DeploymentCore.rollingStep(desired: desired, surge: surge, unavailable: unavailable, new: newInfo, old: oldInfos)
        } else {
            let oldUIDs = Set(owned.filter { $0.name != newRS?.name }.compactMap(\.objectMeta.uid))
            let running = oldUIDs.contains { uid in
                pods.store.byIndex(IndexName.controllerUID, uid).contains { $0.status?.phase != "Succeeded" && $0.status?.phase != "Failed" }
            }
            steps = DeploymentCore.recreateStep(desired: desired, new: newInfo, old: oldInfos, oldPodsRunning: running)
        }
        for step in steps {
            guard let rs = owned.first(where: { $0.name == step.name }) else { continue }
            let updated = try await scale(rs, to: step.to, of: d, desired: desired, surge: surge)
            replace(&owned, updated)
            if updated.name == newRS?.name { newRS = updated }
        }
        if steps.isEmpty && spec.paused != true {
            try await cleanUpHistory(d, owned: owned, newName: newRS?.name)
        }

        // Revision annotation on the Deployment, then status.
        if let newRS, spec.paused != true {
            let revision = newRS.objectMeta.annotations?[DeploymentCore.revisionAnnotation]
            if let revision, d.objectMeta.annotations?[DeploymentCore.revisionAnnotation] != revision {
                var annotated = d
                annotated.objectMeta.annotations = (d.objectMeta.annotations ?? [:]).merging([DeploymentCore.revisionAnnotation: revision]) { $1 }
                let written = try await context.client.update(annotated)
                ownWrites.wrote(key.description, replacing: d.objectMeta.resourceVersion, with: written.objectMeta.resourceVersion)
                d = written
            }
        }
        let now = context.clock.date
        var status = DeploymentCore.status(desired: desired, unavailable: unavailable, generation: d.objectMeta.generation, all: owned,
                                           new: newRS, previous: d.status, collisionCount: nil, now: now)
        let recheck = DeploymentCore.setProgressing(&status, previous: d.status, desired: desired, generation: d.objectMeta.generation,
                                                    newName: newRS?.name, progress: progress,
                                                    deadlineSeconds: spec.progressDeadlineSeconds ?? DeploymentCore.defaultProgressDeadlineSeconds, now: now)
        if status != d.status {
            var updated = d
            updated.status = status
            let written = try await context.client.updateStatus(updated)
            ownWrites.wrote(key.description, replacing: d.objectMeta.resourceVersion, with: written.objectMeta.resourceVersion)
        }
        if let recheck { queue.add(key, after: .milliseconds(Int64(recheck * 1000) + 100)) }
    }

    func info(_ rs: AppsV1.ReplicaSet) -> DeploymentCore.ReplicaSetInfo {
        DeploymentCore.ReplicaSetInfo(name: rs.name, replicas: Int(rs.spec?.replicas ?? 0), available: Int(rs.status?.availableReplicas ?? 0),
                                      created: rs.objectMeta.creationTimestamp?.secondsSinceEpoch ?? 0)
    }

    func replace(_ list: inout [AppsV1.ReplicaSet], _ rs: AppsV1.ReplicaSet) {
        if let i = list.firstIndex(where: { $0.name == rs.name }) { list[i] = rs }
    }

    /// ReplicaSets controlled by the Deployment, adopting matching orphans and releasing ones that stopped matching.
    func claimReplicaSets(_ d: AppsV1.Deployment, selector: LabelSelector) async throws -> [AppsV1.ReplicaSet] {
        let uid = d.objectMeta.uid ?? ""
        var owned: [AppsV1.ReplicaSet] = []
        let candidates = replicaSets.store.byIndex(IndexName.controllerUID, uid)
            + replicaSets.store.byIndex(IndexName.controllerUID, "").filter { $0.objectMeta.namespace == d.objectMeta.namespace }
        for rs in candidates {
            let matches = selector.matches(rs.objectMeta.labels ?? [:])
            if let ref = rs.objectMeta.controllerRef {
                guard ref.uid == uid else { continue }
                if matches { owned.append(rs); continue }
                var released = rs
                released.objectMeta.ownerReferences?.removeAll { $0.uid == uid }
                _ = try await context.client.update(released)
            } else if matches, rs.objectMeta.deletionTimestamp == nil {
                var adopted = rs
                adopted.objectMeta.ownerReferences = (rs.objectMeta.ownerReferences ?? []) + [d.asControllerRef]
                owned.append(try await context.client.update(adopted))
            }
        }
        return owned
    }

    /// Annotations a ReplicaSet carries: the Deployment's own (but kubectl's last-applied), revision, desired and max replicas.
    func annotations(for d: AppsV1.Deployment, base: [String: String]?, revision: Int64, desired: Int, surge: Int) -> [String: String] {
        var a = base ?? [:]
        for (k, v) in d.objectMeta.annotations ?? [:] where k != "kubectl.kubernetes.io/last-applied-configuration" && !k.hasPrefix("deployment.kubernetes.io/") {
            a[k] = v
        }
        a[DeploymentCore.revisionAnnotation] = String(revision)
        a[DeploymentCore.desiredReplicasAnnotation] = String(desired)
        a[DeploymentCore.maxReplicasAnnotation] = String(desired + surge)
        return a
    }

    func ensureAnnotations(_ rs: AppsV1.ReplicaSet, of d: AppsV1.Deployment, revision: Int64, desired: Int, surge: Int) async throws -> AppsV1.ReplicaSet {
        var updated = rs
        // desired/max annotations change only with a scale, so an unscaled ReplicaSet keeps its old ones here.
        var a = annotations(for: d, base: rs.objectMeta.annotations, revision: revision, desired: desired, surge: surge)
        a[DeploymentCore.desiredReplicasAnnotation] = rs.objectMeta.annotations?[DeploymentCore.desiredReplicasAnnotation] ?? String(desired)
        a[DeploymentCore.maxReplicasAnnotation] = rs.objectMeta.annotations?[DeploymentCore.maxReplicasAnnotation] ?? String(desired + surge)
        updated.objectMeta.annotations = a
        if d.spec?.minReadySeconds != rs.spec?.minReadySeconds { updated.spec?.minReadySeconds = d.spec?.minReadySeconds }
        if updated == rs { return rs }
        let written = try await context.client.update(updated)
        ownWrites.wrote(rs.key.description, replacing: rs.objectMeta.resourceVersion, with: written.objectMeta.resourceVersion)
        return written
    }

    func createReplicaSet(for d: AppsV1.Deployment, revision: Int64, desired: Int, surge: Int) async throws -> AppsV1.ReplicaSet {
        guard let spec = d.spec else { throw APIError.badRequest("deployment has no spec") }
        let collision = d.status?.collisionCount
        let hash = DeploymentCore.templateHash(spec.template, collisionCount: collision)
        var template = spec.template
        var templateMeta = template.metadata ?? MetaV1.ObjectMeta()
        templateMeta.labels = (templateMeta.labels ?? [:]).merging([DeploymentCore.podTemplateHashLabel: hash]) { $1 }
        template.metadata = templateMeta
        var selector = spec.selector
        selector.matchLabels = (selector.matchLabels ?? [:]).merging([DeploymentCore.podTemplateHashLabel: hash]) { $1 }
        let rs = AppsV1.ReplicaSet(
            metadata: MetaV1.ObjectMeta(annotations: annotations(for: d, base: nil, revision: revision, desired: desired, surge: surge),
                                        labels: template.metadata?.labels, name: "\(d.name)-\(hash)", namespace: d.namespace,
                                        ownerReferences: [d.asControllerRef]),
            spec: AppsV1.ReplicaSetSpec(minReadySeconds: spec.minReadySeconds, replicas: 0, selector: selector, template: template))
        do {
            // Created at 0 replicas; the rollout step that follows scales it (and records ScalingReplicaSet).
            return try await context.client.create(rs)
        } catch where APIErrors.isAlreadyExists(error) {
            // Same name, different template: a hash collision. Count it so the next hash differs.
            let existing = try await context.client.get(AppsV1.ReplicaSet.self, name: rs.name, namespace: d.namespace)
            if existing.objectMeta.controllerRef?.uid == d.objectMeta.uid,
               DeploymentCore.withoutHash(existing.spec?.template) == DeploymentCore.withoutHash(spec.template) {
                return existing
            }
            var bumped = d
            var status = d.status ?? AppsV1.DeploymentStatus()
            status.collisionCount = (status.collisionCount ?? 0) + 1
            bumped.status = status
            _ = try await context.client.updateStatus(bumped)
            throw error
        }
    }

    func scale(_ rs: AppsV1.ReplicaSet, to replicas: Int, of d: AppsV1.Deployment, desired: Int, surge: Int) async throws -> AppsV1.ReplicaSet {
        let from = Int(rs.spec?.replicas ?? 0)
        var updated = rs
        updated.spec?.replicas = Int32(replicas)
        var a = rs.objectMeta.annotations ?? [:]
        a[DeploymentCore.desiredReplicasAnnotation] = String(desired)
        a[DeploymentCore.maxReplicasAnnotation] = String(desired + surge)
        updated.objectMeta.annotations = a
        let written = try await context.client.update(updated)
        ownWrites.wrote(rs.key.description, replacing: rs.objectMeta.resourceVersion, with: written.objectMeta.resourceVersion)
        let direction = replicas > from ? "up" : "down"
        context.recorder.record(d, reason: "ScalingReplicaSet", message: "Scaled \(direction) replica set \(rs.name) from \(from) to \(replicas)")
        return written
    }

    func cleanUpHistory(_ d: AppsV1.Deployment, owned: [AppsV1.ReplicaSet], newName: String?) async throws {
        let limit = Int(d.spec?.revisionHistoryLimit ?? 10)
        let old = owned.filter { $0.name != newName && $0.objectMeta.deletionTimestamp == nil }.map {
            (name: $0.name, revision: DeploymentCore.revision($0.objectMeta.annotations), replicas: Int($0.spec?.replicas ?? 0),
             statusReplicas: Int($0.status?.replicas ?? 0))
        }
        for name in DeploymentCore.historyToDelete(old: old, limit: limit) {
            do {
                try await context.client.delete(AppsV1.ReplicaSet.self, name: name, namespace: d.namespace)
            } catch where APIErrors.isNotFound(error) {}
        }
    }
}
