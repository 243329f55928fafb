import CapstanAPI
@testable import CapstanControllers
import Testing

/// Builders for Job tests.
enum TestJobs {
    static func job(completions: Int32? = 1, parallelism: Int32 = 1, indexed: Bool = false, backoffLimit: Int32 = 6,
                    status: BatchV1.JobStatus? = nil) -> BatchV1.Job {
        var spec = BatchV1.JobSpec(template: CoreV1.PodTemplateSpec(
            metadata: MetaV1.ObjectMeta(labels: ["job-name": "work"]),
            spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: "busybox", name: "main")], restartPolicy: "Never")))
        spec.completions = completions
        spec.parallelism = parallelism
        spec.backoffLimit = backoffLimit
        spec.completionMode = indexed ? "Indexed" : "NonIndexed"
        return BatchV1.Job(metadata: MetaV1.ObjectMeta(name: "work", namespace: "default", uid: "job-uid"), spec: spec, status: status)
    }

    /// A pod of the job; `finished` sets a container termination time, `exitCode` its code.
    static func pod(_ name: String, phase: String = "Running", tracked: Bool = true, index: Int? = nil,
                    finished: Int64? = nil, exitCode: Int32 = 0, ready: Bool = false, created: Int64 = 0,
                    deleting: Bool = false, node: String? = "n1") -> CoreV1.Pod {
        var pod = TestPods.pod(name, labels: ["job-name": "work"], ip: "10.0.0.1", ready: ready, phase: phase, node: node,
                               terminating: deleting, created: created)
        if tracked { pod.metadata?.finalizers = [JobCore.trackingFinalizer] }
        if let index { pod.metadata?.annotations = [JobCore.completionIndexKey: String(index)] }
        if let finished {
            pod.status?.containerStatuses = [CoreV1.ContainerStatus(
                image: "busybox", imageID: "", name: "main", ready: false, restartCount: 0,
                state: CoreV1.ContainerState(terminated: CoreV1.ContainerStateTerminated(exitCode: exitCode, finishedAt: TestPods.time(finished))))]
        }
        return pod
    }

    static func counted(succeeded: Int32 = 0, failed: Int32 = 0, start: Int64 = 0, completedIndexes: String? = nil) -> BatchV1.JobStatus {
        BatchV1.JobStatus(completedIndexes: completedIndexes, failed: failed, startTime: TestPods.time(start), succeeded: succeeded)
    }
}

@Suite struct JobCoreTests {
    typealias J = TestJobs

    @Test func startsParallelismPodsAndSetsStartTime() {
        let plan = JobCore.reconcile(job: J.job(completions: 5, parallelism: 2), pods: [], now: 50)
        #expect(plan.create == [nil, nil])
        #expect(plan.status.startTime == TestPods.time(50))
        #expect(plan.status.active == 0)
        #expect(plan.status.uncountedTerminatedPods == BatchV1.UncountedTerminatedPods())
    }

    struct ScaleCase: Sendable {
        var completions: Int32?
        var parallelism: Int32
        var succeeded: Int32
        var active: Int
        var creates: Int
        var deletes: Int
    }

    @Test(arguments: [
        ScaleCase(completions: 5, parallelism: 2, succeeded: 0, active: 1, creates: 1, deletes: 0),
        ScaleCase(completions: 5, parallelism: 3, succeeded: 3, active: 0, creates: 2, deletes: 0),
        ScaleCase(completions: 5, parallelism: 3, succeeded: 4, active: 2, creates: 0, deletes: 1),
        ScaleCase(completions: 5, parallelism: 1, succeeded: 0, active: 3, creates: 0, deletes: 2),
        ScaleCase(completions: nil, parallelism: 3, succeeded: 0, active: 1, creates: 2, deletes: 0),
        ScaleCase(completions: nil, parallelism: 3, succeeded: 1, active: 2, creates: 0, deletes: 0),
        ScaleCase(completions: 5, parallelism: 0, succeeded: 0, active: 2, creates: 0, deletes: 2),
    ])
    func nonIndexedScaling(_ c: ScaleCase) {
        let pods = (0..<c.active).map { J.pod("p\($0)", created: Int64($0)) }
        let plan = JobCore.reconcile(job: J.job(completions: c.completions, parallelism: c.parallelism, status: J.counted(succeeded: c.succeeded)),
                                     pods: pods, now: 10)
        #expect(plan.create.count == c.creates)
        #expect(plan.delete.count == c.deletes)
        #expect(plan.status.active == Int32(c.active))
    }

    @Test func excessPodsDeletedLeastAdvancedFirst() {
        let pods = [
            J.pod("old-ready", ready: true, created: 1),
            J.pod("young-ready", ready: true, created: 5),
            J.pod("pending", phase: "Pending", created: 0),
            J.pod("unscheduled", phase: "Pending", created: 0, node: nil),
        ]
        let plan = JobCore.reconcile(job: J.job(completions: 10, parallelism: 1, status: J.counted()), pods: pods, now: 10)
        #expect(plan.delete == ["unscheduled", "pending", "young-ready"])
        #expect(plan.status.ready == 2)
    }

    @Test func finishedPodsAreCountedInTwoPhases() {
        let job = J.job(completions: 3, parallelism: 1, status: J.counted())
        let done = J.pod("a", phase: "Succeeded", finished: 5)
        let first = JobCore.reconcile(job: job, pods: [done], now: 10)
        #expect(first.status.uncountedTerminatedPods?.succeeded == ["uid-a"])
        #expect(first.status.succeeded == 0)
        #expect(first.removeFinalizer == ["a"])
        // The pod's finalizer went: the uid moves into the counter.
        var next = job
        next.status = first.status
        var released = done
        released.metadata?.finalizers = nil
        let second = JobCore.reconcile(job: next, pods: [released], now: 11)
        #expect(second.status.succeeded == 1)
        #expect(second.status.uncountedTerminatedPods?.succeeded == nil)
        #expect(second.removeFinalizer.isEmpty)
        #expect(second.create == [nil])
    }

    @Test func completesWithSuccessCriteriaMetThenComplete() throws {
        let plan = JobCore.reconcile(job: J.job(completions: 2, status: J.counted(succeeded: 2)), pods: [], now: 20)
        let types = plan.status.conditions?.map(\.type)
        #expect(types == ["SuccessCriteriaMet", "Complete"])
        #expect(plan.status.conditions?.allSatisfy { $0.reason == "CompletionsReached" } == true)
        #expect(plan.status.completionTime == TestPods.time(20))
        #expect(plan.events == [JobCore.Event("Normal", "Completed", "Job completed")])
        // Finished jobs stay put.
        var done = J.job(completions: 2, status: plan.status)
        done.status = plan.status
        let again = JobCore.reconcile(job: done, pods: [], now: 30)
        #expect(again.create.isEmpty && again.events.isEmpty && again.status == plan.status)
    }

    @Test func completionWaitsForUncountedPods() {
        let pods = [J.pod("a", phase: "Succeeded", finished: 5)]
        let plan = JobCore.reconcile(job: J.job(completions: 1, status: J.counted()), pods: pods, now: 20)
        #expect(plan.status.conditions?.map(\.type) == ["SuccessCriteriaMet"])
        #expect(plan.status.completionTime == nil)
    }

    @Test(arguments: [(1, Int64(10)), (2, 20), (3, 40), (6, 320), (7, 360), (50, 360), (0, 0)])
    func backoffDelays(_ failures: Int, _ delay: Int64) {
        #expect(JobCore.backoffDelay(failures: failures) == delay)
    }

    @Test func recreationWaitsForBackoff() {
        let job = J.job(completions: 1, status: J.counted(failed: 2))
        let pods = [J.pod("f1", phase: "Failed", tracked: false, finished: 100, exitCode: 1),
                    J.pod("f2", phase: "Failed", tracked: false, finished: 120, exitCode: 1)]
        // Two consecutive failures: 20 s after the last one.
        let early = JobCore.reconcile(job: job, pods: pods, now: 130)
        #expect(early.create.isEmpty)
        #expect(early.requeueAfter == 10)
        let later = JobCore.reconcile(job: job, pods: pods, now: 140)
        #expect(later.create == [nil])
        // A success after the failures resets the back-off.
        let withSuccess = pods + [J.pod("s", phase: "Succeeded", tracked: false, finished: 125)]
        let reset = JobCore.reconcile(job: J.job(completions: 2, status: J.counted(succeeded: 1, failed: 2)), pods: withSuccess, now: 126)
        #expect(reset.create == [nil])
    }

    @Test func backoffLimitFailsTheJob() {
        let pods = [J.pod("f", phase: "Failed", finished: 10, exitCode: 1)]
        let plan = JobCore.reconcile(job: J.job(completions: 1, backoffLimit: 1, status: J.counted(failed: 1)), pods: pods, now: 20)
        #expect(plan.status.conditions?.map(\.type) == ["FailureTarget"])
        #expect(plan.status.conditions?.first?.reason == "BackoffLimitExceeded")
        #expect(plan.create.isEmpty)
        // Once the failure is counted and no pod remains, Failed follows.
        var job = J.job(completions: 1, backoffLimit: 1, status: plan.status)
        job.status?.failed = 2
        job.status?.uncountedTerminatedPods = BatchV1.UncountedTerminatedPods()
        let final = JobCore.reconcile(job: job, pods: [], now: 21)
        #expect(final.status.conditions?.map(\.type) == ["FailureTarget", "Failed"])
        #expect(final.status.conditions?.last?.message == "Job has reached the specified backoff limit")
        #expect(final.events == [JobCore.Event("Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit")])
        #expect(final.status.completionTime == nil)
    }

    @Test func activeDeadline() {
        var job = J.job(completions: 1, status: J.counted(start: 0))
        job.spec?.activeDeadlineSeconds = 30
        let running = JobCore.reconcile(job: job, pods: [J.pod("a")], now: 10)
        #expect(running.requeueAfter == 20)
        #expect(running.delete.isEmpty)
        let expired = JobCore.reconcile(job: job, pods: [J.pod("a")], now: 30)
        #expect(expired.delete == ["a"])
        #expect(expired.status.conditions?.map(\.reason) == ["DeadlineExceeded"])
        job.status = expired.status
        let final = JobCore.reconcile(job: job, pods: [], now: 31)
        #expect(final.status.conditions?.map(\.type) == ["FailureTarget", "Failed"])
        #expect(final.status.conditions?.last?.message == "Job was active longer than specified deadline")
    }

    @Test func indexedJobCreatesMissingIndexes() {
        let first = JobCore.reconcile(job: J.job(completions: 3, parallelism: 2, indexed: true), pods: [], now: 0)
        #expect(first.create == [0, 1])
        let pods = [J.pod("w-0", phase: "Succeeded", index: 0, finished: 5), J.pod("w-1", index: 1)]
        let second = JobCore.reconcile(job: J.job(completions: 3, parallelism: 2, indexed: true, status: J.counted()), pods: pods, now: 6)
        #expect(second.status.completedIndexes == "0")
        #expect(second.create == [2])
        // A duplicate of an active index and an index out of range are deleted.
        let dupes = [J.pod("w-1a", index: 1, created: 1), J.pod("w-1b", index: 1, created: 2), J.pod("w-9", index: 9)]
        let third = JobCore.reconcile(job: J.job(completions: 3, parallelism: 3, indexed: true, status: J.counted()), pods: dupes, now: 6)
        #expect(Set(third.delete) == ["w-1b", "w-9"])
        #expect(third.create == [0, 2])
    }

    @Test func indexedJobCompletesWhenEveryIndexIs() {
        let job = J.job(completions: 3, parallelism: 3, indexed: true, status: J.counted(succeeded: 3, completedIndexes: "0-2"))
        let plan = JobCore.reconcile(job: job, pods: [], now: 9)
        #expect(plan.status.conditions?.map(\.type) == ["SuccessCriteriaMet", "Complete"])
    }

    @Test func podFailurePolicyFailJobAndIgnore() throws {
        var job = J.job(completions: 2, parallelism: 1, status: J.counted())
        job.spec?.podFailurePolicy = BatchV1.PodFailurePolicy(rules: [
            BatchV1.PodFailurePolicyRule(action: "Ignore", onPodConditions: [BatchV1.PodFailurePolicyOnPodConditionsPattern(status: "True", type: "DisruptionTarget")]),
            BatchV1.PodFailurePolicyRule(action: "FailJob", onExitCodes: BatchV1.PodFailurePolicyOnExitCodesRequirement(containerName: "main", operator: "In", values: [42])),
        ])
        var disrupted = J.pod("d", phase: "Failed", finished: 5, exitCode: 137)
        disrupted.status?.conditions?.append(CoreV1.PodCondition(status: "True", type: "DisruptionTarget"))
        let ignored = JobCore.reconcile(job: job, pods: [disrupted], now: 6)
        #expect(ignored.status.uncountedTerminatedPods?.failed == nil)
        #expect(ignored.removeFinalizer == ["d"])
        #expect(ignored.create == [nil])

        let fatal = J.pod("x", phase: "Failed", finished: 5, exitCode: 42)
        let failed = JobCore.reconcile(job: job, pods: [fatal], now: 6)
        let condition = try #require(failed.status.conditions?.first)
        #expect(condition.type == "FailureTarget")
        #expect(condition.reason == "PodFailurePolicy")
        #expect(condition.message == "Container main for pod default/x failed with exit code 42 matching FailJob rule at index 1")
        #expect(failed.create.isEmpty)
        // Exit code 1 matches no rule: counted, retried.
        let plain = JobCore.reconcile(job: job, pods: [J.pod("y", phase: "Failed", finished: 5, exitCode: 1)], now: 100)
        #expect(plain.status.uncountedTerminatedPods?.failed == ["uid-y"])
        #expect(plain.create == [nil])
    }

    @Test func successPolicyEndsTheJobEarly() {
        var job = J.job(completions: 5, parallelism: 5, indexed: true, status: J.counted())
        job.spec?.successPolicy = BatchV1.SuccessPolicy(rules: [BatchV1.SuccessPolicyRule(succeededIndexes: "0")])
        let pods = [J.pod("w-0", phase: "Succeeded", index: 0, finished: 3), J.pod("w-1", index: 1), J.pod("w-2", index: 2)]
        let plan = JobCore.reconcile(job: job, pods: pods, now: 4)
        #expect(plan.status.conditions?.map(\.type) == ["SuccessCriteriaMet"])
        #expect(plan.status.conditions?.first?.reason == "SuccessPolicy")
        #expect(plan.status.conditions?.first?.message == "Matched rules at index 0")
        #expect(Set(plan.delete) == ["w-1", "w-2"])
        #expect(plan.create.isEmpty)
    }

    @Test(arguments: [
        ("0-2", 3, 0, true), ("1", nil as Int32?, 0, true), ("0-4", 2 as Int32?, 0, true), ("3-4", nil, 0, false),
    ] as [(String, Int32?, Int, Bool)])
    func successPolicyRules(_ indexes: String, _ count: Int32?, _ rule: Int, _ matches: Bool) {
        let policy = BatchV1.SuccessPolicy(rules: [BatchV1.SuccessPolicyRule(succeededCount: count, succeededIndexes: indexes)])
        let result = JobCore.matchSuccessPolicy(policy, completed: CompletionIndexSet([0, 1, 2]), completions: 5)
        #expect(result == (matches ? rule : nil))
    }

    @Test func suspendAndResume() {
        var job = J.job(completions: 3, parallelism: 2, status: J.counted(start: 0))
        job.spec?.suspend = true
        let suspended = JobCore.reconcile(job: job, pods: [J.pod("a"), J.pod("b")], now: 10)
        #expect(Set(suspended.delete) == ["a", "b"])
        #expect(suspended.status.conditions?.first?.reason == "JobSuspended")
        #expect(suspended.events.map(\.reason) == ["Suspended"])
        job.spec?.suspend = false
        job.status = suspended.status
        let resumed = JobCore.reconcile(job: job, pods: [], now: 50)
        #expect(resumed.status.conditions?.first?.status == "False")
        #expect(resumed.status.conditions?.first?.reason == "JobResumed")
        #expect(resumed.status.startTime == TestPods.time(50))
        #expect(resumed.create.count == 2)
    }

    @Test func indexedPodTemplate() {
        var job = J.job(completions: 3, indexed: true)
        job.spec?.template.spec?.initContainers = [CoreV1.Container(name: "init")]
        let pod = JobCore.makePod(job: job, index: 2)
        #expect(pod.metadata?.generateName == "work-2-")
        #expect(pod.metadata?.annotations?[JobCore.completionIndexKey] == "2")
        #expect(pod.metadata?.labels?[JobCore.completionIndexKey] == "2")
        #expect(pod.metadata?.labels?["job-name"] == "work")
        #expect(pod.metadata?.finalizers == [JobCore.trackingFinalizer])
        #expect(pod.metadata?.ownerReferences?.first?.uid == "job-uid")
        #expect(pod.metadata?.namespace == "default")
        #expect(pod.spec?.hostname == "work-2")
        #expect(pod.spec?.containers.first?.env?.first?.name == "JOB_COMPLETION_INDEX")
        #expect(pod.spec?.initContainers?.first?.env?.first?.valueFrom?.fieldRef?.fieldPath
                == "metadata.annotations['batch.kubernetes.io/job-completion-index']")
        let plain = JobCore.makePod(job: J.job(), index: nil)
        #expect(plain.metadata?.generateName == "work-")
        #expect(plain.spec?.hostname == nil)
    }

    @Test(arguments: [
        ("1,3-5,7", "1,3-5,7", 5), ("", "", 0), ("0-2,1", "0-2", 3), ("x,2,-1,5-3", "2", 1), ("0-99999999999", "0-9", 10),
    ])
    func completionIndexSets(_ text: String, _ formatted: String, _ count: Int) {
        let set = CompletionIndexSet(parsing: text, limit: text.hasPrefix("0-9999") ? 10 : nil)
        #expect(set.description == formatted)
        #expect(set.count == count)
    }
}
