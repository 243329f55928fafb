import CapstanAPI
import CapstanSchedulerFramework
import Synchronization

/// The one isolation domain of ``SchedulerCore``: informer events go in, the scheduling loop
/// drains the queue, and decisions go out as writes for the binder and status workers.
///
/// Pod and node events and binding results are posted to an inbox without waiting for the
/// actor, and the loop takes them all in before every scheduling cycle. Handing them over one
/// actor call at a time let a busy loop starve the informers: each call waited for the loop to
/// yield, so pods reached the queue a few hundred per second however fast they were created.
actor SchedulerLoop {
    enum Posted: Sendable {
        case podChanged(CoreV1.Pod)
        case podDeleted(CoreV1.Pod)
        case nodeChanged(CoreV1.Node)
        case nodeDeleted(CoreV1.Node)
        case bindingFinished(SchedulerCore.BindingTask, error: String?)
    }

    let core: SchedulerCore
    nonisolated let scheduler: Scheduler
    private nonisolated let wake: AsyncStream<Void>.Continuation
    private nonisolated let inbox = Mutex<[Posted]>([])
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
            takeInbox()
            guard unsynced.isEmpty else { continue }
            var cycles = 0
            var busy = Duration.zero
            while !Task.isCancelled {
                // What the informers and binders posted meanwhile counts for the next cycle.
                takeInbox()
                let start = ContinuousClock.now
                guard let outcome = core.scheduleOne() else { break }
                handle(outcome)
                busy += ContinuousClock.now - start
                cycles += 1
                // Let the other calls (namespaces, priority classes, the tick) in now and then.
                if cycles % 64 == 0 { await Task.yield() }
            }
            scheduler.stats.withLock { $0.schedulingTime += busy }
        }
    }

    func tick() {
        takeInbox()
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

    // MARK: Posted events

    /// Queues `event` for the loop and wakes it; never waits.
    nonisolated func post(_ event: Posted) {
        inbox.withLock { $0.append(event) }
        wake.yield()
    }

    /// Applies everything posted so far, in order; returns how many.
    @discardableResult
    private func takeInbox() -> Int {
        let posted = inbox.withLock { i -> [Posted] in
            if i.isEmpty { return [] }
            defer { i.removeAll(keepingCapacity: true) }
            return i
        }
        guard !posted.isEmpty else { return 0 }
        var podEvents = 0
        for item in posted {
            switch item {
            case .podChanged(let pod):
                podEvents += 1
                podChanged(pod, uid: Self.uid(pod))
            case .podDeleted(let pod):
                podEvents += 1
                core.deletePod(pods.removeValue(forKey: Self.uid(pod)) ?? pod)
            case .nodeChanged(let node):
                let name = node.metadata?.name ?? ""
                if let old = nodes.updateValue(node, forKey: name) {
                    core.updateNode(old: old, new: node)
                } else {
                    core.addNode(node)
                }
            case .nodeDeleted(let node):
                core.deleteNode(nodes.removeValue(forKey: node.metadata?.name ?? "") ?? node)
            case .bindingFinished(let task, let error):
                if let error {
                    if let outcome = core.bindingFailed(task, message: error) { handle(outcome) }
                } else {
                    core.bindingSucceeded(task)
                    event(task.pod, type: "Normal", reason: SchedulerCore.BindingTask.eventReason, message: task.eventMessage)
                }
            }
        }
        if podEvents > 0 { scheduler.stats.withLock { $0.podEvents += podEvents } }
        return posted.count
    }

    // MARK: Informer events

    func synced(_ informer: String) {
        takeInbox()
        unsynced.remove(informer)
        if unsynced.isEmpty {
            scheduler.markSynced()
            wake.yield()
        }
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
