import CapstanAPI
import CapstanSchedulerFramework

/// The one isolation domain of ``SchedulerCore``: informer events go in, the scheduling loop
/// drains the queue, and decisions go out as writes for the binder and status workers.
actor SchedulerLoop {
    let core: SchedulerCore
    private let scheduler: Scheduler
    private let wake: AsyncStream<Void>.Continuation
    private let binds: AsyncStream<SchedulerCore.BindingTask>.Continuation
    private let writes: AsyncStream<StatusWrite>.Continuation

    /// The last object seen of each kind, for the old side of updates and relist diffs.
    private var pods: [String: CoreV1.Pod] = [:]
    private var nodes: [String: CoreV1.Node] = [:]
    private var priorityClasses: [String: SchedulingV1.PriorityClass] = [:]
    private var unsynced: Set<String> = Set(Informers.names)

    init(scheduler: Scheduler, wake: AsyncStream<Void>.Continuation, binds: AsyncStream<SchedulerCore.BindingTask>.Continuation,
         writes: AsyncStream<StatusWrite>.Continuation) {
        self.scheduler = scheduler
        self.wake = wake
        self.binds = binds
        self.writes = writes
        core = SchedulerCore(profiles: scheduler.configuration.profiles, configuration: scheduler.configuration.core)
    }

    // MARK: Scheduling

    /// Schedules whenever woken, until the wake stream ends.
    func schedulingLoop(_ signals: AsyncStream<Void>) async {
        for await _ in signals {
            guard unsynced.isEmpty else { continue }
            var cycles = 0
            var start = ContinuousClock.now
            while !Task.isCancelled, let outcome = core.scheduleOne() {
                handle(outcome)
                cycles += 1
                // Let informer events and binding results in now and then.
                if cycles % 64 == 0 {
                    record(since: start)
                    await Task.yield()
                    start = ContinuousClock.now
                }
            }
            record(since: start)
        }
    }

    private func record(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        scheduler.stats.withLock { $0.schedulingTime += elapsed }
    }

    func tick() {
        for outcome in core.tick() { handle(outcome) }
        let queued = core.queue.count
        scheduler.stats.withLock { $0.queuedPods = queued }
        wake.yield()
    }

    private func handle(_ outcome: SchedulerCore.Outcome) {
        switch outcome {
        case .bind(let task):
            binds.yield(task)
        case .unschedulable(let pod, let u):
            scheduler.stats.withLock { $0.unschedulable += 1 }
            // Only a change of the condition (or nomination) is written, as kube-scheduler does.
            let nomination: String?? = u.clearNominatedNodeName ? .some(nil) : .none
            if nomination != nil || !Self.hasCondition(pod.pod, u.condition) {
                writes.yield(.condition(pod, u.condition, nominatedNodeName: nomination))
            }
            event(pod, type: "Warning", reason: Unschedulable.eventReason, message: u.message)
        case .preempt(let pod, let p):
            scheduler.stats.withLock { $0.preemptions += 1 }
            writes.yield(.condition(pod, p.condition, nominatedNodeName: .some(p.nominatedNodeName)))
            for other in p.nominationsToClear {
                writes.yield(.condition(other, nil, nominatedNodeName: .some(nil)))
            }
            for victim in p.victims {
                writes.yield(.evict(victim, p.victimCondition(preemptor: pod)))
                event(victim, type: "Normal", reason: "Preempted", message: "Preempted by pod \(pod.uid) on node \(p.nominatedNodeName)")
            }
            event(pod, type: "Warning", reason: Unschedulable.eventReason, message: p.message)
        case .waiting, .skipped:
            break
        }
    }

    private func event(_ pod: PodInfo, type: String, reason: String, message: String) {
        guard scheduler.configuration.recordEvents else { return }
        let pending = scheduler.pendingEvents.add(1, ordering: .relaxed).newValue
        if pending > scheduler.configuration.maxPendingEvents {
            scheduler.pendingEvents.subtract(1, ordering: .relaxed)
            scheduler.stats.withLock { $0.eventsDropped += 1 }
            return
        }
        writes.yield(.event(pod, type: type, reason: reason, message: message))
    }

    static func hasCondition(_ pod: CoreV1.Pod, _ c: CoreV1.PodCondition) -> Bool {
        guard let existing = pod.status?.conditions?.first(where: { $0.type == c.type }) else { return false }
        return existing.status == c.status && existing.reason == c.reason && existing.message == c.message
    }

    func bindingFinished(_ task: SchedulerCore.BindingTask, error: String?) {
        if let error {
            if let outcome = core.bindingFailed(task, message: error) { handle(outcome) }
        } else {
            core.bindingSucceeded(task)
            event(task.pod, type: "Normal", reason: SchedulerCore.BindingTask.eventReason, message: task.eventMessage)
        }
        wake.yield()
    }

    // MARK: Informer events

    func synced(_ informer: String) {
        unsynced.remove(informer)
        if unsynced.isEmpty {
            scheduler.markSynced()
            wake.yield()
        }
    }

    func podChanged(_ pod: CoreV1.Pod) {
        podChanged(pod, uid: Self.uid(pod))
        wake.yield()
    }

    private func podChanged(_ pod: CoreV1.Pod, uid: String) {
        if let old = pods.updateValue(pod, forKey: uid) {
            core.updatePod(old: old, new: pod)
        } else {
            core.addPod(pod)
        }
        let phase = pod.status?.phase
        if phase == "Succeeded" || phase == "Failed" { pods[uid] = nil }
    }

    func podDeleted(_ pod: CoreV1.Pod) {
        let uid = Self.uid(pod)
        core.deletePod(pods.removeValue(forKey: uid) ?? pod)
        wake.yield()
    }

    func nodeChanged(_ node: CoreV1.Node) {
        let name = node.metadata?.name ?? ""
        if let old = nodes.updateValue(node, forKey: name) {
            core.updateNode(old: old, new: node)
        } else {
            core.addNode(node)
        }
        wake.yield()
    }

    func nodeDeleted(_ node: CoreV1.Node) {
        let name = node.metadata?.name ?? ""
        core.deleteNode(nodes.removeValue(forKey: name) ?? node)
        wake.yield()
    }

    func priorityClassesChanged(replacing list: [SchedulingV1.PriorityClass]? = nil, upsert: SchedulingV1.PriorityClass? = nil,
                                delete: SchedulingV1.PriorityClass? = nil) {
        if let list { priorityClasses = Dictionary(list.map { ($0.metadata?.name ?? "", $0) }, uniquingKeysWith: { a, _ in a }) }
        if let upsert { priorityClasses[upsert.metadata?.name ?? ""] = upsert }
        if let delete { priorityClasses[delete.metadata?.name ?? ""] = nil }
        core.setPriorityClasses(Array(priorityClasses.values))
    }

    /// For kinds the cache keeps by namespace/name: set or remove.
    func apply(_ body: (SchedulerCache) -> Void) {
        body(core.cache)
        wake.yield()
    }

    func namespaceChanged(_ ns: CoreV1.Namespace) {
        core.setNamespace(ns)
        wake.yield()
    }

    static func uid(_ pod: CoreV1.Pod) -> String {
        pod.metadata?.uid ?? ((pod.metadata?.namespace ?? "default") + "/" + (pod.metadata?.name ?? ""))
    }
}
