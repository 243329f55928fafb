import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import CapstanControllerRuntime
import Foundation

/// The Job controller: runs a Job's pods to completion as ``JobCore`` decides (completions,
/// parallelism, Indexed mode, back-off, deadlines, pod failure and success policies), tracking
/// finished pods with the `batch.kubernetes.io/job-tracking` finalizer, and records the
/// events Kubernetes records (SuccessfulCreate, SuccessfulDelete, Completed, BackoffLimitExceeded, ...).
public struct JobController: Controller {
    public let name = "job"

    public init() {}

    public func run(context: ControllerContext) async throws {
        let sync = JobSync(context: context)
        sync.registerHandlers()
        try await sync.jobs.waitForSync()
        try await sync.pods.waitForSync()
        await withDiscardingTaskGroup { group in
            group.addTask { await sync.orphans.run(workers: 1) { key in try await sync.releaseOrphan(key) } }
            group.addTask { await sync.queue.run(workers: context.workers) { key in try await sync.sync(key) } }
        }
    }
}

final class JobSync: Sendable {
    let context: ControllerContext
    let jobs: Informer<BatchV1.Job>
    let pods: Informer<CoreV1.Pod>
    let queue: WorkQueue<ObjectKey>
    /// Pods that still carry the tracking finalizer while their Job is gone.
    let orphans: WorkQueue<ObjectKey>
    let expectations: Expectations

    init(context: ControllerContext) {
        self.context = context
        jobs = context.informers.informer(BatchV1.Job.self)
        pods = context.informers.informer(CoreV1.Pod.self)
        queue = WorkQueue(clock: context.clock)
        orphans = WorkQueue(clock: context.clock)
        expectations = Expectations(clock: context.clock)
    }

    func registerHandlers() {
        jobs.addEventHandler { [self] event in
            if case .deleted(let job) = event {
                expectations.delete(job.key.description)
                for pod in pods.store.byIndex(IndexName.controllerUID, job.objectMeta.uid ?? "") where JobCore.hasTrackingFinalizer(pod) {
                    orphans.add(pod.key)
                }
            }
            queue.add(event.object.key)
        }
        pods.addEventHandler { [self] event in
            let pod = event.object
            guard let ref = pod.objectMeta.controllerRef, ref.kind == "Job" else { return }
            let key = ObjectKey(namespace: pod.namespace, name: ref.name)
            guard let job = jobs.store.get(key), job.objectMeta.uid == ref.uid else {
                if case .deleted = event { return }
                if JobCore.hasTrackingFinalizer(pod) { orphans.add(pod.key) }
                return
            }
            switch event {
            case .added(let p):
                if p.isTerminating { expectations.deletionObserved(key.description) } else { expectations.creationObserved(key.description) }
            case .updated(let old, let new):
                if new.isTerminating && !old.isTerminating { expectations.deletionObserved(key.description) }
            case .deleted(let p):
                if !p.isTerminating { expectations.deletionObserved(key.description) }
            }
            queue.add(key)
        }
    }

    /// Removes the tracking finalizer of a pod whose Job is gone.
    func releaseOrphan(_ key: ObjectKey) async throws {
        guard let pod = pods.store.get(key), JobCore.hasTrackingFinalizer(pod) else { return }
        if let ref = pod.objectMeta.controllerRef, let job = jobs.store.get(namespace: key.namespace, name: ref.name),
           job.objectMeta.uid == ref.uid, job.objectMeta.deletionTimestamp == nil { return }
        try await removeTrackingFinalizer(pod)
    }

    func sync(_ key: ObjectKey) async throws {
        guard let job = jobs.store.get(key) else {
            expectations.delete(key.description)
            return
        }
        let owned = pods.store.byIndex(IndexName.controllerUID, job.objectMeta.uid ?? "")
        if job.objectMeta.deletionTimestamp != nil {
            for pod in owned where JobCore.hasTrackingFinalizer(pod) { try await removeTrackingFinalizer(pod) }
            return
        }
        guard expectations.satisfied(key.description) else { return }
        let now = Int64(context.clock.date.timeIntervalSince1970.rounded(.down))
        let plan = JobCore.reconcile(job: job, pods: owned, now: now)

        // The status first: finished pods are recorded before their finalizers go.
        if plan.status != job.status {
            var updated = job
            updated.status = plan.status
            _ = try await context.client.updateStatus(updated)
        }
        for event in plan.events {
            context.recorder.record(job, type: event.type == "Warning" ? .warning : .normal, reason: event.reason, message: event.message)
        }
        let byName = Dictionary(owned.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for name in plan.removeFinalizer {
            if let pod = byName[name] { try await removeTrackingFinalizer(pod) }
        }
        try await deletePods(plan.delete, of: job)
        try await createPods(plan.create, of: job)
        if let after = plan.requeueAfter {
            queue.add(key, after: .seconds(after))
        }
    }

    func deletePods(_ names: [String], of job: BatchV1.Job) async throws {
        guard !names.isEmpty else { return }
        let key = job.key.description
        expectations.expect(key, deletes: names.count)
        var firstError: (any Error)?
        for name in names {
            do {
                try await context.client.delete(CoreV1.Pod.self, name: name, namespace: job.namespace)
                context.recorder.record(job, reason: "SuccessfulDelete", message: "Deleted pod: \(name)")
            } catch {
                expectations.deletionObserved(key)
                if APIErrors.isNotFound(error) { continue }
                context.recorder.record(job, type: .warning, reason: "FailedDelete", message: "Error deleting: \(error)")
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
    }

    func createPods(_ indexes: [Int?], of job: BatchV1.Job) async throws {
        guard !indexes.isEmpty else { return }
        let key = job.key.description
        expectations.expect(key, adds: indexes.count)
        var firstError: (any Error)?
        for index in indexes {
            if firstError != nil {
                expectations.creationObserved(key)
                continue
            }
            do {
                let pod = try await context.client.create(JobCore.makePod(job: job, index: index))
                context.recorder.record(job, reason: "SuccessfulCreate", message: "Created pod: \(pod.name)")
            } catch {
                expectations.creationObserved(key)
                context.recorder.record(job, type: .warning, reason: "FailedCreate", message: "Error creating: \(error)")
                firstError = error
            }
        }
        if let firstError { throw firstError }
    }

    /// Removes the tracking finalizer with a JSON patch that first checks the finalizers are unchanged.
    func removeTrackingFinalizer(_ pod: CoreV1.Pod) async throws {
        let current = pod.objectMeta.finalizers ?? []
        let remaining = current.filter { $0 != JobCore.trackingFinalizer }
        let patch = Patch.json([
            .object(["op": .string("test"), "path": .string("/metadata/finalizers"), "value": .array(current.map(JSONValue.string))]),
            .object(["op": .string("replace"), "path": .string("/metadata/finalizers"), "value": .array(remaining.map(JSONValue.string))]),
        ])
        do {
            _ = try await context.client.patch(CoreV1.Pod.self, name: pod.name, namespace: pod.namespace, patch)
        } catch where APIErrors.isNotFound(error) {}
    }
}
