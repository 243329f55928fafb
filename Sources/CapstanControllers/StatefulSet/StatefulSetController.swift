import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import CapstanControllerRuntime
import Foundation

/// The StatefulSet controller: pods with stable names `<set>-<ordinal>`, hostnames and claims
/// (`volumeClaimTemplates`, with the retention policy as owner references), created and
/// deleted in order (OrderedReady) or all at once (Parallel) as ``StatefulSetCore`` decides,
/// rolling updates with a partition (or OnDelete) over ControllerRevisions, adoption and
/// release of pods by selector, and the status Kubernetes reports.
public struct StatefulSetController: Controller {
    public let name = "statefulset"

    public init() {}

    public func run(context: ControllerContext) async throws {
        let sync = StatefulSetSync(context: context)
        sync.registerHandlers()
        try await sync.sets.waitForSync()
        try await sync.pods.waitForSync()
        try await sync.revisions.waitForSync()
        try await sync.claims.waitForSync()
        await sync.queue.run(workers: context.workers) { key in try await sync.sync(key) }
    }
}

/// The shell of the StatefulSet controller: informer handlers feed the queue; `sync` reads the
/// caches, asks ``StatefulSetCore`` and writes.
final class StatefulSetSync: Sendable {
    let context: ControllerContext
    let sets: Informer<AppsV1.StatefulSet>
    let pods: Informer<CoreV1.Pod>
    let revisions: Informer<AppsV1.ControllerRevision>
    let claims: Informer<CoreV1.PersistentVolumeClaim>
    let queue: WorkQueue<ObjectKey>
    let expectations: Expectations
    let history: ControllerHistory

    init(context: ControllerContext) {
        self.context = context
        sets = context.informers.informer(AppsV1.StatefulSet.self)
        pods = context.informers.informer(CoreV1.Pod.self)
        revisions = context.informers.informer(AppsV1.ControllerRevision.self)
        claims = context.informers.informer(CoreV1.PersistentVolumeClaim.self)
        queue = WorkQueue(clock: context.clock)
        expectations = Expectations(clock: context.clock)
        history = ControllerHistory(client: context.client)
    }

    func registerHandlers() {
        sets.addEventHandler { [self] event in
            if case .deleted(let set) = event { expectations.delete(set.key.description) }
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
                } else if old.objectMeta.labels != new.objectMeta.labels || oldRef != nil {
                    enqueueMatching(new)
                }
            case .deleted(let pod):
                enqueueOwner(of: pod, observed: pod.isTerminating ? nil : { self.expectations.deletionObserved($0) })
            }
        }
        revisions.addEventHandler { [self] event in
            guard let ref = event.object.objectMeta.controllerRef, ref.kind == "StatefulSet",
                  let set = sets.store.get(namespace: event.object.namespace, name: ref.name), set.objectMeta.uid == ref.uid else { return }
            queue.add(set.key)
        }
    }

    /// The StatefulSet controlling `pod`, from the cache.
    func owner(of pod: CoreV1.Pod) -> AppsV1.StatefulSet? {
        guard let ref = pod.objectMeta.controllerRef, ref.kind == "StatefulSet",
              let set = sets.store.get(namespace: pod.namespace, name: ref.name), set.objectMeta.uid == ref.uid else { return nil }
        return set
    }

    @discardableResult
    func enqueueOwner(of pod: CoreV1.Pod, observed: ((String) -> Void)?) -> Bool {
        guard pod.objectMeta.controllerRef != nil else { return false }
        guard let set = owner(of: pod) else { return true }
        observed?(set.key.description)
        queue.add(set.key)
        return true
    }

    /// An orphan: the set it is named after may adopt it.
    func enqueueMatching(_ pod: CoreV1.Pod) {
        let labels = pod.objectMeta.labels ?? [:]
        for set in sets.store.list(namespace: pod.namespace ?? "")
        where StatefulSetCore.ordinal(of: pod.name, setName: set.name) != nil {
            if let selector = try? LabelSelector(set.spec?.selector), !selector.isEmpty, selector.matches(labels) { queue.add(set.key) }
        }
    }

    func sync(_ key: ObjectKey) async throws {
        guard let set = sets.store.get(key), let spec = set.spec else {
            expectations.delete(key.description)
            return
        }
        let selector: LabelSelector
        do {
            selector = try LabelSelector(spec.selector)
        } catch {
            context.recorder.record(set, type: .warning, reason: "SelectorParsingFailed", message: "\(error)")
            return
        }
        guard !selector.isEmpty else {
            context.recorder.record(set, type: .warning, reason: "SelectingAll", message: "This statefulset is selecting all pods. A non-empty selector is required.")
            return
        }
        let owned = try await claimPods(set, selector: selector)
        let setRevisions = try await claimRevisions(set, selector: selector)
        let update: AppsV1.ControllerRevision, collisionCount: Int32?
        if set.objectMeta.deletionTimestamp == nil {
            (update, collisionCount) = try await history.ensureRevision(owner: set.objectMeta, ownerRef: set.asControllerRef, template: spec.template,
                                                                        existing: setRevisions, collisionCount: set.status?.collisionCount)
        } else {
            // A set being deleted gets no new revisions; its status names the one it would have.
            collisionCount = set.status?.collisionCount
            let proposed = ControllerHistoryCore.makeRevision(owner: set.objectMeta, ownerRef: set.asControllerRef, template: spec.template,
                                                              revision: ControllerHistoryCore.nextRevision(setRevisions), collisionCount: collisionCount)
            switch ControllerHistoryCore.resolve(setRevisions, proposed: proposed) {
            case .current(let revision), .renumber(let revision, _), .create(let revision): update = revision
            }
        }
        let updateName = update.metadata?.name ?? ""
        let current = set.status?.currentRevision.flatMap { name in
            name == updateName ? update : setRevisions.first { $0.metadata?.name == name }
        } ?? update
        let currentName = current.metadata?.name ?? ""

        var firstError: (any Error)?
        if set.objectMeta.deletionTimestamp == nil {
            do {
                try await syncClaimOwners(set, pods: owned)
            } catch {
                // A pod must not go before its claims carry the retention policy's owners.
                firstError = error
            }
            if firstError == nil && expectations.satisfied(key.description) {
                let actions = StatefulSetCore.plan(set, pods: owned, currentRevision: currentName, updateRevision: updateName, now: context.clock.date)
                do {
                    try await perform(actions, set: set, current: current, update: update)
                } catch {
                    firstError = firstError ?? error
                }
            }
        }

        let now = context.clock.date
        let status = StatefulSetCore.status(set, pods: owned, currentRevision: currentName, updateRevision: updateName,
                                            collisionCount: collisionCount, now: now)
        if status != set.status {
            var updated = set
            updated.status = status
            _ = try await context.client.updateStatus(updated)
        }
        var live: Set<String> = [currentName, updateName, status.currentRevision ?? ""]
        for pod in owned { if let revision = pod.objectMeta.labels?[StatefulSetCore.revisionLabel] { live.insert(revision) } }
        guard set.objectMeta.deletionTimestamp == nil else { return }
        try await history.truncate(setRevisions.filter { $0.metadata?.name != updateName } + [update], live: live,
                                   limit: spec.revisionHistoryLimit, namespace: set.namespace)
        if let wait = ReplicaSetCore.nextAvailability(pods: owned, minReadySeconds: spec.minReadySeconds ?? 0, now: now) {
            queue.add(key, after: .milliseconds(Int64(wait * 1000) + 100))
        }
        if let firstError { throw firstError }
    }

    // MARK: Ownership

    /// The set's pods: those it controls and orphans named after it that its selector matches
    /// (adopted); controlled pods that stopped matching are released.
    func claimPods(_ set: AppsV1.StatefulSet, selector: LabelSelector) async throws -> [CoreV1.Pod] {
        let uid = set.objectMeta.uid ?? ""
        let deleting = set.objectMeta.deletionTimestamp != nil
        let candidates = pods.store.byIndex(IndexName.controllerUID, uid)
            + pods.store.byIndex(IndexName.controllerUID, "").filter { $0.objectMeta.namespace == set.objectMeta.namespace }
        var claimed: [CoreV1.Pod] = []
        for pod in candidates where StatefulSetCore.ordinal(of: pod.name, setName: set.name) != nil {
            switch ReplicaSetCore.claim(pod, ownerUID: uid, selector: selector, ownerDeleting: deleting) {
            case .owned: claimed.append(pod)
            case .adopt:
                if let adopted = try await setControllerRef(of: pod, to: set.asControllerRef) { claimed.append(adopted) }
            case .release: _ = try await setControllerRef(of: pod, to: nil, releasing: uid)
            case .ignore: break
            }
        }
        return claimed
    }

    /// The set's revisions: those it controls and orphans its selector matches (adopted).
    func claimRevisions(_ set: AppsV1.StatefulSet, selector: LabelSelector) async throws -> [AppsV1.ControllerRevision] {
        let uid = set.objectMeta.uid ?? ""
        var owned = revisions.store.byIndex(IndexName.controllerUID, uid)
        guard set.objectMeta.deletionTimestamp == nil else { return owned }
        for orphan in revisions.store.byIndex(IndexName.controllerUID, "")
        where orphan.objectMeta.namespace == set.objectMeta.namespace && orphan.objectMeta.deletionTimestamp == nil
            && selector.matches(orphan.objectMeta.labels ?? [:]) {
            var adopted = orphan
            adopted.metadata?.ownerReferences = (orphan.metadata?.ownerReferences ?? []) + [set.asControllerRef]
            do {
                owned.append(try await context.client.update(adopted))
            } catch where APIErrors.isNotFound(error) {}
        }
        return owned
    }

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

    // MARK: Claims

    /// Creates the missing claims of pods that exist, and sets the claims' owner references
    /// to the retention policy (the pod's claims once it is beyond the replicas).
    func syncClaimOwners(_ set: AppsV1.StatefulSet, pods: [CoreV1.Pod]) async throws {
        guard set.spec?.volumeClaimTemplates?.isEmpty == false else { return }
        let start = StatefulSetCore.startOrdinal(set)
        let range = start..<(start + StatefulSetCore.replicas(set))
        for pod in pods where !pod.isTerminating {
            guard let ordinal = StatefulSetCore.ordinal(of: pod.name, setName: set.name) else { continue }
            for claim in StatefulSetCore.claims(set, ordinal: ordinal) {
                guard let existing = claims.store.get(namespace: set.namespace, name: claim.metadata?.name ?? "") else {
                    if pod.status?.phase == "Pending" { try await createClaim(claim, set: set, podName: pod.name) }
                    continue
                }
                guard existing.objectMeta.deletionTimestamp == nil else { continue }
                let refs = StatefulSetCore.claimOwnerReferences(existing, set: set, pod: pod, inRange: range.contains(ordinal))
                if refs != (existing.metadata?.ownerReferences ?? []) {
                    var updated = existing
                    updated.metadata?.ownerReferences = refs.isEmpty ? nil : refs
                    do {
                        _ = try await context.client.update(updated)
                    } catch where APIErrors.isNotFound(error) {}
                }
            }
        }
    }

    /// Creates a claim (owned by the set when `whenDeleted` is Delete); one that exists already is fine.
    func createClaim(_ claim: CoreV1.PersistentVolumeClaim, set: AppsV1.StatefulSet, podName: String) async throws {
        var claim = claim
        if set.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted == "Delete" { claim.metadata?.ownerReferences = [set.asControllerRef] }
        let name = claim.metadata?.name ?? ""
        do {
            _ = try await context.client.create(claim)
            context.recorder.record(set, reason: "SuccessfulCreate", message: "create Claim \(name) Pod \(podName) in StatefulSet \(set.name) success")
        } catch where APIErrors.isAlreadyExists(error) {
        } catch {
            context.recorder.record(set, type: .warning, reason: "FailedCreate",
                                    message: "create Claim \(name) for Pod \(podName) in StatefulSet \(set.name) failed error: \(error)")
            throw error
        }
    }

    /// Whether every claim of the pod of `ordinal` exists (creating the missing ones); false
    /// while one is being deleted (the pod must wait for it to go).
    func ensureClaims(_ set: AppsV1.StatefulSet, ordinal: Int) async throws -> Bool {
        let podName = StatefulSetCore.podName(set, ordinal: ordinal)
        for claim in StatefulSetCore.claims(set, ordinal: ordinal) {
            if let existing = claims.store.get(namespace: set.namespace, name: claim.metadata?.name ?? "") {
                if existing.objectMeta.deletionTimestamp != nil { return false }
                continue
            }
            try await createClaim(claim, set: set, podName: podName)
        }
        return true
    }

    // MARK: Pods

    func perform(_ actions: [StatefulSetCore.Action], set: AppsV1.StatefulSet, current: AppsV1.ControllerRevision,
                 update: AppsV1.ControllerRevision) async throws {
        let key = set.key.description
        var adds = 0, deletes = 0
        for action in actions {
            switch action {
            case .create: adds += 1
            case .delete: deletes += 1
            case .relabel: break
            }
        }
        if adds + deletes > 0 { expectations.expect(key, adds: adds, deletes: deletes) }
        let updateTemplate = set.spec?.template ?? CoreV1.PodTemplateSpec()
        let currentTemplate = ControllerHistoryCore.template(of: current) ?? updateTemplate
        var firstError: (any Error)?
        for action in actions {
            switch action {
            case .create(let ordinal, let useCurrent):
                let name = StatefulSetCore.podName(set, ordinal: ordinal)
                do {
                    guard try await ensureClaims(set, ordinal: ordinal) else {
                        expectations.creationObserved(key)
                        continue
                    }
                    let pod = StatefulSetCore.makePod(set, template: useCurrent ? currentTemplate : updateTemplate,
                                                      revision: (useCurrent ? current : update).metadata?.name ?? "", ordinal: ordinal)
                    _ = try await context.client.create(pod)
                    context.recorder.record(set, reason: "SuccessfulCreate", message: "create Pod \(name) in StatefulSet \(set.name) successful")
                } catch {
                    expectations.creationObserved(key)
                    if APIErrors.isAlreadyExists(error) { continue }
                    context.recorder.record(set, type: .warning, reason: "FailedCreate",
                                            message: "create Pod \(name) in StatefulSet \(set.name) failed error: \(error)")
                    firstError = firstError ?? error
                }
            case .delete(let name, let uid, let reason):
                if reason == .finished {
                    context.recorder.record(set, type: .warning, reason: "RecreatingFailedPod",
                                            message: "StatefulSet \(set.namespace ?? "")/\(set.name) is recreating failed Pod \(name)")
                }
                do {
                    try await context.client.delete(CoreV1.Pod.self, name: name, namespace: set.namespace, options: DeleteOptions(preconditionUID: uid))
                    context.recorder.record(set, reason: "SuccessfulDelete", message: "delete Pod \(name) in StatefulSet \(set.name) successful")
                } catch {
                    expectations.deletionObserved(key)
                    if APIErrors.isNotFound(error) || APIErrors.isConflict(error) { continue }
                    context.recorder.record(set, type: .warning, reason: "FailedDelete",
                                            message: "delete Pod \(name) in StatefulSet \(set.name) failed error: \(error)")
                    firstError = firstError ?? error
                }
            case .relabel(let name):
                guard var pod = pods.store.get(namespace: set.namespace, name: name),
                      let ordinal = StatefulSetCore.ordinal(of: name, setName: set.name) else { continue }
                let labels = (pod.metadata?.labels ?? [:]).merging(StatefulSetCore.identityLabels(set, ordinal: ordinal)) { _, identity in identity }
                pod.metadata?.labels = labels
                do {
                    _ = try await context.client.update(pod)
                    context.recorder.record(set, reason: "SuccessfulUpdate", message: "update Pod \(name) in StatefulSet \(set.name) successful")
                } catch where APIErrors.isNotFound(error) {
                } catch {
                    firstError = firstError ?? error
                }
            }
        }
        if let firstError { throw firstError }
    }
}
