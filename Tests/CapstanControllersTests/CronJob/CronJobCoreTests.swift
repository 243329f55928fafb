import CapstanAPI
@testable import CapstanControllers
import Foundation
import Testing

func utc(_ y: Int, _ m: Int, _ d: Int, _ h: Int = 0, _ min: Int = 0, zone: String = "UTC") -> Date {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: zone)!
    return calendar.date(from: DateComponents(year: y, month: m, day: d, hour: h, minute: min))!
}

@Suite struct CronScheduleTests {
    // 2026-01-05 is a Monday.
    @Test(arguments: [
        ("*/15 * * * *", utc(2026, 1, 5, 10, 7), utc(2026, 1, 5, 10, 15)),
        ("@hourly", utc(2026, 1, 5, 10, 0), utc(2026, 1, 5, 11, 0)),
        ("@daily", utc(2026, 1, 5, 10, 0), utc(2026, 1, 6)),
        ("@weekly", utc(2026, 1, 5, 10, 0), utc(2026, 1, 11)),
        ("@monthly", utc(2026, 1, 5), utc(2026, 2, 1)),
        ("@yearly", utc(2026, 1, 5), utc(2027, 1, 1)),
        ("30 9 * * MON-FRI", utc(2026, 1, 9, 10, 0), utc(2026, 1, 12, 9, 30)),
        ("0 0 31 * *", utc(2026, 2, 1), utc(2026, 3, 31)),
        ("0 12 1 JAN,jul *", utc(2026, 1, 5), utc(2026, 7, 1, 12)),
        ("0 0 13 * 5", utc(2026, 1, 5), utc(2026, 1, 9)),
        ("0 0 * * 7", utc(2026, 1, 5), utc(2026, 1, 11)),
        ("5-10/5 2 * * *", utc(2026, 1, 5, 2, 6), utc(2026, 1, 5, 2, 10)),
        ("59 23 31 12 *", utc(2026, 1, 5), utc(2026, 12, 31, 23, 59)),
    ])
    func nextTimes(_ spec: String, _ after: Date, _ expected: Date) throws {
        #expect(try CronSchedule(spec).next(after: after) == expected)
    }

    @Test func timeZones() throws {
        let schedule = try CronSchedule("0 9 * * *", timeZone: "America/New_York")
        // 09:00 in New York in January is 14:00 UTC.
        #expect(schedule.next(after: utc(2026, 1, 5, 12)) == utc(2026, 1, 5, 14))
        #expect(schedule.next(after: utc(2026, 7, 5, 12)) == utc(2026, 7, 5, 13))
    }

    @Test(arguments: ["* * * *", "61 * * * *", "* * * * * *", "@often", "a * * * *", "5-1 * * * *", "*/0 * * * *", "TZ=UTC 0 * * * *"])
    func badSchedules(_ spec: String) {
        #expect(throws: CronSchedule.ParseError.self) { try CronSchedule(spec) }
    }

    @Test func unknownTimeZone() {
        #expect(throws: CronSchedule.ParseError.self) { try CronSchedule("0 * * * *", timeZone: "Mars/Olympus") }
    }
}

@Suite struct CronJobCoreTests {
    static func cronJob(_ schedule: String = "*/5 * * * *", policy: String? = nil, deadline: Int64? = nil, suspend: Bool? = nil,
                        last: Date? = nil, created: Date = utc(2026, 1, 5, 10, 0)) -> BatchV1.CronJob {
        var spec = BatchV1.CronJobSpec(jobTemplate: BatchV1.JobTemplateSpec(
            metadata: MetaV1.ObjectMeta(labels: ["app": "report"]),
            spec: BatchV1.JobSpec(template: CoreV1.PodTemplateSpec(spec: CoreV1.PodSpec(containers: [CoreV1.Container(name: "c")])))),
                                       schedule: schedule)
        spec.concurrencyPolicy = policy
        spec.startingDeadlineSeconds = deadline
        spec.suspend = suspend
        return BatchV1.CronJob(metadata: MetaV1.ObjectMeta(creationTimestamp: CronJobCore.time(created), name: "report", namespace: "default", uid: "cj-uid"),
                               spec: spec, status: BatchV1.CronJobStatus(lastScheduleTime: last.map(CronJobCore.time)))
    }

    static func job(_ name: String, finished: String? = nil, at: Date = utc(2026, 1, 5, 10)) -> BatchV1.Job {
        var job = BatchV1.Job(metadata: MetaV1.ObjectMeta(creationTimestamp: CronJobCore.time(at), name: name, namespace: "default", uid: "uid-\(name)"))
        if let finished {
            job.status = BatchV1.JobStatus(completionTime: finished == "Complete" ? CronJobCore.time(at.addingTimeInterval(30)) : nil,
                                           conditions: [BatchV1.JobCondition(status: "True", type: finished)], startTime: CronJobCore.time(at))
        }
        return job
    }

    @Test func startsTheJobOfTheLatestScheduleTime() throws {
        let plan = CronJobCore.reconcile(cronJob: Self.cronJob(), jobs: [], now: utc(2026, 1, 5, 10, 12))
        let job = try #require(plan.create)
        // Two times were missed (10:05, 10:10): only the latest starts.
        let minutes = Int64(utc(2026, 1, 5, 10, 10).timeIntervalSince1970 / 60)
        #expect(job.metadata?.name == "report-\(minutes)")
        #expect(job.metadata?.annotations?[CronJobCore.scheduledTimestampAnnotation] == "2026-01-05T10:10:00Z")
        #expect(job.metadata?.labels == ["app": "report"])
        #expect(job.metadata?.ownerReferences?.first?.kind == "CronJob")
        #expect(plan.status.lastScheduleTime == CronJobCore.time(utc(2026, 1, 5, 10, 10)))
        #expect(plan.status.active?.first?.name == job.metadata?.name)
        #expect(plan.requeueAfter == 180)
        #expect(plan.events.map(\.reason) == ["SuccessfulCreate"])
    }

    @Test func nothingDueWaitsForTheNextTime() {
        let plan = CronJobCore.reconcile(cronJob: Self.cronJob(last: utc(2026, 1, 5, 10, 10)), jobs: [], now: utc(2026, 1, 5, 10, 12))
        #expect(plan.create == nil)
        #expect(plan.requeueAfter == 180)
    }

    @Test(arguments: [("Allow", true, 0), ("Forbid", false, 0), ("Replace", true, 1)])
    func concurrencyPolicies(_ policy: String, _ creates: Bool, _ deletes: Int) {
        let running = Self.job("report-old")
        let plan = CronJobCore.reconcile(cronJob: Self.cronJob(policy: policy, last: utc(2026, 1, 5, 10, 5)), jobs: [running],
                                         now: utc(2026, 1, 5, 10, 10))
        #expect((plan.create != nil) == creates)
        #expect(plan.delete.count == deletes)
        #expect(plan.status.active?.count == (policy == "Allow" ? 2 : 1))
    }

    @Test func startingDeadlineAndSuspend() {
        let late = CronJobCore.reconcile(cronJob: Self.cronJob("0 * * * *", deadline: 60, last: utc(2026, 1, 5, 9)), jobs: [],
                                         now: utc(2026, 1, 5, 10, 5))
        #expect(late.create == nil)
        let onTime = CronJobCore.reconcile(cronJob: Self.cronJob("0 * * * *", deadline: 600, last: utc(2026, 1, 5, 9)), jobs: [],
                                           now: utc(2026, 1, 5, 10, 5))
        #expect(onTime.create != nil)
        let suspended = CronJobCore.reconcile(cronJob: Self.cronJob(suspend: true), jobs: [], now: utc(2026, 1, 5, 11))
        #expect(suspended.create == nil)
    }

    @Test func historyLimitsAndLastSuccess() {
        let jobs = (0..<5).map { Self.job("ok-\($0)", finished: "Complete", at: utc(2026, 1, 5, 9, $0)) }
            + (0..<3).map { Self.job("bad-\($0)", finished: "Failed", at: utc(2026, 1, 5, 8, $0)) }
        let plan = CronJobCore.reconcile(cronJob: Self.cronJob(last: utc(2026, 1, 5, 10, 10)), jobs: jobs, now: utc(2026, 1, 5, 10, 12))
        #expect(plan.delete == ["ok-0", "ok-1", "bad-0", "bad-1"])
        #expect(plan.status.lastSuccessfulTime == CronJobCore.time(utc(2026, 1, 5, 9, 4).addingTimeInterval(30)))
        #expect(plan.status.active == nil)
    }

    @Test func manyMissedTimesAreReportedAndOnlyTheLatestRuns() throws {
        let plan = CronJobCore.reconcile(cronJob: Self.cronJob("* * * * *", last: utc(2025, 1, 1)), jobs: [], now: utc(2026, 1, 5, 10, 12))
        #expect(plan.events.map(\.reason).contains("TooManyMissedTimes"))
        #expect(plan.status.lastScheduleTime == CronJobCore.time(utc(2026, 1, 5, 10, 12)))
    }

    @Test func badScheduleIsReported() {
        let plan = CronJobCore.reconcile(cronJob: Self.cronJob("nope"), jobs: [], now: utc(2026, 1, 5, 10, 12))
        #expect(plan.create == nil)
        #expect(plan.events.map(\.reason) == ["UnparseableSchedule"])
    }
}
