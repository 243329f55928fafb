/// Per-key exponential back-off: `base * 2^(failures-1)`, at most `maximum` (client-go's
/// default item limiter: 5 ms doubling up to 1000 s).
public struct RateLimit: Sendable, Hashable {
    public var base: Duration
    public var maximum: Duration

    public init(base: Duration = .milliseconds(5), maximum: Duration = .seconds(1000)) {
        self.base = base
        self.maximum = maximum
    }

    /// The delay before the `failures`-th retry (1 = first failure).
    public func delay(failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        var delay = base
        for _ in 1..<min(failures, 64) {
            delay *= 2
            if delay >= maximum { return maximum }
        }
        return min(delay, maximum)
    }
}

/// The decisions of a controller work queue, without IO or time of its own (instants are
/// passed in, as the time elapsed on the queue's clock):
/// - a key is queued at most once however often it is added (de-duplication);
/// - a key being processed is not handed out again until ``done(_:)``; if it was added meanwhile
///   it is queued again then;
/// - delayed adds wait until their instant (the earliest wins when a key is delayed twice);
/// - rate-limited adds wait ``RateLimit/delay(failures:)`` after the key's failures so far,
///   until ``forget(_:)``.
public struct WorkQueueCore<Key: Hashable & Sendable>: Sendable {
    public let rateLimit: RateLimit
    private var queue: [Key] = []
    private var head = 0
    private var dirty: Set<Key> = []
    private var processing: Set<Key> = []
    private var waiting: [Key: Duration] = [:]
    private var heap = DeadlineHeap<Key>()
    private var failures: [Key: Int] = [:]
    public private(set) var isShuttingDown = false

    public init(rateLimit: RateLimit = RateLimit()) {
        self.rateLimit = rateLimit
    }

    /// Keys ready to be handed out.
    public var count: Int { queue.count - head }
    /// Keys waiting for their instant.
    public var waitingCount: Int { waiting.count }
    public var processingCount: Int { processing.count }

    /// Queues `key` unless it is already queued; a key being processed is queued after `done`.
    public mutating func add(_ key: Key) {
        guard !isShuttingDown, !dirty.contains(key) else { return }
        dirty.insert(key)
        if !processing.contains(key) { queue.append(key) }
    }

    /// Queues `key` at instant `now + delay`.
    public mutating func add(_ key: Key, after delay: Duration, now: Duration) {
        guard !isShuttingDown else { return }
        guard delay > .zero else { return add(key) }
        let readyAt = now + delay
        if let existing = waiting[key], existing <= readyAt { return }
        waiting[key] = readyAt
        heap.push(readyAt, key)
    }

    /// Queues `key` after its back-off and counts a failure; returns the delay.
    @discardableResult
    public mutating func addRateLimited(_ key: Key, now: Duration) -> Duration {
        let n = (failures[key] ?? 0) + 1
        failures[key] = n
        let delay = rateLimit.delay(failures: n)
        add(key, after: delay, now: now)
        return delay
    }

    /// Clears the key's failures (after a success).
    public mutating func forget(_ key: Key) {
        failures[key] = nil
    }

    public func failureCount(_ key: Key) -> Int { failures[key] ?? 0 }

    /// Moves delayed keys whose instant has come to the queue.
    public mutating func promote(now: Duration) {
        while let (readyAt, key) = heap.peek, readyAt <= now {
            heap.pop()
            guard waiting[key] == readyAt else { continue }  // superseded by an earlier instant
            waiting[key] = nil
            add(key)
        }
    }

    /// The earliest instant a delayed key becomes ready (dropping superseded entries on the way).
    public mutating func nextDeadline() -> Duration? {
        while let (readyAt, key) = heap.peek {
            if waiting[key] == readyAt { return readyAt }
            heap.pop()
        }
        return nil
    }

    /// Hands out the next key (marking it as being processed).
    public mutating func pop() -> Key? {
        guard head < queue.count else { return nil }
        let key = queue[head]
        head += 1
        if head > 64 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
        dirty.remove(key)
        processing.insert(key)
        return key
    }

    /// Ends processing of `key`; queues it again if it was added meanwhile.
    public mutating func done(_ key: Key) {
        processing.remove(key)
        if dirty.contains(key) { queue.append(key) }
    }

    /// Refuses new keys; ``pop()`` still drains what is queued.
    public mutating func shutDown() {
        isShuttingDown = true
    }
}

/// A binary min-heap of (instant, key) with stale entries skipped by the owner.
struct DeadlineHeap<Key: Sendable>: Sendable {
    private var items: [(Duration, Key)] = []

    var peek: (Duration, Key)? { items.first }

    mutating func push(_ deadline: Duration, _ key: Key) {
        items.append((deadline, key))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].0 < items[parent].0 else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() {
        guard !items.isEmpty else { return }
        items.swapAt(0, items.count - 1)
        items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count && items[l].0 < items[m].0 { m = l }
            if r < items.count && items[r].0 < items[m].0 { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
    }
}
