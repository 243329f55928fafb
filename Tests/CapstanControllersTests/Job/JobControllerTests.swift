import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import CapstanControllers
import CapstanTesting
import Foundation
import Testing

@Suite struct JobControllerTests {
    static func job(_ name: String, completions: Int32?, parallelism: Int32, indexed: Bool = false, backoffLimit: Int32 = 6,
                    ttl: Int32? = nil) -> BatchV1.Job {
        var spec = BatchV1.JobSpec(template: CoreV1.PodTemplateSpec(
            spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: "busybox", name: "main")], restartPolicy: "Never")))
        spec.completions = completions
        spec.parallelism = parallelism
        spec.backoffLimit = backoffLimit
        spec.ttlSecondsAfterFinished = ttl
        if indexed { spec.completionMode = "Indexed" }
        return BatchV1.Job(metadata: MetaV1.ObjectMeta(name: name, namespace: "default"), spec: spec)
    }

    static func jobPods(_ client: APIClient, _ job: String) async throws -> [CoreV1.Pod] {
        try await client.list(CoreV1.Pod.self, namespace: "default", options: ListOptions(labelSelector: "job-name=\(job)")).items
    }

    static func hasCondition(_ client: APIClient, _ job: String, type: String, reason: String? = nil) async throws -> Bool {
        let job = try await client.get(BatchV1.Job.self, name: job, namespace: "default")
        return job.status?.conditions?.contains { $0.type == type && $0.status == "True" && (reason == nil || $0.reason == reason) } == true
    }

    /// Polls until the job has the condition (10 s at most).
    static func waitForCondition(_ client: APIClient, _ job: String, type: String, reason: String? = nil) async throws -> Bool {
        for _ in 0..<400 {
            if try await hasCondition(client, job, type: type, reason: reason) { return true }
            try await Task.sleep(for: .milliseconds(25))
        }
        return false
    }

    /// Plays the node agent: every pending pod of the job finishes with `phase`.
    static func finishPods(_ client: APIClient, _ job: String, phase: String, exitCode: Int32 = 0) async throws -> Int {
        var finished = 0
        for pod in try await Self.jobPods(client, job) where pod.status?.phase == "Pending" && pod.metadata?.deletionTimestamp == nil {
            try await PodWrites.setStatus(client, pod.name, phase: phase, exitCode: exitCode)
            finished += 1
        }
        return finished
    }

    @Test func indexedJobRunsToCompletion() async throws {
        try await withWorkloadControllers([JobController()]) { client, _ in
            _ = try await client.create(Self.job("sum", completions: 3, parallelism: 2, indexed: true))
            #expect(try await eventually { try await Self.jobPods(client, "sum").count == 2 })
            let first = try await Self.jobPods(client, "sum")
            let indexes = Set(first.compactMap { $0.metadata?.annotations?["batch.kubernetes.io/job-completion-index"] })
            #expect(indexes == ["0", "1"])
            #expect(first.allSatisfy { $0.metadata?.finalizers == ["batch.kubernetes.io/job-tracking"] })
            #expect(first.allSatisfy { $0.spec?.hostname?.hasPrefix("sum-") == true })

            // Each pass finishes what is running until the job is complete.
            let done = try await eventually(timeout: .seconds(8)) {
                _ = try await Self.finishPods(client, "sum", phase: "Succeeded")
                let job = try await client.get(BatchV1.Job.self, name: "sum", namespace: "default")
                return job.status?.conditions?.contains { $0.type == "Complete" && $0.status == "True" } == true
            }
            #expect(done)
            let job = try await client.get(BatchV1.Job.self, name: "sum", namespace: "default")
            #expect(job.status?.succeeded == 3)
            #expect(job.status?.completedIndexes == "0-2")
            #expect(job.status?.active == 0)
            #expect(job.status?.completionTime != nil)
            #expect(job.status?.conditions?.map(\.type) == ["SuccessCriteriaMet", "Complete"])
            // Finalizers are gone once the pods are counted.
            let released = try await eventually { try await Self.jobPods(client, "sum").allSatisfy { ($0.metadata?.finalizers ?? []).isEmpty } }
            #expect(released)
            let recorded = try await eventually {
                let events = try await client.list(CoreV1.Event.self, namespace: "default").items
                let reasons = Set(events.filter { $0.involvedObject.name == "sum" }.compactMap(\.reason))
                return reasons.isSuperset(of: ["SuccessfulCreate", "Completed"])
            }
            #expect(recorded)
        }
    }

    @Test func failingJobHitsItsBackoffLimit() async throws {
        try await withWorkloadControllers([JobController()]) { client, _ in
            _ = try await client.create(Self.job("fail", completions: 1, parallelism: 1, backoffLimit: 0))
            #expect(try await eventually { try await Self.jobPods(client, "fail").count == 1 })
            #expect(try await Self.finishPods(client, "fail", phase: "Failed", exitCode: 2) == 1)
            let failed = try await Self.waitForCondition(client, "fail", type: "Failed", reason: "BackoffLimitExceeded")
            #expect(failed)
            let job = try await client.get(BatchV1.Job.self, name: "fail", namespace: "default")
            #expect(job.status?.failed == 1)
            #expect(job.status?.conditions?.map(\.type) == ["FailureTarget", "Failed"])
            #expect(try await Self.jobPods(client, "fail").count == 1)
        }
    }

    @Test func finishedJobIsDeletedAfterItsTTL() async throws {
        try await withWorkloadControllers([JobController(), TTLAfterFinishedController()]) { client, _ in
            _ = try await client.create(Self.job("short", completions: 1, parallelism: 1, ttl: 0))
            #expect(try await eventually { try await Self.jobPods(client, "short").count == 1 })
            _ = try await Self.finishPods(client, "short", phase: "Succeeded")
            let gone = try await eventually {
                do {
                    _ = try await client.get(BatchV1.Job.self, name: "short", namespace: "default")
                    return false
                } catch where APIErrors.isNotFound(error) {
                    return true
                }
            }
            #expect(gone)
        }
    }
}

@Suite struct CronJobControllerTests {
    @Test func cronJobStartsJobsOnScheduleAndKeepsHistory() async throws {
        let manual = ManualClock()
        // Start just before a whole minute so the first schedule time comes after one step.
        let now = Date()
        let epoch = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 60).rounded(.down) * 60 + 59)
        let clock = ControllerClock(manual, epoch: epoch)
        try await withWorkloadControllers([CronJobController()], clock: clock) { client, _ in
            var spec = BatchV1.CronJobSpec(jobTemplate: BatchV1.JobTemplateSpec(spec: BatchV1.JobSpec(template: CoreV1.PodTemplateSpec(
                spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: "busybox", name: "main")], restartPolicy: "Never")))),
                                           schedule: "* * * * *")
            spec.concurrencyPolicy = "Forbid"
            _ = try await client.create(BatchV1.CronJob(metadata: MetaV1.ObjectMeta(name: "tick", namespace: "default"), spec: spec))
            // The server stamps creationTimestamp with the real time: schedule times count from there.
            #expect(await eventually { manual.sleeperCount > 0 })
            let started = try await eventually {
                manual.advance(by: .seconds(30))
                let jobs = try await client.list(BatchV1.Job.self, namespace: "default").items
                return jobs.count == 1
            }
            #expect(started)
            let job = try #require(try await client.list(BatchV1.Job.self, namespace: "default").items.first)
            #expect(job.name.hasPrefix("tick-"))
            #expect(job.metadata?.ownerReferences?.first?.kind == "CronJob")
            let status = try await eventually {
                let cj = try await client.get(BatchV1.CronJob.self, name: "tick", namespace: "default")
                return cj.status?.active?.first?.name == job.name && cj.status?.lastScheduleTime != nil
            }
            #expect(status)
            // Forbid: while the job runs, the next time starts nothing and says so.
            let forbidden = try await eventually {
                manual.advance(by: .seconds(30))
                let reasons = try await client.list(CoreV1.Event.self, namespace: "default").items.compactMap(\.reason)
                return reasons.contains("JobAlreadyActive")
            }
            #expect(forbidden)
            #expect(try await client.list(BatchV1.Job.self, namespace: "default").items.count == 1)
        }
    }
}
