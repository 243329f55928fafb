import CapstanAPI
import CapstanSchedulerFramework

/// Fits a pod where its effective requests (init containers, sidecars and overhead
/// included, see `PodResources`) fit the node's allocatable minus what placed pods request,
/// and ranks nodes by the scoring strategy (Kubernetes' NodeResourcesFit).
public final class NodeResourcesFit: FilterPlugin, ScorePlugin, EnqueueExtensions {
    public static let name = "NodeResourcesFit"
    public var name: String { Self.name }

    /// Extended resources not checked by the filter.
    public let ignoredResources: Set<String>
    /// Extended resource groups (`example.com` of `example.com/gpu`) not checked.
    public let ignoredResourceGroups: Set<String>
    public let scoringStrategy: ScoringStrategy
    let scorer: ResourceScorer

    public init(scoringStrategy: ScoringStrategy = ScoringStrategy(), ignoredResources: Set<String> = [],
                ignoredResourceGroups: Set<String> = []) {
        self.scoringStrategy = scoringStrategy
        self.ignoredResources = ignoredResources
        self.ignoredResourceGroups = ignoredResourceGroups
        scorer = ResourceScorer(resources: scoringStrategy.resources, useRequested: false)
    }

    // MARK: Filter

    /// A resource that does not fit, as Kubernetes' `InsufficientResource`.
    public struct InsufficientResource: Sendable, Hashable {
        public var resourceName: String
        public var reason: String
        public var requested: Int64
        public var used: Int64
        public var capacity: Int64
    }

    /// The statuses for the common shapes (pods, cpu, memory), allocated once.
    static let common: [Status] = (0..<8).map { mask in
        var reasons: [String] = []
        if mask & 1 != 0 { reasons.append("Too many pods") }
        if mask & 2 != 0 { reasons.append("Insufficient cpu") }
        if mask & 4 != 0 { reasons.append("Insufficient memory") }
        return Status(.unschedulable, reasons, plugin: name)
    }

    public func filter(state: CycleState, pod: PodInfo, node: NodeInfo) -> Status {
        // Fast path for the common shape: nothing but pods, cpu and memory.
        if pod.requests.scalar.isEmpty && pod.requests.ephemeralStorage == 0 {
            var mask = 0
            if node.podCount + 1 > node.allowedPodNumber { mask |= 1 }
            let cpu = pod.requests.milliCPU, memory = pod.requests.memory
            if cpu > 0 && cpu > node.allocatableMilliCPU - node.requestedMilliCPU { mask |= 2 }
            if memory > 0 && memory > node.allocatableMemory - node.requestedMemory { mask |= 4 }
            return mask == 0 ? .success : Self.common[mask]
        }
        let insufficient = Self.fits(pod, node, ignoredResources: ignoredResources, ignoredResourceGroups: ignoredResourceGroups)
        if insufficient.isEmpty { return .success }
        return Status(.unschedulable, insufficient.map(\.reason), plugin: Self.name)
    }

    /// Every resource the pod lacks on the node (empty: it fits).
    public static func fits(_ pod: PodInfo, _ node: NodeInfo, ignoredResources: Set<String> = [],
                            ignoredResourceGroups: Set<String> = []) -> [InsufficientResource] {
        var out: [InsufficientResource] = []
        let r = pod.requests
        let alloc = node.allocatable, used = node.requested
        if node.pods.count + 1 > alloc.allowedPodNumber {
            out.append(InsufficientResource(resourceName: ResourceName.pods, reason: "Too many pods", requested: 1,
                                            used: Int64(node.pods.count), capacity: Int64(alloc.allowedPodNumber)))
        }
        if r.milliCPU == 0 && r.memory == 0 && r.ephemeralStorage == 0 && r.scalar.isEmpty { return out }
        if r.milliCPU > 0 && r.milliCPU > alloc.milliCPU - used.milliCPU {
            out.append(InsufficientResource(resourceName: ResourceName.cpu, reason: "Insufficient cpu", requested: r.milliCPU,
                                            used: used.milliCPU, capacity: alloc.milliCPU))
        }
        if r.memory > 0 && r.memory > alloc.memory - used.memory {
            out.append(InsufficientResource(resourceName: ResourceName.memory, reason: "Insufficient memory", requested: r.memory,
                                            used: used.memory, capacity: alloc.memory))
        }
        if r.ephemeralStorage > 0 && r.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage {
            out.append(InsufficientResource(resourceName: ResourceName.ephemeralStorage, reason: "Insufficient ephemeral-storage",
                                            requested: r.ephemeralStorage, used: used.ephemeralStorage, capacity: alloc.ephemeralStorage))
        }
        for name in r.scalar.keys.sorted() {
            let q = r.scalar[name]!
            if q == 0 { continue }
            if ResourceName.isExtended(name) {
                let group = name.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
                if ignoredResources.contains(name) || ignoredResourceGroups.contains(group) { continue }
            }
            let a = alloc.scalar[name] ?? 0, u = used.scalar[name] ?? 0
            if q > a - u {
                out.append(InsufficientResource(resourceName: name, reason: "Insufficient \(name)", requested: q, used: u, capacity: a))
            }
        }
        return out
    }

    // MARK: Score

    public func score(state: CycleState, pod: PodInfo, node: NodeInfo) -> Int64 {
        scorer.withRequests(pod: pod, node: node) { requested, allocatable in
            scoringStrategy.score(requested: requested, allocatable: allocatable)
        }
    }

    // MARK: Events

    public func eventsToRegister() -> [ClusterEventWithHint] {
        [
            ClusterEventWithHint(ClusterEvent(.assignedPod, [.delete, .updatePodScaleDown])),
            ClusterEventWithHint(ClusterEvent(.node, [.add, .updateNodeAllocatable, .updateNodeTaint, .updateNodeLabel]), hint: { pod, objects in
                guard let node = objects.newNode else { return .queue }
                // A node the pod does not fit even empty does not help.
                let empty = NodeInfo(node: node)
                return Self.fits(pod, empty).isEmpty ? .queue : .skip
            }),
        ]
    }
}

/// The (requested, allocatable) pairs the resource scores compare, as Kubernetes'
/// `resourceAllocationScorer`: with `useRequested` false, pods' missing CPU/memory requests
/// count 100m/200Mi; an extended resource the pod does not request is left out.
struct ResourceScorer: Sendable {
    enum Kind: Sendable { case cpu, memory, ephemeralStorage, scalar(String) }
    let kinds: [Kind]
    let useRequested: Bool

    init(resources: [ResourceSpec], useRequested: Bool) {
        kinds = resources.map { r in
            switch r.name {
            case ResourceName.cpu: .cpu
            case ResourceName.memory: .memory
            case ResourceName.ephemeralStorage: .ephemeralStorage
            default: .scalar(r.name)
            }
        }
        self.useRequested = useRequested
    }

    /// The pod's request for each resource.
    func podRequests(_ pod: PodInfo) -> [Int64] {
        let base = useRequested ? pod.requests : pod.nonZeroRequests
        return kinds.map { k in
            switch k {
            case .cpu: base.milliCPU
            case .memory: base.memory
            case .ephemeralStorage: pod.requests.ephemeralStorage
            case .scalar(let n): pod.requests.scalar[n] ?? 0
            }
        }
    }

    /// Calls `body` with the (requested, allocatable) of each resource, in stack buffers.
    @inline(__always)
    func withRequests<T>(pod: PodInfo, node: NodeInfo, _ body: (UnsafeBufferPointer<Int64>, UnsafeBufferPointer<Int64>) -> T) -> T {
        let count = kinds.count
        return withUnsafeTemporaryAllocation(of: Int64.self, capacity: 2 * count) { buf in
            for i in 0..<count {
                var a: Int64 = 0, r: Int64 = 0
                switch kinds[i] {
                case .cpu:
                    a = node.allocatableMilliCPU
                    r = useRequested ? node.requestedMilliCPU + pod.requests.milliCPU
                                     : node.nonZeroRequestedMilliCPU + pod.nonZeroRequests.milliCPU
                case .memory:
                    a = node.allocatableMemory
                    r = useRequested ? node.requestedMemory + pod.requests.memory
                                     : node.nonZeroRequestedMemory + pod.nonZeroRequests.memory
                case .ephemeralStorage:
                    a = node.allocatable.ephemeralStorage
                    r = node.requested.ephemeralStorage + pod.requests.ephemeralStorage
                case .scalar(let n):
                    let pr = pod.requests.scalar[n] ?? 0
                    if pr != 0, let alloc = node.allocatable.scalar[n] {
                        a = alloc
                        r = (node.requested.scalar[n] ?? 0) + pr
                    }
                }
                if a == 0 { r = 0 }
                buf[i] = r
                buf[count + i] = a
            }
            return body(UnsafeBufferPointer(rebasing: buf[0..<count]), UnsafeBufferPointer(rebasing: buf[count..<(2 * count)]))
        }
    }
}
