import CapstanSchedulerFramework

/// Orders the active queue by pod priority (higher first), then by the time the pod entered
/// the queue (earlier first), as Kubernetes' PrioritySort.
public final class PrioritySort: QueueSortPlugin {
    public static let name = "PrioritySort"
    public var name: String { Self.name }

    public init() {}

    public func less(_ a: QueuedPodInfo, _ b: QueuedPodInfo) -> Bool {
        let p1 = a.podInfo.priority, p2 = b.podInfo.priority
        if p1 != p2 { return p1 > p2 }
        if a.timestamp != b.timestamp { return a.timestamp < b.timestamp }
        return a.sequence < b.sequence
    }
}
