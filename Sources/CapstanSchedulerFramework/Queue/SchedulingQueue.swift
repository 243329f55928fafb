import CapstanAPI

/// Kubernetes' priority queue of pods waiting to be scheduled:
///
/// - **active**: a heap ordered by the QueueSort plugin (priority, then time added); `pop()`
///   takes the next pod;
/// - **back-off**: pods that failed recently, each waiting 1 s doubling per attempt up to
///   10 s (`flushBackoffCompleted()` moves due pods to active);
/// - **unschedulable**: pods rejected by plugins, moved back when a cluster event those
///   plugins registered happens (`moveAllToActiveOrBackoffQueue`), or after 5 minutes
///   (`flushUnschedulableLeftover()`);
///
/// plus the nominator: which pods are nominated to which nodes after preemption.
///
/// All times come from the injected clock. Not thread-safe: confine to the scheduler's
/// isolation domain; the driver calls `tick()` about once a second.
public final class SchedulingQueue: PodNominator {
    public struct Configuration: Sendable {
        public var initialBackoff: Duration = .seconds(1)
        public var maxBackoff: Duration = .seconds(10)
        /// Pods sit in unschedulable at most this long before a retry.
        public var maxInUnschedulable: Duration = .seconds(5 * 60)
        /// How often `tick()` checks the unschedulable pods for that timeout.
        public var unschedulableFlushInterval: Duration = .seconds(30)

        public init() {}
    }

    public let configuration: Configuration
    private let clock: SchedulerClock
    @exclusivity(unchecked) private var active: PodHeap
    @exclusivity(unchecked) private var backoff: PodHeap
    @exclusivity(unchecked) private var pods: [String: QueuedPodInfo] = [:]
    @exclusivity(unchecked) private var unschedulableCount = 0
    @exclusivity(unchecked) private var sequence: UInt64 = 0
    /// Incremented by every `pop()`.
    @exclusivity(unchecked) public private(set) var schedulingCycle: Int64 = 0
    @exclusivity(unchecked) private var moveRequestCycle: Int64 = -1
    @exclusivity(unchecked) private var lastUnschedulableFlush: Duration = .zero

    private let preEnqueue: (PodInfo) -> Status
    /// Scheduler name -> plugin name -> events registered.
    private let events: [String: [String: [ClusterEventWithHint]]]

    @exclusivity(unchecked) private var nominatedPodsByNode: [String: [PodInfo]] = [:]
    @exclusivity(unchecked) private var nominatedNodeByPod: [String: String] = [:]

    /// - Parameters:
    ///   - less: the QueueSort order (the PrioritySort plugin's).
    ///   - preEnqueue: gates a pod before it enters active (scheduling gates).
    ///   - events: per scheduler name, per plugin, the events that may make its rejections go away.
    public init(clock: SchedulerClock, configuration: Configuration = Configuration(),
                less: @escaping (QueuedPodInfo, QueuedPodInfo) -> Bool,
                preEnqueue: @escaping (PodInfo) -> Status = { _ in .success },
                events: [String: [String: [ClusterEventWithHint]]] = [:]) {
        self.clock = clock
        self.configuration = configuration
        self.preEnqueue = preEnqueue
        self.events = events
        active = PodHeap(less: less)
        let maxBackoff = configuration.maxBackoff, initial = configuration.initialBackoff
        backoff = PodHeap { a, b in
            let ta = Self.backoffExpiry(a, initial: initial, max: maxBackoff)
            let tb = Self.backoffExpiry(b, initial: initial, max: maxBackoff)
            if ta != tb { return ta < tb }
            return less(a, b)
        }
        lastUnschedulableFlush = clock.now()
    }

    // MARK: Sizes

    public var activeCount: Int { active.count }
    public var backoffCount: Int { backoff.count }
    public var unschedulablePodCount: Int { unschedulableCount }
    public var count: Int { pods.count }

    /// Where a pod is, by `namespace/name`.
    public func location(of key: String) -> QueuedPodInfo.Location? { pods[key]?.location }
    public func queued(_ key: String) -> QueuedPodInfo? { pods[key] }

    /// The pods in unschedulable.
    public var unschedulablePods: [QueuedPodInfo] { pods.values.filter { $0.location == .unschedulable } }

    // MARK: Informer-driven changes

    /// A new unscheduled pod.
    public func add(_ pod: PodInfo) {
        let now = clock.now()
        if let existing = pods[pod.key] {
            existing._podInfo = pod
            if existing.location == .inFlight { existing.updatedWhileInFlight = pod; return }
            detach(existing)
            existing._timestamp = now
            moveToActive(existing)
            return
        }
        let q = QueuedPodInfo(pod, timestamp: now, sequence: nextSequence())
        pods[pod.key] = q
        moveToActive(q)
        addNominated(pod, nodeName: nil)
    }

    /// An unscheduled pod changed.
    public func update(old: PodInfo, new: PodInfo) {
        guard let q = pods[new.key] else {
            add(new)
            return
        }
        updateNominated(old: old, new: new)
        switch q.location {
        case .inFlight:
            q.updatedWhileInFlight = new
            moveRequestCycle = schedulingCycle
        case .active:
            q._podInfo = new
            active.fix(q)
        case .backoff:
            q._podInfo = new
            backoff.fix(q)
        case .unschedulable:
            let changed = Self.isPodUpdated(old: old.pod, new: new.pod)
            q._podInfo = new
            if changed {
                detach(q)
                if isBackingOff(q) { moveToBackoff(q) } else { moveToActive(q) }
            }
        case .none:
            q._podInfo = new
            moveToActive(q)
        }
    }

    /// An unscheduled pod was deleted (or got assigned elsewhere).
    public func delete(_ pod: PodInfo) {
        deleteNominated(uid: pod.uid)
        guard let q = pods.removeValue(forKey: pod.key) else { return }
        detach(q)
        q._location = .none
    }

    // MARK: Scheduling cycle

    /// The next pod to schedule, or nil when active is empty. The pod is "in flight" until
    /// `done(_:)`, `addUnschedulableIfNotPresent(_:)` or `delete(_:)`.
    public func pop() -> QueuedPodInfo? {
        guard let q = active.pop() else { return nil }
        q._location = .inFlight
        q._attempts += 1
        schedulingCycle += 1
        return q
    }

    /// The pod was scheduled (bound or assumed): it leaves the queue.
    public func done(_ q: QueuedPodInfo) {
        if let current = pods[q.podInfo.key], current === q {
            pods[q.podInfo.key] = nil
        }
        q._location = .none
    }

    /// Puts a pod that failed its cycle (started at `podSchedulingCycle`) back: in
    /// unschedulable, or in back-off when an event arrived meanwhile or no plugin rejected it.
    public func addUnschedulableIfNotPresent(_ q: QueuedPodInfo, unschedulablePlugins: Set<String>, pendingPlugins: Set<String> = [], podSchedulingCycle: Int64) {
        if let newer = q.updatedWhileInFlight {
            q._podInfo = newer
            q.updatedWhileInFlight = nil
        }
        guard q.location == .inFlight || q.location == .none else { return }
        guard pods[q.podInfo.key] == nil || pods[q.podInfo.key] === q else { return }
        pods[q.podInfo.key] = q
        q._timestamp = clock.now()
        q._unschedulablePlugins = unschedulablePlugins
        q._pendingPlugins = pendingPlugins
        if moveRequestCycle >= podSchedulingCycle || (unschedulablePlugins.isEmpty && pendingPlugins.isEmpty) {
            moveToBackoff(q)
        } else {
            q._location = .unschedulable
            unschedulableCount += 1
        }
        addNominated(q.podInfo, nodeName: nil)
    }

    // MARK: Events

    /// A cluster event: moves the unschedulable pods it may help to back-off or active.
    public func moveAllToActiveOrBackoffQueue(_ event: ClusterEvent, _ objects: ClusterEventObjects = ClusterEventObjects()) {
        if unschedulableCount > 0 {
            var moving: [QueuedPodInfo] = []
            for q in pods.values where q.location == .unschedulable && worthRequeuing(q, event, objects) {
                moving.append(q)
            }
            moving.sort { $0.sequence < $1.sequence }
            for q in moving {
                detach(q)
                if q.gated { moveToActive(q); continue }
                if isBackingOff(q) { moveToBackoff(q) } else { moveToActive(q) }
            }
        }
        moveRequestCycle = schedulingCycle
    }

    /// Moves a specific pod to active now (Kubernetes' `Activate`).
    public func activate(_ key: String) {
        guard let q = pods[key], q.location == .unschedulable || q.location == .backoff else { return }
        detach(q)
        moveToActive(q)
    }

    private func worthRequeuing(_ q: QueuedPodInfo, _ event: ClusterEvent, _ objects: ClusterEventObjects) -> Bool {
        if q.gated {
            return event.resource == .wildcard || event.actionType.contains(.updatePodSchedulingGatesEliminated)
                || preEnqueue(q.podInfo).isSuccess
        }
        let rejectors = q.unschedulablePlugins.union(q.pendingPlugins)
        if rejectors.isEmpty || event.resource == .wildcard { return true }
        guard let byPlugin = events[q.podInfo.schedulerName] else { return true }
        for plugin in rejectors {
            guard let registered = byPlugin[plugin] else { continue }
            for r in registered where event.matches(r.event) {
                if let hint = r.hint {
                    if hint(q.podInfo, objects) == .queue { return true }
                } else {
                    return true
                }
            }
        }
        return false
    }

    // MARK: Time

    /// Moves back-off pods whose back-off expired to active.
    public func flushBackoffCompleted() {
        let now = clock.now()
        while let q = backoff.peek, backoffExpiry(q) <= now {
            _ = backoff.pop()
            moveToActive(q)
        }
    }

    /// Moves pods that waited in unschedulable longer than `maxInUnschedulable`.
    public func flushUnschedulableLeftover() {
        let now = clock.now()
        lastUnschedulableFlush = now
        guard unschedulableCount > 0 else { return }
        var moving: [QueuedPodInfo] = []
        for q in pods.values where q.location == .unschedulable && now - q.timestamp > configuration.maxInUnschedulable {
            moving.append(q)
        }
        moving.sort { $0.sequence < $1.sequence }
        for q in moving {
            detach(q)
            if q.gated && !preEnqueue(q.podInfo).isSuccess {
                q._location = .unschedulable
                unschedulableCount += 1
                continue
            }
            if isBackingOff(q) { moveToBackoff(q) } else { moveToActive(q) }
        }
        if !moving.isEmpty { moveRequestCycle = schedulingCycle }
    }

    /// The periodic work: back-off flush always, unschedulable flush every 30 s.
    public func tick() {
        flushBackoffCompleted()
        if clock.now() - lastUnschedulableFlush >= configuration.unschedulableFlushInterval {
            flushUnschedulableLeftover()
        }
    }

    /// When the earliest back-off ends (for the driver's timer), if any pod backs off.
    public var nextBackoffExpiry: Duration? { backoff.peek.map(backoffExpiry) }

    /// The back-off of a pod after its attempts: 1 s doubling to the maximum.
    public func backoffDuration(_ q: QueuedPodInfo) -> Duration {
        Self.backoffDuration(attempts: q.attempts, initial: configuration.initialBackoff, max: configuration.maxBackoff)
    }

    public static func backoffDuration(attempts: Int, initial: Duration, max: Duration) -> Duration {
        guard attempts > 0 else { return .zero }
        var d = initial
        var i = 1
        while i < attempts {
            if d > max - d { return max }
            d += d
            i += 1
        }
        return d
    }

    private static func backoffExpiry(_ q: QueuedPodInfo, initial: Duration, max: Duration) -> Duration {
        q.timestamp + backoffDuration(attempts: q.attempts, initial: initial, max: max)
    }

    private func backoffExpiry(_ q: QueuedPodInfo) -> Duration {
        Self.backoffExpiry(q, initial: configuration.initialBackoff, max: configuration.maxBackoff)
    }

    private func isBackingOff(_ q: QueuedPodInfo) -> Bool { backoffExpiry(q) > clock.now() }

    // MARK: Moves

    private func nextSequence() -> UInt64 {
        sequence += 1
        return sequence
    }

    private func detach(_ q: QueuedPodInfo) {
        switch q.location {
        case .active: active.remove(q)
        case .backoff: backoff.remove(q)
        case .unschedulable: unschedulableCount -= 1
        case .inFlight, .none: break
        }
        q._location = .none
    }

    private func moveToActive(_ q: QueuedPodInfo) {
        let s = preEnqueue(q.podInfo)
        if !s.isSuccess {
            q._gated = true
            q._pendingPlugins = s.plugin.isEmpty ? [] : [s.plugin]
            q._location = .unschedulable
            unschedulableCount += 1
            return
        }
        q._gated = false
        q._location = .active
        active.push(q)
    }

    private func moveToBackoff(_ q: QueuedPodInfo) {
        q._location = .backoff
        backoff.push(q)
    }

    /// Spec, labels or annotations changed (status-only updates do not count).
    static func isPodUpdated(old: CoreV1.Pod, new: CoreV1.Pod) -> Bool {
        old.spec != new.spec || old.metadata?.labels != new.metadata?.labels || old.metadata?.annotations != new.metadata?.annotations
    }

    // MARK: Nominator

    /// Pods nominated to `nodeName` (by preemption).
    public func nominatedPods(forNode nodeName: String) -> [PodInfo] {
        nominatedPodsByNode[nodeName] ?? []
    }

    public var hasNominatedPods: Bool { !nominatedNodeByPod.isEmpty }

    /// The node a pod is nominated to.
    public func nominatedNode(of uid: String) -> String? { nominatedNodeByPod[uid] }

    /// Records a nomination: to `nodeName`, or (nil) to the pod's `status.nominatedNodeName`.
    public func addNominated(_ pod: PodInfo, nodeName: String?) {
        deleteNominated(uid: pod.uid)
        let node = nodeName ?? pod.nominatedNodeName
        guard !node.isEmpty, pod.nodeName.isEmpty else { return }
        nominatedNodeByPod[pod.uid] = node
        nominatedPodsByNode[node, default: []].append(pod)
    }

    public func deleteNominated(uid: String) {
        guard let node = nominatedNodeByPod.removeValue(forKey: uid) else { return }
        nominatedPodsByNode[node]?.removeAll { $0.uid == uid }
        if nominatedPodsByNode[node]?.isEmpty == true { nominatedPodsByNode[node] = nil }
    }

    private func updateNominated(old: PodInfo, new: PodInfo) {
        // A nomination made by this scheduler survives updates that do not carry it yet.
        var node: String? = nil
        if new.nominatedNodeName.isEmpty, let n = nominatedNodeByPod[old.uid], old.nominatedNodeName.isEmpty || old.nominatedNodeName == n {
            node = n
        }
        deleteNominated(uid: old.uid)
        addNominated(new, nodeName: node)
    }
}
