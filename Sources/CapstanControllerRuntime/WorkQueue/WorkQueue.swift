import Synchronization

/// A controller's work queue: the ``WorkQueueCore`` rules (de-duplication, one worker per key,
/// delays, per-key back-off) behind a lock, with workers waiting in ``get()``.
///
/// Adding is synchronous so informer handlers can enqueue directly. Typical use is
/// ``run(workers:_:)``, which hands keys to a reconcile function, retries failures with back-off
/// and forgets keys that succeed.
public final class WorkQueue<Key: Hashable & Sendable>: Sendable {
    private struct State {
        var core: WorkQueueCore<Key>
        /// Waiters that want a signal (registered before they park, so no signal is lost).
        var armed: Set<Int> = []
        var parked: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
    }

    private enum Step {
        case key(Key)
        case shutdown
        case wait(id: Int, deadline: Duration?)
    }

    public let clock: ControllerClock
    private let state: Mutex<State>

    public init(rateLimit: RateLimit = RateLimit(), clock: ControllerClock = .continuous) {
        self.clock = clock
        self.state = Mutex(State(core: WorkQueueCore(rateLimit: rateLimit)))
    }

    public func add(_ key: Key) {
        mutate { $0.add(key) }
    }

    public func add(_ key: Key, after delay: Duration) {
        let now = clock.now
        mutate { $0.add(key, after: delay, now: now) }
    }

    /// Adds the key after its back-off and counts a failure.
    public func addRateLimited(_ key: Key) {
        let now = clock.now
        mutate { $0.addRateLimited(key, now: now) }
    }

    public func forget(_ key: Key) {
        state.withLock { $0.core.forget(key) }
    }

    public func failureCount(_ key: Key) -> Int {
        state.withLock { $0.core.failureCount(key) }
    }

    public func done(_ key: Key) {
        mutate { $0.done(key) }
    }

    /// Ready keys.
    public var count: Int { state.withLock { $0.core.count } }

    public func shutDown() {
        mutate { $0.shutDown() }
    }

    /// The next key, waiting for one; nil once the queue is shut down and drained, or the task
    /// is cancelled. Call ``done(_:)`` when finished with it.
    public func get() async -> Key? {
        while true {
            let now = clock.now
            let step = state.withLock { state -> Step in
                state.core.promote(now: now)
                if let key = state.core.pop() { return .key(key) }
                if state.core.isShuttingDown { return .shutdown }
                let id = state.nextID
                state.nextID += 1
                state.armed.insert(id)
                return .wait(id: id, deadline: state.core.nextDeadline())
            }
            switch step {
            case .key(let key): return key
            case .shutdown: return nil
            case .wait(let id, let deadline):
                await withTaskGroup(of: Void.self) { group in
                    if let deadline {
                        let clock = self.clock
                        group.addTask {
                            try? await clock.sleep(until: deadline)
                            self.signal(id)
                        }
                    }
                    await park(id)
                    group.cancelAll()
                }
                if Task.isCancelled { return nil }
            }
        }
    }

    /// Runs `workers` workers handing keys to `reconcile` until the task is cancelled (then the
    /// queue is shut down). A key whose reconcile throws is added again with back-off; one that
    /// succeeds is forgotten.
    public func run(workers: Int = 1, _ reconcile: @escaping @Sendable (Key) async throws -> Void) async {
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                for _ in 0..<max(1, workers) {
                    group.addTask {
                        while let key = await self.get() {
                            do {
                                try await reconcile(key)
                                self.forget(key)
                            } catch {
                                if !Task.isCancelled { self.addRateLimited(key) }
                            }
                            self.done(key)
                        }
                    }
                }
            }
        } onCancel: {
            self.shutDown()
        }
    }

    // MARK: Signals

    private func mutate(_ change: (inout WorkQueueCore<Key>) -> Void) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            change(&state.core)
            guard state.core.count > 0 || state.core.isShuttingDown || !state.armed.isEmpty else { return [] }
            // Wake every waiter: those without a key go back to waiting (with a new deadline).
            state.armed = []
            defer { state.parked = [:] }
            return Array(state.parked.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    private func signal(_ id: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.armed.remove(id)
            return state.parked.removeValue(forKey: id)
        }
        waiter?.resume()
    }

    private func park(_ id: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    guard state.armed.contains(id), !Task.isCancelled else {
                        state.armed.remove(id)
                        return true
                    }
                    state.parked[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            signal(id)
        }
    }
}
