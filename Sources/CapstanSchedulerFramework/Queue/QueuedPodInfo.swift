/// A pod in the scheduling queue with its queue bookkeeping (Kubernetes' `QueuedPodInfo`).
public final class QueuedPodInfo: CustomStringConvertible {
    public enum Location: Sendable, Hashable {
        case active, backoff, unschedulable, inFlight, none
    }

    public internal(set) var podInfo: PodInfo
    /// When the pod was added to the queue or last failed (time since the clock's origin).
    public internal(set) var timestamp: Duration
    /// When the pod was first added.
    public internal(set) var initialAttemptTimestamp: Duration?
    /// Scheduling attempts so far.
    public internal(set) var attempts = 0
    /// Plugins that rejected the pod in its last attempt; their events requeue it.
    public internal(set) var unschedulablePlugins: Set<String> = []
    public internal(set) var pendingPlugins: Set<String> = []
    /// Held back by a PreEnqueue plugin (scheduling gates).
    public internal(set) var gated = false
    /// Insertion order, the last tie-break of the queue sort.
    public internal(set) var sequence: UInt64
    public internal(set) var location: Location = .none
    /// An update arrived while the pod was being scheduled.
    var updatedWhileInFlight: PodInfo?
    var heapIndex = -1

    init(_ podInfo: PodInfo, timestamp: Duration, sequence: UInt64) {
        self.podInfo = podInfo
        self.timestamp = timestamp
        self.sequence = sequence
        initialAttemptTimestamp = timestamp
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
