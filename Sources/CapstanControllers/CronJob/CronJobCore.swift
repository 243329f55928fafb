import CapstanAPI
import Foundation

/// The pure part of the CronJob controller: from a CronJob, the Jobs it owns and the time,
/// the Job to start (if a schedule is due), the Jobs to delete (Replace policy, history
/// limits), the new status (active, lastScheduleTime, lastSuccessfulTime) and the events.
public enum CronJobCore {
    public static let scheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp"
    /// More missed start times than this and the controller says so (and starts the latest only).
    public static let tooManyMissed = 100

    public struct Plan: Sendable, Hashable {
        public var status: BatchV1.CronJobStatus
        public var create: BatchV1.Job?
        /// Names of Jobs to delete (background propagation).
        public var delete: [String] = []
        public var events: [JobCore.Event] = []
        /// Seconds until the next scheduled time.
        public var requeueAfter: Int64?
    }

    static func time(_ d: Date) -> MetaV1.Time { MetaV1.Time(secondsSinceEpoch: Int64(d.timeIntervalSince1970.rounded(.down))) }
    static func date(_ t: MetaV1.Time) -> Date { Date(timeIntervalSince1970: TimeInterval(t.secondsSinceEpoch)) }

    static func isFinished(_ job: BatchV1.Job) -> String? {
        job.status?.conditions?.first { ($0.type == "Complete" || $0.type == "Failed") && $0.status == "True" }?.type
    }

    /// The Job for the schedule time `at`: named `<cronjob>-<minutes since the epoch>`.
    public static func makeJob(_ cronJob: BatchV1.CronJob, scheduledAt at: Date) -> BatchV1.Job {
        let template = cronJob.spec?.jobTemplate
        let minutes = Int64((at.timeIntervalSince1970 / 60).rounded(.down))
        var meta = template?.metadata ?? MetaV1.ObjectMeta()
        meta.name = "\(cronJob.metadata?.name ?? "")-\(minutes)"
        meta.generateName = nil
        meta.namespace = cronJob.metadata?.namespace
        meta.annotations = (meta.annotations ?? [:]).merging(
            [scheduledTimestampAnnotation: MetaV1.Time(secondsSinceEpoch: Int64(at.timeIntervalSince1970)).rfc3339]) { _, new in new }
        meta.ownerReferences = [MetaV1.OwnerReference(apiVersion: "batch/v1", kind: "CronJob", blockOwnerDeletion: true, controller: true,
                                                      name: cronJob.metadata?.name ?? "", uid: cronJob.metadata?.uid ?? "")]
        return BatchV1.Job(metadata: meta, spec: template?.spec)
    }

    static func reference(_ job: BatchV1.Job) -> CoreV1.ObjectReference {
        CoreV1.ObjectReference(apiVersion: "batch/v1", kind: "Job", name: job.metadata?.name, namespace: job.metadata?.namespace,
                               resourceVersion: job.metadata?.resourceVersion, uid: job.metadata?.uid)
    }

    public static func reconcile(cronJob: BatchV1.CronJob, jobs: [BatchV1.Job], now: Date) -> Plan {
        let spec = cronJob.spec
        var status = cronJob.status ?? BatchV1.CronJobStatus()
        var plan = Plan(status: status)

        // Active jobs and the last success.
        let previouslyActive = Set((status.active ?? []).compactMap(\.uid))
        var active: [BatchV1.Job] = []
        for job in jobs where job.metadata?.deletionTimestamp == nil {
            if let finished = isFinished(job) {
                if previouslyActive.contains(job.metadata?.uid ?? "") {
                    plan.events.append(JobCore.Event("Normal", "SawCompletedJob", "Saw completed job: \(job.metadata?.name ?? ""), condition: \(finished)"))
                }
                if finished == "Complete", let done = job.status?.completionTime,
                   status.lastSuccessfulTime.map({ $0 < done }) ?? true {
                    status.lastSuccessfulTime = done
                }
            } else {
                active.append(job)
            }
        }

        // History limits: the oldest finished jobs beyond the limits go.
        for (type, limit) in [("Complete", spec?.successfulJobsHistoryLimit ?? 3), ("Failed", spec?.failedJobsHistoryLimit ?? 1)] {
            let finished = jobs.filter { isFinished($0) == type && $0.metadata?.deletionTimestamp == nil }
                .sorted { ($0.status?.startTime ?? $0.metadata?.creationTimestamp ?? MetaV1.Time(secondsSinceEpoch: 0), $0.metadata?.name ?? "")
                    < ($1.status?.startTime ?? $1.metadata?.creationTimestamp ?? MetaV1.Time(secondsSinceEpoch: 0), $1.metadata?.name ?? "") }
            if finished.count > Int(max(0, limit)) {
                plan.delete += finished.prefix(finished.count - Int(max(0, limit))).compactMap { $0.metadata?.name }
            }
        }
        for name in plan.delete { plan.events.append(JobCore.Event("Normal", "SuccessfulDelete", "Deleted job \(name)")) }

        let finish: () -> Plan = {
            var p = plan
            status.active = active.isEmpty ? nil : active.map(reference)
            p.status = status
            return p
        }
        let schedule: CronSchedule
        do {
            schedule = try CronSchedule(spec?.schedule ?? "", timeZone: spec?.timeZone)
        } catch {
            plan.events.append(JobCore.Event("Warning", "UnparseableSchedule", "unparseable schedule: \"\(spec?.schedule ?? "")\" : \(error)"))
            return finish()
        }

        // The latest schedule time that has passed and not been started (within the starting deadline).
        var since = status.lastScheduleTime.map(date) ?? cronJob.metadata?.creationTimestamp.map(date) ?? now
        if let deadline = spec?.startingDeadlineSeconds { since = max(since, now.addingTimeInterval(-Double(deadline))) }
        var missed = 0
        var latest: Date?
        var previous: Date?
        var t = since
        while let next = schedule.next(after: t), next <= now {
            latest = next
            missed += 1
            t = next
            if missed == tooManyMissed, let previous {
                // Only the most recent missed time matters: skip to two periods before now.
                let jump = now.addingTimeInterval(-2 * next.timeIntervalSince(previous))
                if jump > next { t = jump }
            }
            previous = next
        }
        if missed >= tooManyMissed {
            plan.events.append(JobCore.Event("Warning", "TooManyMissedTimes",
                                             "too many missed start times (> \(tooManyMissed)). Set or decrease .spec.startingDeadlineSeconds or check clock skew"))
        }
        if let next = schedule.next(after: now) {
            plan.requeueAfter = max(1, Int64(next.timeIntervalSince(now).rounded(.up)))
        }
        guard spec?.suspend != true, let scheduled = latest else { return finish() }
        if let deadline = spec?.startingDeadlineSeconds, scheduled.addingTimeInterval(Double(deadline)) < now {
            plan.events.append(JobCore.Event("Warning", "MissSchedule",
                                             "Missed scheduled time to start a job: \(time(scheduled).rfc3339)"))
            return finish()
        }
        let job = makeJob(cronJob, scheduledAt: scheduled)
        if active.contains(where: { $0.metadata?.name == job.metadata?.name }) || jobs.contains(where: { $0.metadata?.name == job.metadata?.name }) {
            status.lastScheduleTime = time(scheduled)
            return finish()
        }
        switch spec?.concurrencyPolicy ?? "Allow" {
        case "Forbid" where !active.isEmpty:
            plan.events.append(JobCore.Event("Normal", "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid"))
            return finish()
        case "Replace":
            for old in active {
                let name = old.metadata?.name ?? ""
                plan.delete.append(name)
                plan.events.append(JobCore.Event("Normal", "SuccessfulDelete", "Deleted job \(name)"))
            }
            active = []
        default:
            break
        }
        plan.create = job
        status.lastScheduleTime = time(scheduled)
        plan.events.append(JobCore.Event("Normal", "SuccessfulCreate", "Created job \(job.metadata?.name ?? "")"))
        active.append(job)
        return finish()
    }
}
