import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import Foundation

/// The CronJob controller: starts a Job at each scheduled time (``CronSchedule``: cron syntax,
/// macros, time zones) as ``CronJobCore`` decides (concurrencyPolicy, startingDeadlineSeconds,
/// suspend, history limits) and keeps status.active, lastScheduleTime and lastSuccessfulTime.
public struct CronJobController: Controller {
    public let name = "cronjob"

    public init() {}

    public func run(context: ControllerContext) async throws {
        let cronJobs = context.informers.informer(BatchV1.CronJob.self)
        let jobs = context.informers.informer(BatchV1.Job.self)
        let queue = WorkQueue<ObjectKey>(clock: context.clock)
        cronJobs.addEventHandler { event in
            if case .deleted = event { return }
            queue.add(event.object.key)
        }
        jobs.addEventHandler { event in
            guard let ref = event.object.objectMeta.controllerRef, ref.kind == "CronJob" else { return }
            queue.add(ObjectKey(namespace: event.object.namespace, name: ref.name))
        }
        try await cronJobs.waitForSync()
        try await jobs.waitForSync()
        await queue.run(workers: context.workers) { key in
            guard let cronJob = cronJobs.store.get(key), cronJob.objectMeta.deletionTimestamp == nil else { return }
            let owned = jobs.store.byIndex(IndexName.controllerUID, cronJob.objectMeta.uid ?? "")
            let plan = CronJobCore.reconcile(cronJob: cronJob, jobs: owned, now: context.clock.date)
            for name in plan.delete {
                do {
                    try await context.client.delete(BatchV1.Job.self, name: name, namespace: key.namespace,
                                                    options: DeleteOptions(propagationPolicy: .background))
                } catch where APIErrors.isNotFound(error) {}
            }
            var status = plan.status
            var events = plan.events
            if let job = plan.create {
                do {
                    let created = try await context.client.create(job)
                    status.active = (status.active ?? []).map { $0.name == created.name ? CronJobCore.reference(created) : $0 }
                } catch where APIErrors.isAlreadyExists(error) {
                    // Started before (the cache lags); the job's event brings another pass.
                    events.removeAll { $0.reason == "SuccessfulCreate" }
                } catch {
                    context.recorder.record(cronJob, type: .warning, reason: "FailedCreate", message: "Error creating job: \(error)")
                    throw error
                }
            }
            for event in events {
                context.recorder.record(cronJob, type: event.type == "Warning" ? .warning : .normal, reason: event.reason, message: event.message)
            }
            if status != cronJob.status {
                var updated = cronJob
                updated.status = status
                _ = try await context.client.updateStatus(updated)
            }
            if let after = plan.requeueAfter { queue.add(key, after: .seconds(after)) }
        }
    }
}
