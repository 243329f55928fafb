import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import CapstanControllerRuntime
import Foundation
import Logging

/// The ReplicaSet controller: keeps `spec.replicas` active pods for every ReplicaSet (creating
/// from the template, deleting the least valuable first), adopts matching orphans and releases
/// pods that stopped matching, and reports replicas, fullyLabeledReplicas, readyReplicas,
/// availableReplicas (with minReadySeconds), observedGeneration and the ReplicaFailure condition.
public struct ReplicaSetController: Controller {
    public let name = "replicaset"

    public init() {}

    public func run(context: ControllerContext) async throws {
        let sync = ReplicaSetSync(context: context)
        sync.registerHandlers()
        try await sync.replicaSets.waitForSync()
        try await sync.pods.waitForSync()
        await sync.queue.run(workers: context.workers) { key in try await sync.sync(key) }
    }
}

/// The shell of the ReplicaSet controller: informer handlers feed the queue; `sync` reads the
/// caches, asks ``ReplicaSetCore`` and writes.
final class ReplicaSetSync: Sendable {
    let context: ControllerContext
    let replicaSets: Informer<AppsV1.ReplicaSet>
    let pods: Informer<CoreV1.Pod>
    let queue: WorkQueue<ObjectKey>
    let expectations: Expectations
    /// Status writes not yet seen by the informer.
    let ownWrites = OwnWrites()

    init(context: ControllerContext) {
        self.context = context
        replicaSets = context.informers.informer(AppsV1.ReplicaSet.self)
        pods = context.informers.informer(CoreV1.Pod.self)
        queue = WorkQueue(clock: context.clock)
        expectations = Expectations(clock: context.clock)
    }

    func registerHandlers() {
        replicaSets.addEventHandler { [self] event in
            if case .deleted(let rs) = event {
                expectations.delete(rs.key.description)
                ownWrites.forget(rs.key.description)
            }
            queue.add(event.object.key)
        }
        pods.addEventHandler { [self] event in
            switch event {
            case .added(let pod):
                if pod.isTerminating {
                    enqueueOwner(of: pod, observed: { self.expectations.deletionObserved($0) })
                } else if !enqueueOwner(of: pod, observed: { self.expectations.creationObserved($0) }) {
                    enqueueMatching(pod)
                }
            case .updated(let old, let new):
                if new.isTerminating && !old.isTerminating {
                    enqueueOwner(of: new, observed: { self.expectations.deletionObserved($0) })
                    return
                }
                let oldRef = old.objectMeta.controllerRef, newRef = new.objectMeta.controllerRef
                if oldRef?.uid != newRef?.uid, oldRef != nil { enqueueOwner(of: old, observed: nil) }
                if newRef != nil {
                    enqueueOwner(of: new, observed: nil)
                    if !old.isReady && new.isReady, let rs = owner(of: new), let min = rs.spec?.minReadySeconds, min > 0 {
                        queue.add(rs.key, after: .seconds(Int64(min)) + .milliseconds(100))
                    }
                } else if old.objectMeta.labels != new.objectMeta.labels || oldRef != nil {
                    enqueueMatching(new)
                }
            case .deleted(let pod):
                enqueueOwner(of: pod, observed: pod.isTerminating ? nil : { self.expectations.deletionObserved($0) })
            }
        }
    }

    /// The ReplicaSet controlling `pod`, from the cache.
    func owner(of pod: CoreV1.Pod) -> AppsV1.ReplicaSet? {
        guard let ref = pod.objectMeta.controllerRef, ref.kind == "ReplicaSet",
              let rs = replicaSets.store.get(namespace: pod.namespace, name: ref.name), rs.objectMeta.uid == ref.uid else { return nil }
        return rs
    }

    @discardableResult
    func enqueueOwner(of pod: CoreV1.Pod, observed: ((String) -> Void)?) -> Bool {
        guard pod.objectMeta.controllerRef != nil else { return false }
        guard let rs = owner(of: pod) else { return true }
        observed?(rs.key.description)
        queue.add(rs.key)
        return true
    }

    /// An orphan: every ReplicaSet whose selector matches it may adopt it.
    func enqueueMatching(_ pod: CoreV1.Pod) {
        let labels = pod.objectMeta.labels ?? [:]
        for rs in replicaSets.store.list(namespace: pod.namespace ?? "") {
            if let selector = try? LabelSelector(rs.spec?.selector), !selector.isEmpty, selector.matches(labels) { queue.add(rs.key) }
        }
    }

    func sync(_ key: ObjectKey) async throws {
        guard let rs = replicaSets.store.get(key) else {
            expectations.delete(key.description)
            return
        }
        // Our last status write has not reached the cache yet; its event brings us back.
        if ownWrites.isStale(key.description, resourceVersion: rs.objectMeta.resourceVersion) { return }
        let uid = rs.objectMeta.uid ?? ""
        let deleting = rs.objectMeta.deletionTimestamp != nil
        let selector: LabelSelector
        do {
            selector = try LabelSelector(rs.spec?.selector)
        } catch {
            context.recorder.record(rs, type: .warning, reason: "SelectorParsingFailed", message: "\(error)")
            return
        }
        var claimed: [CoreV1.Pod] = []
        // Candidates: the pods it controls and the orphans of its namespace (both from the controller index).
        let candidates = pods.store.byIndex(IndexName.controllerUID, uid)
            + pods.store.byIndex(IndexName.controllerUID, "").filter { $0.objectMeta.namespace == rs.objectMeta.namespace }
        for pod in candidates where pod.isActive || pod.objectMeta.controllerRef?.uid == uid {
            switch ReplicaSetCore.claim(pod, ownerUID: uid, selector: selector, ownerDeleting: deleting) {
            case .owned: if pod.isActive { claimed.append(pod) }
            case .adopt:
                if let adopted = try await setControllerRef(of: pod, to: rs.asControllerRef) { claimed.append(adopted) }
            case .release: _ = try await setControllerRef(of: pod, to: nil, releasing: uid)
            case .ignore: break
            }
        }
        var failure: (reason: String, message: String)?
        var manageError: (any Error)?
        if expectations.satisfied(key.description) && !deleting {
            let replicas = Int(rs.spec?.replicas ?? 1)
            let related = relatedPods(of: rs, claimed: claimed)
            do {
                try await manage(rs, action: ReplicaSetCore.scale(replicas: replicas, pods: claimed, relatedPods: related))
            } catch let error as ManageError {
                failure = (error.reason, error.message)
                manageError = error
            }
        }
        let now = context.clock.date
        let status = ReplicaSetCore.status(of: rs, pods: claimed, now: now, failure: failure)
        if status != rs.status {
            var updated = rs
            updated.status = status
            let written = try await context.client.updateStatus(updated)
            ownWrites.wrote(key.description, replacing: rs.objectMeta.resourceVersion, with: written.objectMeta.resourceVersion)
        }
        if let wait = ReplicaSetCore.nextAvailability(pods: claimed, minReadySeconds: rs.spec?.minReadySeconds ?? 0, now: now) {
            queue.add(key, after: .milliseconds(Int64(wait * 1000) + 100))
        }
        if let manageError { throw manageError }
    }

    /// Pods of the other ReplicaSets with the same controller (a Deployment's), for spreading deletions.
    func relatedPods(of rs: AppsV1.ReplicaSet, claimed: [CoreV1.Pod]) -> [CoreV1.Pod] {
        guard let ownerUID = rs.objectMeta.controllerRef?.uid else { return claimed }
        var related = claimed
        for sibling in replicaSets.store.byIndex(IndexName.controllerUID, ownerUID) where sibling.objectMeta.uid != rs.objectMeta.uid {
            related += pods.store.byIndex(IndexName.controllerUID, sibling.objectMeta.uid ?? "").filter(\.isActive)
        }
        return related
    }

    struct ManageError: Error, CustomStringConvertible {
        var reason: String
        var message: String
        var description: String { message }
    }

    func manage(_ rs: AppsV1.ReplicaSet, action: ReplicaSetCore.ScaleAction) async throws {
        let key = rs.key.description
        switch action {
        case .none:
            return
        case .create(let count):
            expectations.expect(key, adds: count)
            let template = CoreV1.Pod(template: rs.spec?.template, namespace: rs.namespace, generateName: rs.name + "-",
                                      controller: rs.asControllerRef)
            // Slow start: batches of 1, 2, 4, ...; a failing batch stops the rest.
            var created = 0, batch = 1
            while created < count {
                let size = min(batch, count - created)
                let failures = await withTaskGroup(of: String?.self) { group in
                    for _ in 0..<size {
                        group.addTask {
                            do {
                                let pod = try await self.context.client.create(template)
                                self.context.recorder.record(rs, reason: "SuccessfulCreate", message: "Created pod: \(pod.name)")
                                return nil
                            } catch {
                                self.expectations.creationObserved(key)
                                self.context.recorder.record(rs, type: .warning, reason: "FailedCreate", message: "Error creating: \(error)")
                                return "\(error)"
                            }
                        }
                    }
                    var failures: [String] = []
                    for await failure in group { if let failure { failures.append(failure) } }
                    return failures
                }
                created += size
                if let first = failures.first {
                    for _ in 0..<(count - created) { expectations.creationObserved(key) }
                    throw ManageError(reason: "FailedCreate", message: first)
                }
                batch *= 2
            }
        case .delete(let names):
            expectations.expect(key, deletes: names.count)
            let failures = await withTaskGroup(of: String?.self) { group in
                for name in names {
                    group.addTask {
                        do {
                            try await self.context.client.delete(CoreV1.Pod.self, name: name, namespace: rs.namespace)
                            self.context.recorder.record(rs, reason: "SuccessfulDelete", message: "Deleted pod: \(name)")
                            return nil
                        } catch {
                            self.expectations.deletionObserved(key)
                            if APIErrors.isNotFound(error) { return nil }
                            self.context.recorder.record(rs, type: .warning, reason: "FailedDelete", message: "Error deleting: \(error)")
                            return "\(error)"
                        }
                    }
                }
                var failures: [String] = []
                for await failure in group { if let failure { failures.append(failure) } }
                return failures
            }
            if let first = failures.first { throw ManageError(reason: "FailedDelete", message: first) }
        }
    }

    /// Adopts (`ref`) or releases (`releasing` uid) the pod with a conditional update; returns the
    /// written pod, nil when the pod is gone.
    func setControllerRef(of pod: CoreV1.Pod, to ref: MetaV1.OwnerReference?, releasing: String? = nil) async throws -> CoreV1.Pod? {
        var updated = pod
        var refs = pod.objectMeta.ownerReferences ?? []
        if let releasing { refs.removeAll { $0.uid == releasing } }
        if let ref { refs.append(ref) }
        updated.objectMeta.ownerReferences = refs.isEmpty ? nil : refs
        do {
            return try await context.client.update(updated)
        } catch where APIErrors.isNotFound(error) {
            return nil
        }
    }
}
