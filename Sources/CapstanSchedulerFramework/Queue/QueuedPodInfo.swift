/// A pod in the scheduling queue with its queue bookkeeping (Kubernetes' `QueuedPodInfo`).
public final class QueuedPodInfo: CustomStringConvertible {
    public enum Location: Sendable, Hashable {
        case active, backoff, unschedulable, inFlight, none
    }

    @exclusivity(unchecked) @usableFromInline var _podInfo: PodInfo
    @inlinable public var podInfo: PodInfo { _podInfo }
    /// When the pod was added to the queue or last failed (time since the clock's origin).
    @exclusivity(unchecked) @usableFromInline var _timestamp: Duration
    @inlinable public var timestamp: Duration { _timestamp }
    /// When the pod was first added.
    @exclusivity(unchecked) @usableFromInline var _initialAttemptTimestamp: Duration?
    @inlinable public var initialAttemptTimestamp: Duration? { _initialAttemptTimestamp }
    /// Scheduling attempts so far.
    @exclusivity(unchecked) @usableFromInline var _attempts: Int = 0
    @inlinable public var attempts: Int { _attempts }
    /// Plugins that rejected the pod in its last attempt; their events requeue it.
    @exclusivity(unchecked) @usableFromInline var _unschedulablePlugins: Set<String> = []
    @inlinable public var unschedulablePlugins: Set<String> { _unschedulablePlugins }
    @exclusivity(unchecked) @usableFromInline var _pendingPlugins: Set<String> = []
    @inlinable public var pendingPlugins: Set<String> { _pendingPlugins }
    /// Held back by a PreEnqueue plugin (scheduling gates).
    @exclusivity(unchecked) @usableFromInline var _gated: Bool = false
    @inlinable public var gated: Bool { _gated }
    /// Insertion order, the last tie-break of the queue sort.
    @exclusivity(unchecked) @usableFromInline var _sequence: UInt64
    @inlinable public var sequence: UInt64 { _sequence }
    @exclusivity(unchecked) @usableFromInline var _location: Location = .none
    @inlinable public var location: Location { _location }
    /// An update arrived while the pod was being scheduled.
    @exclusivity(unchecked) var updatedWhileInFlight: PodInfo?
    @exclusivity(unchecked) var heapIndex = -1

    init(_ podInfo: PodInfo, timestamp: Duration, sequence: UInt64) {
        _podInfo = podInfo
        _timestamp = timestamp
        _sequence = sequence
        _initialAttemptTimestamp = timestamp
    }

    public var pod: PodInfo { podInfo }

    public var description: String { "\(podInfo.key)@\(location)" }
}

/// A binary heap of queued pods with positions stored in the pods, for O(log n) removal.
struct PodHeap {
    private(set) var items: [QueuedPodInfo] = []
    let less: (QueuedPodInfo, QueuedPodInfo) -> Bool

    init(less: @escaping (QueuedPodInfo, QueuedPodInfo) -> Bool) { self.less = less }

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }
    var peek: QueuedPodInfo? { items.first }

    mutating func push(_ p: QueuedPodInfo) {
        p.heapIndex = items.count
        items.append(p)
        up(items.count - 1)
    }

    mutating func pop() -> QueuedPodInfo? {
        guard !items.isEmpty else { return nil }
        return remove(at: 0)
    }

    mutating func remove(_ p: QueuedPodInfo) {
        let i = p.heapIndex
        guard i >= 0, i < items.count, items[i] === p else { return }
        _ = remove(at: i)
    }

    /// Restores order after `p`'s sort key changed.
    mutating func fix(_ p: QueuedPodInfo) {
        let i = p.heapIndex
        guard i >= 0, i < items.count, items[i] === p else { return }
        if !down(i) { up(i) }
    }

    private mutating func remove(at i: Int) -> QueuedPodInfo {
        let last = items.count - 1
        if i != last { swapAt(i, last) }
        let p = items.removeLast()
        p.heapIndex = -1
        if i < items.count, !down(i) { up(i) }
        return p
    }

    private mutating func swapAt(_ i: Int, _ j: Int) {
        items.swapAt(i, j)
        items[i].heapIndex = i
        items[j].heapIndex = j
    }

    private mutating func up(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(items[i], items[parent]) else { break }
            swapAt(i, parent)
            i = parent
        }
    }

    @discardableResult
    private mutating func down(_ start: Int) -> Bool {
        var i = start
        let n = items.count
        while true {
            let l = 2 * i + 1
            guard l < n else { break }
            var m = l
            if l + 1 < n, less(items[l + 1], items[l]) { m = l + 1 }
            guard less(items[m], items[i]) else { break }
            swapAt(i, m)
            i = m
        }
        return i > start
    }
}
