import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import Foundation
import Logging
import Synchronization

/// Simulated nodes, as kwok makes them: registers N Nodes against a server, keeps their Leases
/// fresh and their Ready condition reported, and plays the kubelet for pods bound to them
/// (Running and Ready after a start-up delay, Succeeded or Failed when an annotation says so,
/// finalized at once when deleted). No containers run.
///
/// ```swift
/// let sim = NodeSimulator(client: client, nodes: 100, template: SimulatedNodeTemplate(cpu: "8"))
/// let task = Task { try await sim.run() }     // stops when the task is cancelled
/// await sim.waitUntilRegistered()
/// sim.failNode("sim-3")                        // its Lease goes stale
/// ```
///
/// Writes go through bounded worker pools (``Configuration/writeConcurrency`` for pods, a
/// quarter of it for nodes and leases) so thousands of nodes do not flood the API server.
/// Pods are found with one watch of all assigned pods (`spec.nodeName!=`), filtered locally.
public final class NodeSimulator: Sendable {
    /// A pod with this annotation (a duration: `5s`, `1m`) goes Succeeded that long after it is Running.
    public static let completeAfterAnnotation = "capstan.dev/simulate-complete-after"
    /// A pod with this annotation goes Failed (exit code 1) that long after it is Running.
    public static let failAfterAnnotation = "capstan.dev/simulate-fail-after"

    public struct Configuration: Sendable {
        public var nodeCount: Int
        /// Node names are the prefix and the index: `sim-0`, `sim-1`, ...
        public var namePrefix: String
        public var template: SimulatedNodeTemplate
        /// Delay from a pod seen bound to its Running status.
        public var podStartup: Duration
        public var leaseDurationSeconds = 40
        /// Each node renews its Lease this often (spread over the interval), as kubelet does.
        public var leaseRenewInterval: Duration = .seconds(10)
        /// Each node re-reports its conditions this often when nothing changed, as kubelet does.
        public var statusReportInterval: Duration = .seconds(300)
        /// Concurrent pod status writes and deletes.
        public var writeConcurrency = 32

        public init(nodeCount: Int, namePrefix: String = "sim-", template: SimulatedNodeTemplate = SimulatedNodeTemplate(),
                    podStartup: Duration = .zero) {
            self.nodeCount = nodeCount
            self.namePrefix = namePrefix
            self.template = template
            self.podStartup = podStartup
        }
    }

    /// Counters of what the simulator has done.
    public struct Statistics: Sendable, Hashable {
        public var nodesRegistered = 0
        public var podsStarted = 0
        public var podsFinished = 0
        public var podsFinalized = 0
        public var leaseRenewals = 0
        public var writeErrors = 0
    }

    enum NodeJob: Sendable {
        case register(Int)
        case renewLease(Int)
        case reportStatus(Int)
    }

    enum PodJob: Sendable {
        case start(SimulatedPod, attempt: Int)
        case finish(SimulatedPod, succeeded: Bool, attempt: Int)
        case finalize(SimulatedPod)
    }

    struct NodeState {
        var uid: String?
        var registered = false
        var failed = false
        var busy = false
        var nextRenew: Duration = .zero
        var nextReport: Duration = .zero
        var readySince = ""
        var podSequence = 0
    }

    struct State {
        var nodes: [NodeState]
        var tracker: PodTracker
        var timers = Deadlines<PodJob>()
        var statistics = Statistics()
        var registeredWaiters: [CheckedContinuation<Void, Never>] = []
    }

    public let configuration: Configuration
    /// The names of the simulated nodes, by index.
    public let nodeNames: [String]
    private let nodeIndex: [String: Int]
    private let client: APIClient
    private let logger: Logger
    private let now: @Sendable () -> Duration
    private let sleep: @Sendable (Duration) async throws -> Void
    private let state: Mutex<State>
    private let nodeJobs = JobQueue<NodeJob>()
    private let podJobs = JobQueue<PodJob>()

    public init<C: Clock>(client: APIClient, configuration: Configuration, clock: C = ContinuousClock(),
                          logger: Logger = Logger(label: "capstan.simulator")) where C.Duration == Duration {
        self.client = client
        self.configuration = configuration
        self.logger = logger
        let count = max(0, configuration.nodeCount)
        let names = (0..<count).map { configuration.namePrefix + String($0) }
        nodeNames = names
        var index: [String: Int] = [:]
        for (i, n) in names.enumerated() { index[n] = i }
        nodeIndex = index
        let origin = clock.now
        now = { origin.duration(to: clock.now) }
        sleep = { try await clock.sleep(until: clock.now.advanced(by: $0), tolerance: nil) }
        state = Mutex(State(nodes: Array(repeating: NodeState(), count: count), tracker: PodTracker(podStartup: configuration.podStartup)))
    }

    /// `nodes` nodes named `sim-0`... from `template`.
    public convenience init<C: Clock>(client: APIClient, nodes: Int, template: SimulatedNodeTemplate = SimulatedNodeTemplate(),
                                      podStartup: Duration = .zero, namePrefix: String = "sim-", clock: C = ContinuousClock(),
                                      logger: Logger = Logger(label: "capstan.simulator")) where C.Duration == Duration {
        self.init(client: client, configuration: Configuration(nodeCount: nodes, namePrefix: namePrefix, template: template,
                                                               podStartup: podStartup),
                  clock: clock, logger: logger)
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// Stops renewing the node's Lease and reporting its status, as if its kubelet died; the
    /// node goes stale. False for a name that is not one of ours.
    @discardableResult
    public func failNode(_ name: String) -> Bool {
        guard let i = nodeIndex[name] else { return false }
        state.withLock { $0.nodes[i].failed = true }
        return true
    }

    /// Returns once every node has been registered (Node, status and Lease written).
    public func waitUntilRegistered() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s -> Bool in
                if s.statistics.nodesRegistered >= s.nodes.count { return true }
                s.registeredWaiters.append(c)
                return false
            }
            if done { c.resume() }
        }
    }

    /// Registers the nodes and simulates them until the task is cancelled.
    public func run() async throws {
        try configuration.template.validate()
        let nodeWorkers = max(2, configuration.writeConcurrency / 4)
        let podWorkers = max(1, configuration.writeConcurrency)
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                for i in nodeNames.indices { nodeJobs.push(.register(i)) }
                for _ in 0..<nodeWorkers {
                    group.addTask { while let job = await self.nodeJobs.next() { await self.perform(job) } }
                }
                for _ in 0..<podWorkers {
                    group.addTask { while let job = await self.podJobs.next() { await self.perform(job) } }
                }
                group.addTask { await self.heartbeatLoop() }
                group.addTask { await self.timerLoop() }
                group.addTask { await self.watchPods() }
                await group.waitForAll()
            }
        } onCancel: {
            nodeJobs.finish()
            podJobs.finish()
        }
        let waiters = state.withLock { s in
            defer { s.registeredWaiters = [] }
            return s.registeredWaiters
        }
        for w in waiters { w.resume() }
    }

    // MARK: Nodes

    private func perform(_ job: NodeJob) async {
        switch job {
        case .register(let i): await register(i)
        case .renewLease(let i): await renewLease(i)
        case .reportStatus(let i): await reportStatus(i)
        }
    }

    private func register(_ i: Int) async {
        let name = nodeNames[i]
        let nodes = CoreV1.Node.resource
        let nowText = Self.wallTime()
        do {
            let node: JSONValue
            do {
                node = try await client.create(nodes, SimulatedObjects.node(name: name, index: i, template: configuration.template))
            } catch let e as APIError where e.reason == .alreadyExists {
                node = try await client.get(nodes, name: name)
            }
            // The server resets status on create, as for any resource with a status subresource.
            _ = try await client.patch(nodes, name: name,
                                       .merge(SimulatedObjects.nodeStatus(name: name, index: i, template: configuration.template, now: nowText)),
                                       subresource: "status")
            let uid = node["metadata"]?["uid"]?.stringValue
            try await writeLease(i, nodeUID: uid)
            let start = now()
            let (waiters, count) = state.withLock { s -> ([CheckedContinuation<Void, Never>], Int) in
                s.nodes[i].uid = uid
                s.nodes[i].registered = true
                s.nodes[i].readySince = nowText
                let n = max(1, s.nodes.count)
                // Spread renewals and reports over their intervals by index.
                s.nodes[i].nextRenew = start + configuration.leaseRenewInterval * (Double(i % n) / Double(n))
                s.nodes[i].nextReport = start + configuration.statusReportInterval * (Double(i % n) / Double(n))
                s.statistics.nodesRegistered += 1
                guard s.statistics.nodesRegistered >= s.nodes.count else { return ([], s.statistics.nodesRegistered) }
                defer { s.registeredWaiters = [] }
                return (s.registeredWaiters, s.statistics.nodesRegistered)
            }
            for w in waiters { w.resume() }
            if count % 1000 == 0 { logger.info("registered \(count) nodes") }
        } catch {
            if Task.isCancelled { return }
            logger.warning("registering node \(name) failed, retrying: \(error)")
            state.withLock { $0.statistics.writeErrors += 1 }
            try? await sleep(.seconds(1))
            nodeJobs.push(.register(i))
        }
    }

    private func writeLease(_ i: Int, nodeUID: String?) async throws {
        let leases = CoordinationV1.Lease.resource
        let name = nodeNames[i]
        let renew = Self.wallMicroTime()
        do {
            _ = try await client.patch(leases, name: name, namespace: SimulatedObjects.leaseNamespace,
                                       .merge(SimulatedObjects.leaseRenewal(renewTime: renew)))
        } catch let e as APIError where e.reason == .notFound {
            _ = try await client.create(leases, SimulatedObjects.lease(node: name, nodeUID: nodeUID,
                                                                        durationSeconds: configuration.leaseDurationSeconds,
                                                                        renewTime: renew))
        }
    }

    private func renewLease(_ i: Int) async {
        let uid = state.withLock { $0.nodes[i].uid }
        do {
            try await writeLease(i, nodeUID: uid)
            state.withLock { $0.statistics.leaseRenewals += 1 }
        } catch {
            if Task.isCancelled { return }
            logger.debug("renewing the lease of \(nodeNames[i]) failed: \(error)")
            state.withLock { $0.statistics.writeErrors += 1 }
        }
        state.withLock { $0.nodes[i].busy = false }
    }

    private func reportStatus(_ i: Int) async {
        let since = state.withLock { $0.nodes[i].readySince }
        do {
            _ = try await client.patch(CoreV1.Node.resource, name: nodeNames[i],
                                       .merge(SimulatedObjects.heartbeat(now: Self.wallTime(), since: since)), subresource: "status")
        } catch {
            if Task.isCancelled { return }
            logger.debug("reporting the status of \(nodeNames[i]) failed: \(error)")
            state.withLock { $0.statistics.writeErrors += 1 }
        }
    }

    /// Queues lease renewals and status reports as they fall due.
    private func heartbeatLoop() async {
        let tick = min(Duration.milliseconds(100), configuration.leaseRenewInterval / 4)
        while !Task.isCancelled {
            let t = now()
            let jobs = state.withLock { s -> [NodeJob] in
                var jobs: [NodeJob] = []
                for i in s.nodes.indices where s.nodes[i].registered && !s.nodes[i].failed {
                    if s.nodes[i].nextRenew <= t {
                        s.nodes[i].nextRenew = t + configuration.leaseRenewInterval
                        if !s.nodes[i].busy {
                            s.nodes[i].busy = true
                            jobs.append(.renewLease(i))
                        }
                    }
                    if s.nodes[i].nextReport <= t {
                        s.nodes[i].nextReport = t + configuration.statusReportInterval
                        jobs.append(.reportStatus(i))
                    }
                }
                return jobs
            }
            for j in jobs { nodeJobs.push(j) }
            do { try await sleep(tick) } catch { return }
        }
    }

    // MARK: Pods

    private func watchPods() async {
        let watcher = ListWatcher(client: client, resource: CoreV1.Pod.resource, fieldSelector: "spec.nodeName!=",
                                  stripManagedFields: true, logger: logger)
        do {
            for try await event in watcher {
                switch event {
                case .replaced(let pods, _):
                    var uids = Set<String>()
                    for json in pods {
                        guard let pod = SimulatedPod(json), nodeIndex[pod.nodeName] != nil else { continue }
                        uids.insert(pod.uid)
                        observe(pod)
                    }
                    state.withLock { $0.tracker.retain(uids: uids) }
                case .added(let json), .modified(let json):
                    if let pod = SimulatedPod(json), nodeIndex[pod.nodeName] != nil { observe(pod) }
                case .deleted(let json):
                    if let pod = SimulatedPod(json), nodeIndex[pod.nodeName] != nil {
                        state.withLock { $0.tracker.deleted(uid: pod.uid) }
                    }
                }
            }
        } catch {
            if !Task.isCancelled { logger.error("the pod watch ended: \(error)") }
        }
    }

    private func observe(_ pod: SimulatedPod) {
        let t = now()
        let action = state.withLock { $0.tracker.observe(pod, now: t) }
        switch action {
        case nil: return
        case .start(let pod, let at): schedule(.start(pod, attempt: 0), at: at, now: t)
        case .finish(let pod, let succeeded, let at): schedule(.finish(pod, succeeded: succeeded, attempt: 0), at: at, now: t)
        case .finalize(let pod): podJobs.push(.finalize(pod))
        case .invalidAnnotation(let pod, let error): logger.warning("pod \(pod.key): \(error)")
        }
    }

    private func schedule(_ job: PodJob, at: Duration, now t: Duration) {
        if at <= t {
            podJobs.push(job)
        } else {
            state.withLock { $0.timers.push(job, due: at) }
        }
    }

    /// Moves timed pod jobs to the workers when due.
    private func timerLoop() async {
        while !Task.isCancelled {
            let t = now()
            let (due, next) = state.withLock { s in (s.timers.popDue(now: t), s.timers.nextDue) }
            for job in due { podJobs.push(job) }
            let wait = next.map { min(max($0 - t, .milliseconds(1)), .milliseconds(50)) } ?? .milliseconds(50)
            do { try await sleep(wait) } catch { return }
        }
    }

    private func perform(_ job: PodJob) async {
        let pods = CoreV1.Pod.resource
        switch job {
        case .start(let pod, let attempt):
            guard let i = nodeIndex[pod.nodeName] else { return }
            let seq = state.withLock { s in
                defer { s.nodes[i].podSequence += 1 }
                return s.nodes[i].podSequence
            }
            let patch = SimulatedObjects.running(pod, podIP: SimulatedObjects.podIP(nodeIndex: i, sequence: seq),
                                                 hostIP: SimulatedObjects.nodeIP(index: i), now: Self.wallTime())
            await write(pod, attempt: attempt, retry: .start(pod, attempt: attempt + 1), counter: \.podsStarted) {
                _ = try await self.client.patch(pods, name: pod.name, namespace: pod.namespace, .merge(patch), subresource: "status")
            }
        case .finish(let pod, let succeeded, let attempt):
            let nowText = Self.wallTime()
            let patch = SimulatedObjects.finished(pod, succeeded: succeeded, startedAt: nowText, now: nowText)
            await write(pod, attempt: attempt, retry: .finish(pod, succeeded: succeeded, attempt: attempt + 1), counter: \.podsFinished) {
                _ = try await self.client.patch(pods, name: pod.name, namespace: pod.namespace, .merge(patch), subresource: "status")
            }
        case .finalize(let pod):
            await write(pod, attempt: 0, retry: nil, counter: \.podsFinalized) {
                try await self.client.delete(pods, name: pod.name, namespace: pod.namespace,
                                             options: DeleteOptions(gracePeriodSeconds: 0, preconditionUID: pod.uid))
            }
        }
    }

    /// Performs a pod write; a pod that is gone is forgotten, other failures retry after a
    /// second (five times at most).
    private func write(_ pod: SimulatedPod, attempt: Int, retry: PodJob?, counter: WritableKeyPath<Statistics, Int>,
                       _ body: @Sendable () async throws -> Void) async {
        do {
            try await body()
            state.withLock { $0.statistics[keyPath: counter] += 1 }
        } catch let e as APIError where e.reason == .notFound || e.reason == .conflict {
            state.withLock { $0.tracker.deleted(uid: pod.uid) }
        } catch {
            if Task.isCancelled { return }
            logger.debug("writing pod \(pod.key) failed: \(error)")
            let t = now()
            state.withLock { s in
                s.statistics.writeErrors += 1
                if let retry, attempt < 5 {
                    s.timers.push(retry, due: t + .seconds(1))
                } else {
                    s.tracker.forget(uid: pod.uid)
                }
            }
        }
    }

    // MARK: Time

    static func wallTime() -> String {
        MetaV1.Time(secondsSinceEpoch: Int64(Date().timeIntervalSince1970)).rfc3339
    }

    static func wallMicroTime() -> String {
        let t = Date().timeIntervalSince1970
        let s = t.rounded(.down)
        return MetaV1.MicroTime(secondsSinceEpoch: Int64(s), microseconds: Int32(min(999_999, (t - s) * 1e6))).rfc3339
    }
}
