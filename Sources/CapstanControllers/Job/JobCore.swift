import CapstanAPI

/// The pure part of the Job controller: from a Job, the pods it owns and the time, the status
/// it should have and the writes that move it forward.
///
/// Pods are tracked with the `batch.kubernetes.io/job-tracking` finalizer as Kubernetes does:
/// a finished pod's UID first goes to `status.uncountedTerminatedPods` (status written), then
/// its finalizer is removed, and on a later pass it moves into `succeeded`/`failed`. The shell
/// therefore writes the status before it removes finalizers.
public enum JobCore {
    public static let trackingFinalizer = "batch.kubernetes.io/job-tracking"
    public static let completionIndexKey = "batch.kubernetes.io/job-completion-index"
    /// First pod re-creation delay after a failure; doubles per consecutive failure.
    public static let backoffBase: Int64 = 10
    /// Longest re-creation delay (six minutes).
    public static let backoffCap: Int64 = 360
    /// Most pods created in one pass.
    public static let maxCreatesPerPass = 500

    public struct Event: Sendable, Hashable {
        public var type: String
        public var reason: String
        public var message: String
        public init(_ type: String, _ reason: String, _ message: String) {
            self.type = type
            self.reason = reason
            self.message = message
        }
    }

    /// The writes of one pass, in the order the shell performs them: status, finalizer
    /// removals, deletions, creations.
    public struct Plan: Sendable, Hashable {
        public var status: BatchV1.JobStatus
        /// Pods to create: each entry is the completion index (nil for NonIndexed jobs).
        public var create: [Int?] = []
        /// Names of pods to delete.
        public var delete: [String] = []
        /// Names of pods whose tracking finalizer to remove (after the status is written).
        public var removeFinalizer: [String] = []
        /// Look again after this many seconds (back-off, active deadline).
        public var requeueAfter: Int64?
        public var events: [Event] = []
    }

    // MARK: Reconcile

    public static func reconcile(job: BatchV1.Job, pods: [CoreV1.Pod], now: Int64) -> Plan {
        let spec = job.spec
        let indexed = spec?.completionMode == "Indexed"
        let completions = spec?.completions.map(Int.init)
        let parallelism = Int(max(0, spec?.parallelism ?? 1))
        var status = job.status ?? BatchV1.JobStatus()
        var plan = Plan(status: status)
        let nowTime = MetaV1.Time(secondsSinceEpoch: now)
        let finishing = finishingCondition(status)
        let finished = hasCondition(status, "Complete") || hasCondition(status, "Failed")

        // 1. Accounting of finished pods through uncountedTerminatedPods.
        var uncountedSucceeded = status.uncountedTerminatedPods?.succeeded ?? []
        var uncountedFailed = status.uncountedTerminatedPods?.failed ?? []
        var succeeded = Int(status.succeeded ?? 0)
        var failed = Int(status.failed ?? 0)
        var completed = CompletionIndexSet(parsing: status.completedIndexes, limit: completions)
        let tracked = Dictionary(pods.filter(hasTrackingFinalizer).map { ($0.metadata?.uid ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        uncountedSucceeded.removeAll { uid in
            guard tracked[uid] == nil else { return false }
            succeeded += 1
            return true
        }
        uncountedFailed.removeAll { uid in
            guard tracked[uid] == nil else { return false }
            failed += 1
            return true
        }
        var failJob: (reason: String, message: String)?
        for pod in pods where hasTrackingFinalizer(pod) {
            let uid = pod.metadata?.uid ?? ""
            let name = pod.metadata?.name ?? ""
            if uncountedSucceeded.contains(uid) || uncountedFailed.contains(uid) {
                plan.removeFinalizer.append(name)
            } else if pod.status?.phase == "Succeeded" {
                if indexed {
                    guard let index = completionIndex(pod), index < (completions ?? 0), !completed.contains(index) else {
                        plan.removeFinalizer.append(name)
                        continue
                    }
                    completed.insert(index)
                }
                uncountedSucceeded.append(uid)
                plan.removeFinalizer.append(name)
            } else if isFailed(pod, job: job) {
                let match = spec?.podFailurePolicy.flatMap { matchFailurePolicy($0, pod: pod) }
                if match?.action == "Ignore" || finishing != nil || finished {
                    plan.removeFinalizer.append(name)
                    continue
                }
                if match?.action == "FailJob", failJob == nil { failJob = ("PodFailurePolicy", match?.message ?? "") }
                uncountedFailed.append(uid)
                plan.removeFinalizer.append(name)
            } else if finished {
                // A pod left over from a finished job: let it go.
                plan.removeFinalizer.append(name)
            }
        }
        status.succeeded = Int32(clamping: succeeded)
        status.failed = Int32(clamping: failed)
        status.uncountedTerminatedPods = BatchV1.UncountedTerminatedPods(failed: uncountedFailed.isEmpty ? nil : uncountedFailed,
                                                                         succeeded: uncountedSucceeded.isEmpty ? nil : uncountedSucceeded)
        if indexed { status.completedIndexes = completed.description }

        let active = pods.filter(PodStatusFacts.isActive)
        status.active = Int32(clamping: active.count)
        status.ready = Int32(clamping: active.filter(PodStatusFacts.isReady).count)
        status.terminating = Int32(clamping: pods.filter { PodStatusFacts.isTerminating($0) && !PodStatusFacts.isTerminal($0) }.count)
        let succeededTotal = succeeded + uncountedSucceeded.count
        let failedTotal = failed + uncountedFailed.count

        if finished {
            plan.status = status
            return plan
        }

        // 2. Suspension.
        if spec?.suspend == true && finishing == nil {
            plan.delete = active.compactMap { $0.metadata?.name }
            if setCondition(&status, type: "Suspended", status: "True", reason: "JobSuspended", message: "Job suspended", now: nowTime) {
                plan.events.append(Event("Normal", "Suspended", "Job suspended"))
            }
            plan.status = status
            return plan
        }
        if hasCondition(status, "Suspended") {
            _ = setCondition(&status, type: "Suspended", status: "False", reason: "JobResumed", message: "Job resumed", now: nowTime)
            status.startTime = nowTime
            plan.events.append(Event("Normal", "Resumed", "Job resumed"))
        }
        if status.startTime == nil { status.startTime = nowTime }

        // 3. Has the job met its success or failure criteria?
        var outcome = finishing
        if outcome == nil {
            if let failJob {
                outcome = .init(type: "FailureTarget", reason: failJob.reason, message: failJob.message)
            } else if failedTotal > Int(spec?.backoffLimit ?? 6) {
                outcome = .init(type: "FailureTarget", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit")
            } else if let deadline = spec?.activeDeadlineSeconds, let start = status.startTime,
                      start.secondsSinceEpoch + deadline <= now {
                outcome = .init(type: "FailureTarget", reason: "DeadlineExceeded", message: "Job was active longer than specified deadline")
            } else if indexed, let rule = spec?.successPolicy.flatMap({ matchSuccessPolicy($0, completed: completed, completions: completions ?? 0) }) {
                outcome = .init(type: "SuccessCriteriaMet", reason: "SuccessPolicy", message: "Matched rules at index \(rule)")
            } else if let completions, (indexed ? completed.count : succeededTotal) >= completions {
                outcome = .init(type: "SuccessCriteriaMet", reason: "CompletionsReached", message: "Reached expected number of succeeded pods")
            } else if completions == nil, succeededTotal > 0, active.isEmpty {
                outcome = .init(type: "SuccessCriteriaMet", reason: "CompletionsReached", message: "Reached expected number of succeeded pods")
            }
        }
        if let outcome {
            _ = setCondition(&status, type: outcome.type, status: "True", reason: outcome.reason, message: outcome.message, now: nowTime)
            plan.delete = active.compactMap { $0.metadata?.name }
            let settled = active.isEmpty && status.terminating == 0 && uncountedSucceeded.isEmpty && uncountedFailed.isEmpty
            if settled {
                if outcome.type == "SuccessCriteriaMet" {
                    _ = setCondition(&status, type: "Complete", status: "True", reason: outcome.reason, message: outcome.message, now: nowTime)
                    status.completionTime = nowTime
                    plan.events.append(Event("Normal", "Completed", "Job completed"))
                } else {
                    _ = setCondition(&status, type: "Failed", status: "True", reason: outcome.reason, message: outcome.message, now: nowTime)
                    plan.events.append(Event("Warning", outcome.reason, outcome.message))
                }
            }
            plan.status = status
            return plan
        }

        // 4. Scale the active pods toward what the job wants.
        if let deadline = spec?.activeDeadlineSeconds, let start = status.startTime {
            plan.requeueAfter = max(1, start.secondsSinceEpoch + deadline - now)
        }
        var deletions: [CoreV1.Pod] = []
        var wanted: [Int?] = []
        if indexed {
            let total = completions ?? 0
            var byIndex: [Int: [CoreV1.Pod]] = [:]
            for pod in active {
                guard let i = completionIndex(pod), i < total, !completed.contains(i) else {
                    deletions.append(pod)
                    continue
                }
                byIndex[i, default: []].append(pod)
            }
            for (_, same) in byIndex where same.count > 1 {
                deletions += rankForDeletion(same).dropLast()
            }
            let running = byIndex.count
            var room = max(0, parallelism - running)
            var i = 0
            while room > 0 && i < total {
                if !completed.contains(i) && byIndex[i] == nil {
                    wanted.append(i)
                    room -= 1
                }
                i += 1
            }
        } else {
            // With podReplacementPolicy Failed, a terminating pod holds its slot until it failed.
            let holding = spec?.podReplacementPolicy == "Failed" ? Int(status.terminating ?? 0) : 0
            var wantActive: Int
            if let completions {
                wantActive = max(0, min(parallelism, completions - succeededTotal))
            } else {
                wantActive = succeededTotal > 0 ? min(active.count, parallelism) : parallelism
            }
            if active.count > wantActive {
                deletions = Array(rankForDeletion(active).prefix(active.count - wantActive))
            } else {
                wanted = Array(repeating: nil, count: max(0, wantActive - active.count - holding))
            }
        }
        plan.delete = deletions.compactMap { $0.metadata?.name }
        if !wanted.isEmpty {
            if let retryAt = backoffUntil(pods: pods, job: job), retryAt > now {
                plan.requeueAfter = min(plan.requeueAfter ?? Int64.max, retryAt - now)
            } else {
                plan.create = Array(wanted.prefix(maxCreatesPerPass))
            }
        }
        plan.status = status
        return plan
    }

    // MARK: Conditions

    struct Outcome: Sendable, Hashable {
        var type: String
        var reason: String
        var message: String
    }

    static func hasCondition(_ status: BatchV1.JobStatus, _ type: String) -> Bool {
        status.conditions?.contains { $0.type == type && $0.status == "True" } ?? false
    }

    /// The interim condition of a job already on its way out.
    static func finishingCondition(_ status: BatchV1.JobStatus) -> Outcome? {
        for type in ["FailureTarget", "SuccessCriteriaMet"] {
            if let c = status.conditions?.first(where: { $0.type == type && $0.status == "True" }) {
                return Outcome(type: type, reason: c.reason ?? "", message: c.message ?? "")
            }
        }
        return nil
    }

    /// Sets a condition; returns whether it changed (a transition).
    @discardableResult
    static func setCondition(_ status: inout BatchV1.JobStatus, type: String, status value: String, reason: String,
                             message: String, now: MetaV1.Time) -> Bool {
        var conditions = status.conditions ?? []
        if let i = conditions.firstIndex(where: { $0.type == type }) {
            if conditions[i].status == value && conditions[i].reason == reason { return false }
            conditions[i] = BatchV1.JobCondition(lastProbeTime: now, lastTransitionTime: now, message: message, reason: reason,
                                                 status: value, type: type)
        } else {
            conditions.append(BatchV1.JobCondition(lastProbeTime: now, lastTransitionTime: now, message: message, reason: reason,
                                                   status: value, type: type))
        }
        status.conditions = conditions
        return true
    }

    // MARK: Pods

    static func hasTrackingFinalizer(_ pod: CoreV1.Pod) -> Bool {
        pod.metadata?.finalizers?.contains(trackingFinalizer) ?? false
    }

    /// The pod's completion index, from its annotation (or label).
    public static func completionIndex(_ pod: CoreV1.Pod) -> Int? {
        let text = pod.metadata?.annotations?[completionIndexKey] ?? pod.metadata?.labels?[completionIndexKey]
        guard let text, let i = Int(text), i >= 0 else { return nil }
        return i
    }

    /// Failed for the job: phase Failed, or (without a pod failure policy, where pods are
    /// replaced once terminating) being deleted before it succeeded.
    static func isFailed(_ pod: CoreV1.Pod, job: BatchV1.Job) -> Bool {
        if pod.status?.phase == "Failed" { return true }
        return job.spec?.podFailurePolicy == nil && pod.metadata?.deletionTimestamp != nil && pod.status?.phase != "Succeeded"
    }

    /// When the pod finished: its containers' latest finish, else its Ready transition, else its deletion.
    static func finishTime(_ pod: CoreV1.Pod) -> Int64? {
        let finishes = ((pod.status?.containerStatuses ?? []) + (pod.status?.initContainerStatuses ?? []))
            .compactMap { $0.state?.terminated?.finishedAt?.secondsSinceEpoch }
        if let last = finishes.max() { return last }
        if let t = PodStatusFacts.condition("Ready", of: pod)?.lastTransitionTime { return t.secondsSinceEpoch }
        return pod.metadata?.deletionTimestamp?.secondsSinceEpoch ?? pod.metadata?.creationTimestamp?.secondsSinceEpoch
    }

    /// The back-off delay after `failures` consecutive failures: 10 s doubling, capped at 6 min.
    public static func backoffDelay(failures: Int) -> Int64 {
        guard failures > 0 else { return 0 }
        if failures > 10 { return backoffCap }
        return min(backoffCap, backoffBase << Int64(failures - 1))
    }

    /// The time before which no new pod is created: the last failure after the last success
    /// plus the back-off for the number of such failures (failures the pod failure policy
    /// ignores do not count); nil when there is none.
    static func backoffUntil(pods: [CoreV1.Pod], job: BatchV1.Job) -> Int64? {
        let lastSuccess = pods.filter { $0.status?.phase == "Succeeded" }.compactMap(finishTime).max() ?? Int64.min
        let policy = job.spec?.podFailurePolicy
        let failures = pods.filter { pod in
            isFailed(pod, job: job) && policy.flatMap { matchFailurePolicy($0, pod: pod) }?.action != "Ignore"
        }.compactMap(finishTime).filter { $0 > lastSuccess }
        guard let last = failures.max() else { return nil }
        return last + backoffDelay(failures: failures.count)
    }

    /// Active pods, the ones to delete first at the front: unscheduled, then pending, then not
    /// ready, then the youngest.
    static func rankForDeletion(_ pods: [CoreV1.Pod]) -> [CoreV1.Pod] {
        func key(_ p: CoreV1.Pod) -> (Int, Int, Int, Int64) {
            let unscheduled = (p.spec?.nodeName ?? "").isEmpty ? 0 : 1
            let phase = p.status?.phase == "Pending" ? 0 : (p.status?.phase == "Running" ? 2 : 1)
            let ready = PodStatusFacts.isReady(p) ? 1 : 0
            return (unscheduled, phase, ready, -(p.metadata?.creationTimestamp?.secondsSinceEpoch ?? 0))
        }
        return pods.sorted { key($0) < key($1) }
    }

    // MARK: Policies

    /// The first rule of the pod failure policy that matches the failed pod: its action and the
    /// message Kubernetes records.
    public static func matchFailurePolicy(_ policy: BatchV1.PodFailurePolicy, pod: CoreV1.Pod) -> (action: String, message: String)? {
        let podName = "\(pod.metadata?.namespace ?? "")/\(pod.metadata?.name ?? "")"
        let terminated = ((pod.status?.initContainerStatuses ?? []) + (pod.status?.containerStatuses ?? []))
            .compactMap { s in s.state?.terminated.map { (s.name, $0.exitCode) } }
        for (i, rule) in policy.rules.enumerated() {
            if let req = rule.onExitCodes {
                for (container, code) in terminated where code != 0 && (req.containerName == nil || req.containerName == container) {
                    let listed = req.values.contains(code)
                    if (req.operator == "In" && listed) || (req.operator == "NotIn" && !listed) {
                        return (rule.action, "Container \(container) for pod \(podName) failed with exit code \(code) matching \(rule.action) rule at index \(i)")
                    }
                }
            }
            for pattern in rule.onPodConditions ?? [] {
                let want = pattern.status.isEmpty ? "True" : pattern.status
                if pod.status?.conditions?.contains(where: { $0.type == pattern.type && $0.status == want }) == true {
                    return (rule.action, "Pod \(podName) has condition \(pattern.type) matching \(rule.action) rule at index \(i)")
                }
            }
        }
        return nil
    }

    /// The index of the first success policy rule the completed indexes satisfy.
    public static func matchSuccessPolicy(_ policy: BatchV1.SuccessPolicy, completed: CompletionIndexSet, completions: Int) -> Int? {
        for (i, rule) in policy.rules.enumerated() {
            let scope = rule.succeededIndexes.map { CompletionIndexSet(parsing: $0, limit: completions) }
            let done = scope.map { $0.indexes.intersection(completed.indexes).count } ?? completed.count
            if let count = rule.succeededCount {
                if done >= Int(count) && count > 0 { return i }
            } else if let scope, !scope.indexes.isEmpty, done == scope.count {
                return i
            }
        }
        return nil
    }

    // MARK: Pod template

    /// The pod the job creates (with `generateName`), for a completion index in Indexed mode.
    public static func makePod(job: BatchV1.Job, index: Int?) -> CoreV1.Pod {
        let template = job.spec?.template
        let jobName = job.metadata?.name ?? ""
        var meta = template?.metadata ?? MetaV1.ObjectMeta()
        meta.name = nil
        meta.namespace = job.metadata?.namespace
        meta.generateName = index.map { "\(jobName)-\($0)-" } ?? "\(jobName)-"
        meta.finalizers = (meta.finalizers ?? []) + [trackingFinalizer]
        meta.ownerReferences = [MetaV1.OwnerReference(apiVersion: "batch/v1", kind: "Job", blockOwnerDeletion: true, controller: true,
                                                      name: jobName, uid: job.metadata?.uid ?? "")]
        var spec = template?.spec ?? CoreV1.PodSpec(containers: [])
        if let index {
            meta.annotations = (meta.annotations ?? [:]).merging([completionIndexKey: String(index)]) { _, new in new }
            meta.labels = (meta.labels ?? [:]).merging([completionIndexKey: String(index)]) { _, new in new }
            if (spec.hostname ?? "").isEmpty { spec.hostname = "\(jobName)-\(index)" }
            let env = CoreV1.EnvVar(name: "JOB_COMPLETION_INDEX", valueFrom: CoreV1.EnvVarSource(
                fieldRef: CoreV1.ObjectFieldSelector(fieldPath: "metadata.annotations['\(completionIndexKey)']")))
            func addEnv(_ c: inout CoreV1.Container) {
                if c.env?.contains(where: { $0.name == env.name }) != true { c.env = (c.env ?? []) + [env] }
            }
            for i in spec.containers.indices { addEnv(&spec.containers[i]) }
            if var inits = spec.initContainers {
                for i in inits.indices { addEnv(&inits[i]) }
                spec.initContainers = inits
            }
        }
        return CoreV1.Pod(metadata: meta, spec: spec)
    }
}
