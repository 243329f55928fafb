import CapstanAPI

/// The pure scheduler: profiles, cache, snapshot and queue, driven by informer events and a
/// loop that calls `scheduleOne()`. It performs no IO: it returns what to write (a binding,
/// a FailedScheduling event and condition, victims to evict) and is told how the write went.
///
/// ```
/// core.addNode(node); core.addPod(pod)            // from informers
/// while let outcome = core.scheduleOne() {        // the scheduling loop
///     switch outcome {
///     case .bind(let task): write task.binding; core.bindingSucceeded(task) // or bindingFailed
///     case .unschedulable(let pod, let u): record event u.message, set u.condition
///     case .preempt(let pod, let p): evict p.victims, set nominatedNodeName, record event
///     ...
///     }
/// }
/// core.tick()                                     // about once a second
/// ```
///
/// Not thread-safe: confine it (and its cache, queue and snapshot) to one isolation domain.
public final class SchedulerCore {
    public struct Configuration: Sendable {
        /// Scheduler-wide percentage of nodes to score (0: adaptive).
        public var percentageOfNodesToScore: Int32 = 0
        public var queue = SchedulingQueue.Configuration()
        /// How long a bound-but-unobserved assumed pod is kept (nil: forever).
        public var assumedPodTTL: Duration? = .seconds(15 * 60)
        /// Seed of the tie-breaking random generator.
        public var seed: UInt64 = 0x5EED

        public init() {}
    }

    /// A pod placed by `scheduleOne()`, waiting for its binding to be written.
    public struct BindingTask: Sendable {
        /// The pod as assumed (with `spec.nodeName` set).
        public var pod: PodInfo
        public var nodeName: String
        /// The pods/binding subresource to create.
        public var binding: CoreV1.Binding
        public var result: ScheduleResult

        /// The reason and message of the Normal event Kubernetes records once bound.
        public static let eventReason = "Scheduled"
        public var eventMessage: String { "Successfully assigned \(pod.key) to \(nodeName)" }
    }

    /// What a scheduling cycle produced.
    public enum Outcome: Sendable {
        case bind(BindingTask)
        case unschedulable(pod: PodInfo, Unschedulable)
        case preempt(pod: PodInfo, Preemption)
        /// A Permit plugin asked to wait; call `allowWaitingPod`/`rejectWaitingPod`.
        case waiting(pod: PodInfo, nodeName: String)
        /// The pod was dropped (no profile for its scheduler, already assigned).
        case skipped(pod: PodInfo)
    }

    private struct InFlight {
        var queued: QueuedPodInfo
        var assumed: PodInfo
        var state: CycleState
        var framework: Framework
        var result: ScheduleResult
        var cycle: Int64
        var waitingOn: [String: Duration]
    }

    public let frameworks: [String: Framework]
    public let cache: SchedulerCache
    public let queue: SchedulingQueue
    public let snapshot = Snapshot()
    @exclusivity(unchecked) public private(set) var priorityClasses = PriorityClassTable()
    @exclusivity(unchecked) private var algorithm: SchedulingAlgorithm
    @exclusivity(unchecked) private var random: SplitMix64
    private let clock: SchedulerClock
    @exclusivity(unchecked) private var inFlight: [String: InFlight] = [:]

    public init(profiles: [Profile], clock: SchedulerClock = .continuous, configuration: Configuration = Configuration()) {
        precondition(!profiles.isEmpty, "at least one profile")
        var fw: [String: Framework] = [:]
        for p in profiles { fw[p.schedulerName] = Framework(profile: p) }
        frameworks = fw
        self.clock = clock
        cache = SchedulerCache(clock: clock, assumedPodTTL: configuration.assumedPodTTL)
        algorithm = SchedulingAlgorithm(percentageOfNodesToScore: configuration.percentageOfNodesToScore)
        random = SplitMix64(seed: configuration.seed)
        let sortPlugin = fw[profiles[0].schedulerName]!.queueSort
        let less: (QueuedPodInfo, QueuedPodInfo) -> Bool = sortPlugin.map { p in { p.less($0, $1) } } ?? { a, b in
            a.podInfo.priority != b.podInfo.priority ? a.podInfo.priority > b.podInfo.priority : a.sequence < b.sequence
        }
        var events: [String: [String: [ClusterEventWithHint]]] = [:]
        for (name, f) in fw { events[name] = f.eventsByPlugin() }
        let frameworksForGate = fw
        queue = SchedulingQueue(clock: clock, configuration: configuration.queue, less: less, preEnqueue: { pod in
            frameworksForGate[pod.schedulerName]?.runPreEnqueuePlugins(pod) ?? .success
        }, events: events)
    }

    // MARK: Pure decision

    /// Decides where `pod` goes in `snapshot`: PreFilter, Filter, Score, and PostFilter
    /// (preemption) when nothing fits. Changes nothing but the round-robin start and the
    /// tie-break generator.
    public func schedule(_ pod: PodInfo, snapshot: Snapshot) -> Decision {
        guard let fw = frameworks[pod.schedulerName] else {
            return .unschedulable(Unschedulable(message: "no profile for scheduler \"\(pod.schedulerName)\"",
                                                reason: Unschedulable.reasonSchedulerError))
        }
        return schedule(pod, framework: fw, state: CycleState(snapshot: snapshot))
    }

    private func schedule(_ pod: PodInfo, framework fw: Framework, state: CycleState) -> Decision {
        switch algorithm.schedulePod(framework: fw, state: state, pod: pod, nominator: queue, random: &random) {
        case .success(let r):
            return .bind(node: r.suggestedHost, result: r)
        case .failure(.noNodes):
            return .unschedulable(Unschedulable(message: ScheduleFailure.noNodesMessage))
        case .failure(.error(let s)):
            return .unschedulable(Unschedulable(message: s.message, reason: Unschedulable.reasonSchedulerError))
        case .failure(.fit(var fitError)):
            var clearNomination = false
            if !fw.postFilter.isEmpty {
                var statuses = fitError.diagnosis.nodeToStatus
                statuses.buildIndex()
                let ctx = PostFilterContext(framework: fw, nodeToStatus: statuses, nominator: queue, randomSeed: random.next())
                let (result, s) = fw.runPostFilterPlugins(state: state, pod: pod, context: ctx)
                fitError.diagnosis.postFilterMessage = s.message
                if s.isSuccess, let result, !result.nominatedNodeName.isEmpty {
                    return .preempt(Preemption(nominatedNodeName: result.nominatedNodeName, victims: result.victims,
                                               nominationsToClear: result.nominationsToClear, message: fitError.message,
                                               unschedulablePlugins: fitError.diagnosis.unschedulablePlugins))
                }
                if let result, result.nominatedNodeName.isEmpty, !pod.nominatedNodeName.isEmpty { clearNomination = true }
            }
            return .unschedulable(Unschedulable(message: fitError.message, unschedulablePlugins: fitError.diagnosis.unschedulablePlugins,
                                                pendingPlugins: fitError.diagnosis.pendingPlugins, clearNominatedNodeName: clearNomination))
        }
    }

    // MARK: Scheduling loop

    /// Pops the next pod and runs its scheduling cycle against an updated snapshot; on
    /// success assumes it in the cache and runs Reserve, Permit, PreBind and Bind (which only
    /// produce the binding). Nil when no pod is ready.
    public func scheduleOne() -> Outcome? {
        guard let q = queue.pop() else { return nil }
        let cycle = queue.schedulingCycle
        let pod = q.podInfo
        guard let fw = frameworks[pod.schedulerName], pod.nodeName.isEmpty else {
            queue.done(q)
            return .skipped(pod: pod)
        }
        cache.updateSnapshot(snapshot)
        let state = CycleState(snapshot: snapshot)
        switch schedule(pod, framework: fw, state: state) {
        case .bind(let node, let result):
            return assumeAndBind(q, framework: fw, state: state, node: node, result: result, cycle: cycle)
        case .unschedulable(let u):
            if u.clearNominatedNodeName {
                queue.deleteNominated(uid: pod.uid)
                q._podInfo = pod.nominated(to: "")
            }
            queue.addUnschedulableIfNotPresent(q, unschedulablePlugins: u.unschedulablePlugins, pendingPlugins: u.pendingPlugins,
                                               podSchedulingCycle: cycle)
            return .unschedulable(pod: pod, u)
        case .preempt(let p):
            for other in p.nominationsToClear { queue.deleteNominated(uid: other.uid) }
            q._podInfo = pod.nominated(to: p.nominatedNodeName)
            queue.addUnschedulableIfNotPresent(q, unschedulablePlugins: p.unschedulablePlugins, podSchedulingCycle: cycle)
            queue.addNominated(q.podInfo, nodeName: p.nominatedNodeName)
            return .preempt(pod: pod, p)
        }
    }

    private func assumeAndBind(_ q: QueuedPodInfo, framework fw: Framework, state: CycleState, node: String,
                               result: ScheduleResult, cycle: Int64) -> Outcome {
        let pod = q.podInfo
        let assumed = pod.assigned(to: node)
        do {
            try cache.assumePod(assumed)
        } catch {
            return fail(q, state: nil, framework: fw, assumed: nil, message: error.description, cycle: cycle, error: true)
        }
        queue.deleteNominated(uid: pod.uid)
        let r = fw.runReservePluginsReserve(state: state, pod: assumed, nodeName: node)
        if !r.isSuccess {
            return fail(q, state: state, framework: fw, assumed: assumed, message: r.message, cycle: cycle, error: !r.isRejected,
                        plugins: r.plugin.isEmpty ? [] : [r.plugin])
        }
        let (permit, waitingOn) = fw.runPermitPlugins(state: state, pod: assumed, nodeName: node)
        if permit.code == .wait {
            let now = clock.now()
            inFlight[pod.uid] = InFlight(queued: q, assumed: assumed, state: state, framework: fw, result: result, cycle: cycle,
                                         waitingOn: waitingOn.mapValues { now + $0 })
            return .waiting(pod: assumed, nodeName: node)
        }
        if !permit.isSuccess {
            return fail(q, state: state, framework: fw, assumed: assumed, message: permit.message, cycle: cycle, error: !permit.isRejected,
                        plugins: permit.plugin.isEmpty ? [] : [permit.plugin])
        }
        return bindingTask(InFlight(queued: q, assumed: assumed, state: state, framework: fw, result: result, cycle: cycle, waitingOn: [:]))
    }

    private func bindingTask(_ f: InFlight) -> Outcome {
        let node = f.assumed.nodeName
        let pre = f.framework.runPreBindPlugins(state: f.state, pod: f.assumed, nodeName: node)
        if !pre.isSuccess {
            return fail(f.queued, state: f.state, framework: f.framework, assumed: f.assumed, message: pre.message, cycle: f.cycle, error: true)
        }
        let (binding, s) = f.framework.runBindPlugins(state: f.state, pod: f.assumed, nodeName: node)
        guard s.isSuccess, let binding else {
            let msg = s.isSkip ? "no bind plugin bound the pod" : s.message
            return fail(f.queued, state: f.state, framework: f.framework, assumed: f.assumed, message: msg, cycle: f.cycle, error: true)
        }
        inFlight[f.assumed.uid] = f
        return .bind(BindingTask(pod: f.assumed, nodeName: node, binding: binding, result: f.result))
    }

    private func fail(_ q: QueuedPodInfo, state: CycleState?, framework fw: Framework, assumed: PodInfo?, message: String, cycle: Int64,
                      error: Bool, plugins: Set<String> = []) -> Outcome {
        if let assumed {
            if let state { fw.runReservePluginsUnreserve(state: state, pod: assumed, nodeName: assumed.nodeName) }
            try? cache.forgetPod(assumed)
        }
        inFlight[q.podInfo.uid] = nil
        queue.addUnschedulableIfNotPresent(q, unschedulablePlugins: error ? [] : plugins, podSchedulingCycle: cycle)
        let u = Unschedulable(message: message, reason: error ? Unschedulable.reasonSchedulerError : Unschedulable.reasonUnschedulable,
                              unschedulablePlugins: plugins)
        return .unschedulable(pod: q.podInfo, u)
    }

    /// The binding was written: the assumed pod starts its TTL; PostBind runs.
    public func bindingSucceeded(_ task: BindingTask) {
        guard let f = inFlight.removeValue(forKey: task.pod.uid) else { return }
        cache.finishBinding(f.assumed)
        queue.done(f.queued)
        f.framework.runPostBindPlugins(state: f.state, pod: f.assumed, nodeName: f.assumed.nodeName)
    }

    /// Writing the binding failed: undo the assumption and retry the pod after back-off.
    /// Returns the FailedScheduling outcome to report.
    @discardableResult
    public func bindingFailed(_ task: BindingTask, message: String) -> Outcome? {
        guard let f = inFlight.removeValue(forKey: task.pod.uid) else { return nil }
        return fail(f.queued, state: f.state, framework: f.framework, assumed: f.assumed, message: "binding rejected: \(message)",
                    cycle: f.cycle, error: true)
    }

    /// A Permit plugin allows a waiting pod; once all have, the binding is produced.
    public func allowWaitingPod(uid: String, plugin: String) -> Outcome? {
        guard var f = inFlight[uid], !f.waitingOn.isEmpty else { return nil }
        f.waitingOn[plugin] = nil
        inFlight[uid] = f
        guard f.waitingOn.isEmpty else { return nil }
        inFlight[uid] = nil
        return bindingTask(f)
    }

    /// A Permit plugin rejects a waiting pod.
    public func rejectWaitingPod(uid: String, plugin: String, message: String) -> Outcome? {
        guard let f = inFlight[uid], !f.waitingOn.isEmpty else { return nil }
        return fail(f.queued, state: f.state, framework: f.framework, assumed: f.assumed, message: message, cycle: f.cycle, error: false,
                    plugins: [plugin])
    }

    /// Periodic work: queue flushes, expired assumed pods, timed-out waiting pods.
    @discardableResult
    public func tick() -> [Outcome] {
        queue.tick()
        let expired = cache.cleanupExpiredAssumedPods()
        if !expired.isEmpty { queue.moveAllToActiveOrBackoffQueue(ClusterEvent(.assignedPod, .delete)) }
        var outcomes: [Outcome] = []
        let now = clock.now()
        for (uid, f) in inFlight where !f.waitingOn.isEmpty {
            if let (plugin, _) = f.waitingOn.first(where: { $0.value <= now }),
               let o = rejectWaitingPod(uid: uid, plugin: plugin, message: "rejected due to timeout after waiting at permit") {
                outcomes.append(o)
            }
        }
        return outcomes
    }

    // MARK: Informer events

    public func setPriorityClasses(_ classes: [SchedulingV1.PriorityClass]) {
        priorityClasses = PriorityClassTable(classes)
    }

    /// The PodInfo the scheduler uses for `pod` (priority resolved).
    public func podInfo(_ pod: CoreV1.Pod) -> PodInfo { PodInfo(pod, priorityClasses: priorityClasses) }

    private static func isTerminal(_ pod: CoreV1.Pod) -> Bool {
        let phase = pod.status?.phase
        return phase == "Succeeded" || phase == "Failed"
    }

    private func isResponsible(_ p: PodInfo) -> Bool { frameworks[p.schedulerName] != nil }

    public func addPod(_ pod: CoreV1.Pod) {
        if Self.isTerminal(pod) { return }
        let p = podInfo(pod)
        if !p.nodeName.isEmpty {
            queue.delete(p)
            cache.addPod(p)
            queue.moveAllToActiveOrBackoffQueue(ClusterEvent(.assignedPod, .add), ClusterEventObjects(newPod: p))
        } else if isResponsible(p) {
            queue.add(p)
        }
    }

    public func updatePod(old: CoreV1.Pod, new: CoreV1.Pod) {
        if Self.isTerminal(new) {
            deletePod(old)
            return
        }
        let o = podInfo(old), n = podInfo(new)
        if !n.nodeName.isEmpty {
            if o.nodeName.isEmpty {
                // The binding was observed (or another scheduler placed the pod).
                queue.delete(n)
                cache.addPod(n)
                queue.moveAllToActiveOrBackoffQueue(ClusterEvent(.assignedPod, .add), ClusterEventObjects(newPod: n))
            } else {
                cache.updatePod(old: o, new: n)
                queue.moveAllToActiveOrBackoffQueue(ClusterEvent.podChange(old: old, new: new), ClusterEventObjects(oldPod: o, newPod: n))
            }
        } else if isResponsible(n) {
            if cache.isAssumed(uid: n.uid) { return }
            queue.update(old: o, new: n)
        }
    }

    public func deletePod(_ pod: CoreV1.Pod) {
        let p = podInfo(pod)
        if !p.nodeName.isEmpty || cache.pod(uid: p.uid) != nil {
            cache.removePod(p)
            queue.deleteNominated(uid: p.uid)
            queue.moveAllToActiveOrBackoffQueue(ClusterEvent(.assignedPod, .delete), ClusterEventObjects(oldPod: p))
        } else {
            queue.delete(p)
            if let f = inFlight[p.uid], !f.waitingOn.isEmpty { _ = rejectWaitingPod(uid: p.uid, plugin: "", message: "pod deleted") }
        }
    }

    public func addNode(_ node: CoreV1.Node) {
        cache.addNode(node)
        queue.moveAllToActiveOrBackoffQueue(ClusterEvent(.node, .add), ClusterEventObjects(newNode: node))
    }

    public func updateNode(old: CoreV1.Node, new: CoreV1.Node) {
        cache.updateNode(new)
        let event = ClusterEvent.nodeChange(old: old, new: new)
        if !event.actionType.isEmpty {
            queue.moveAllToActiveOrBackoffQueue(event, ClusterEventObjects(oldNode: old, newNode: new))
        }
    }

    public func deleteNode(_ node: CoreV1.Node) {
        cache.removeNode(node.metadata?.name ?? "")
        queue.moveAllToActiveOrBackoffQueue(ClusterEvent(.node, .delete), ClusterEventObjects(oldNode: node))
    }

    public func setNamespace(_ ns: CoreV1.Namespace) {
        cache.setNamespace(ns)
        queue.moveAllToActiveOrBackoffQueue(ClusterEvent(.namespace, .add))
    }

    public func setPodDisruptionBudget(_ pdb: PolicyV1.PodDisruptionBudget) { cache.setPodDisruptionBudget(pdb) }
}
