import CapstanAPI
import CapstanClient
import CapstanSchedulerFramework
import CapstanSchedulerPlugins
import Logging
import Synchronization

/// The scheduler service: feeds ``SchedulerCore`` from list-watches of nodes, pods,
/// namespaces, PriorityClasses, PodDisruptionBudgets and the workloads default spreading
/// reads, schedules pods for its profiles' scheduler names, and writes what it decided:
/// bindings (`pods/NAME/binding`, a bounded number at a time, the pod assumed meanwhile),
/// the `PodScheduled=False` condition and `FailedScheduling` events for pods that do not
/// fit, `Scheduled` events, and preemptions (`status.nominatedNodeName`, victims deleted).
///
/// ```swift
/// let scheduler = try Scheduler(client: client)          // the default profile
/// let task = Task { try await scheduler.run() }        // stops when cancelled
/// await scheduler.waitUntilSynced()
/// ```
public final class Scheduler: Sendable {
    public struct Configuration: Sendable {
        /// One profile per scheduler name; pods naming another scheduler are left alone.
        public var profiles: [Profile]
        public var core = SchedulerCore.Configuration()
        /// Bindings written at once.
        public var bindConcurrency = 32
        /// Status patches, events and evictions written at once.
        public var statusConcurrency = 8
        /// Record `Scheduled`, `FailedScheduling` and `Preempted` events.
        public var recordEvents = true
        /// Events waiting to be written beyond this are dropped (as Kubernetes' broadcaster does).
        public var maxPendingEvents = 5_000
        /// How often queued back-offs and timeouts are checked.
        public var tickInterval: Duration = .milliseconds(100)
        /// Events' `reportingInstance` and `source.host`.
        public var instanceName = "capstan-scheduler"

        public init(profiles: [Profile] = [DefaultPlugins.profile()]) {
            self.profiles = profiles
        }
    }

    /// What the scheduler has done since it started.
    public struct Statistics: Sendable, Hashable {
        /// Bindings written.
        public var scheduled = 0
        public var bindingErrors = 0
        /// Cycles that found no node.
        public var unschedulable = 0
        public var preemptions = 0
        public var victimsDeleted = 0
        public var eventsWritten = 0
        public var eventsDropped = 0
        public var writeErrors = 0
        /// Time spent in scheduling cycles (the pure core).
        public var schedulingTime: Duration = .zero
        /// Time binding requests took, summed over all of them.
        public var bindingTime: Duration = .zero
        /// Pods waiting in the scheduling queue (active, back-off, unschedulable), as of the last tick.
        public var queuedPods = 0
        /// Binding requests sent and not answered yet.
        public var bindingsInFlight = 0
        /// Pod events (adds, updates, deletes, relisted pods) the informer handed to the loop.
        public var podEvents = 0
    }

    public let configuration: Configuration
    let client: APIClient
    let logger: Logger
    let stats = Mutex(Statistics())
    let pendingEvents = Atomic<Int>(0)
    private let syncState = Mutex<(synced: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Throws when there is no profile or two share a scheduler name.
    public init(client: APIClient, configuration: Configuration = Configuration(),
                logger: Logger = Logger(label: "capstan.scheduler")) throws(SchedulerConfigurationError) {
        guard !configuration.profiles.isEmpty else { throw SchedulerConfigurationError("the scheduler needs at least one profile") }
        var names = Set<String>()
        for p in configuration.profiles where !names.insert(p.schedulerName).inserted {
            throw SchedulerConfigurationError("two profiles are named \"\(p.schedulerName)\"")
        }
        if configuration.bindConcurrency < 1 || configuration.statusConcurrency < 1 {
            throw SchedulerConfigurationError("write concurrency must be at least 1")
        }
        self.client = client
        self.configuration = configuration
        self.logger = logger
    }

    public convenience init(client: APIClient, profiles: [Profile],
                            logger: Logger = Logger(label: "capstan.scheduler")) throws(SchedulerConfigurationError) {
        try self.init(client: client, configuration: Configuration(profiles: profiles), logger: logger)
    }

    public var statistics: Statistics { stats.withLock { $0 } }

    /// Returns once the first lists of every watched resource have been loaded.
    public func waitUntilSynced() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = syncState.withLock { s -> Bool in
                if s.synced { return true }
                s.waiters.append(c)
                return false
            }
            if done { c.resume() }
        }
    }

    func markSynced() {
        let waiters = syncState.withLock { s in
            s.synced = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }

    /// Watches, schedules and binds until the task is cancelled.
    public func run() async throws {
        let (wakeStream, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let (bindStream, binds) = AsyncStream<SchedulerCore.BindingTask>.makeStream()
        let (writeStream, writes) = AsyncStream<StatusWrite>.makeStream()
        let loop = SchedulerLoop(scheduler: self, wake: wake, binds: binds, writes: writes)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await loop.schedulingLoop(wakeStream) }
            group.addTask {
                while !Task.isCancelled {
                    do { try await Task.sleep(for: self.configuration.tickInterval) } catch { break }
                    await loop.tick()
                }
                wake.finish()
                binds.finish()
                writes.finish()
            }
            group.addTask {
                await Self.bounded(bindStream, concurrency: self.configuration.bindConcurrency) { task in
                    await self.bind(task, loop: loop)
                }
            }
            group.addTask {
                await Self.bounded(writeStream, concurrency: self.configuration.statusConcurrency) { write in
                    await self.perform(write)
                }
            }
            for informer in Informers.all(client: client, loop: loop, logger: logger) {
                group.addTask { await informer() }
            }
            await group.waitForAll()
        }
        markSynced()
    }

    /// Runs `body` for each element, at most `concurrency` at once.
    static func bounded<Element: Sendable>(_ stream: AsyncStream<Element>, concurrency: Int,
                                           _ body: @escaping @Sendable (Element) async -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for await element in stream {
                if running >= concurrency {
                    await group.next()
                    running -= 1
                }
                running += 1
                group.addTask { await body(element) }
            }
            await group.waitForAll()
        }
    }

    private func bind(_ task: SchedulerCore.BindingTask, loop: SchedulerLoop) async {
        let start = ContinuousClock.now
        stats.withLock { $0.bindingsInFlight += 1 }
        defer { stats.withLock { $0.bindingsInFlight -= 1 } }
        do {
            try await client.bind(task.binding)
            let elapsed = ContinuousClock.now - start
            stats.withLock {
                $0.scheduled += 1
                $0.bindingTime += elapsed
            }
            loop.post(.bindingFinished(task, error: nil))
        } catch {
            if Task.isCancelled { return }
            stats.withLock { $0.bindingErrors += 1 }
            logger.debug("binding \(task.pod.key) to \(task.nodeName) failed: \(error)")
            loop.post(.bindingFinished(task, error: "\(error)"))
        }
    }
}

/// A scheduler configuration that cannot work (no profile, a duplicate name).
public struct SchedulerConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
