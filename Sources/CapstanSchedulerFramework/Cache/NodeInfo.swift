import CapstanAPI

/// A node with the pods placed on it and the sums the filters need, as Kubernetes'
/// `framework.NodeInfo`. The cache keeps one per node; a snapshot keeps its own copy, updated
/// from the cache's by generation. Copies share storage (arrays and dictionaries are
/// copy-on-write), so cloning is O(1) and the first later change copies only this node's pods.
///
/// Not thread-safe: confine to the scheduler's isolation domain.
public final class NodeInfo: CustomStringConvertible {
    public private(set) var node: CoreV1.Node?
    public let name: String
    public private(set) var labels: [String: String] = [:]
    public private(set) var taints: [CoreV1.Taint] = []
    /// `spec.unschedulable` (cordoned).
    public private(set) var unschedulable = false
    public private(set) var pods: [PodInfo] = []
    /// Pods with a podAffinity or podAntiAffinity stanza.
    public private(set) var podsWithAffinity: [PodInfo] = []
    /// Pods with required anti-affinity terms.
    public private(set) var podsWithRequiredAntiAffinity: [PodInfo] = []
    /// Sum of the pods' effective requests.
    public private(set) var requested = Resource()
    /// The same with the scoring defaults for missing CPU/memory requests.
    public private(set) var nonZeroRequested = Resource()
    /// `status.allocatable`.
    public private(set) var allocatable = Resource()
    public private(set) var usedPorts = HostPortInfo()
    /// Image sizes by every name the node reports.
    public private(set) var imageSizes: [String: Int64] = [:]
    /// Bumped by the cache on every change.
    public internal(set) var generation: Int64 = 0
    /// Stable position in a snapshot's per-node tables; -1 outside a snapshot.
    public internal(set) var slot: Int = -1

    public init(name: String) {
        self.name = name
    }

    public convenience init(node: CoreV1.Node, pods: [PodInfo] = []) {
        self.init(name: node.metadata?.name ?? "")
        setNode(node)
        for p in pods { addPod(p) }
    }

    public func setNode(_ node: CoreV1.Node) {
        self.node = node
        labels = node.metadata?.labels ?? [:]
        taints = node.spec?.taints ?? []
        unschedulable = node.spec?.unschedulable ?? false
        allocatable = Resource(node.status?.allocatable)
        var images: [String: Int64] = [:]
        for image in node.status?.images ?? [] {
            for n in image.names ?? [] { images[n] = image.sizeBytes ?? 0 }
        }
        imageSizes = images
    }

    /// Marks the node deleted while pods still reference it.
    public func removeNode() {
        node = nil
        labels = [:]
        taints = []
        unschedulable = false
        allocatable = Resource()
        imageSizes = [:]
    }

    public func addPod(_ pod: PodInfo) {
        pods.append(pod)
        if pod.hasPodAffinity { podsWithAffinity.append(pod) }
        if !pod.requiredAntiAffinityTerms.isEmpty { podsWithRequiredAntiAffinity.append(pod) }
        account(pod, sign: 1)
    }

    /// Removes the pod with `uid`; returns it, or nil when it is not on this node.
    @discardableResult
    public func removePod(uid: String) -> PodInfo? {
        guard let i = pods.firstIndex(where: { $0.uid == uid }) else { return nil }
        let pod = pods.remove(at: i)
        if pod.hasPodAffinity, let j = podsWithAffinity.firstIndex(where: { $0.uid == uid }) { podsWithAffinity.remove(at: j) }
        if !pod.requiredAntiAffinityTerms.isEmpty, let j = podsWithRequiredAntiAffinity.firstIndex(where: { $0.uid == uid }) {
            podsWithRequiredAntiAffinity.remove(at: j)
        }
        account(pod, sign: -1)
        return pod
    }

    private func account(_ pod: PodInfo, sign: Int64) {
        let r = pod.requests
        requested.milliCPU += sign * r.milliCPU
        requested.memory += sign * r.memory
        requested.ephemeralStorage += sign * r.ephemeralStorage
        if !r.scalar.isEmpty {
            for (k, v) in r.scalar { requested.scalar[k, default: 0] += sign * v }
        }
        nonZeroRequested.milliCPU += sign * pod.nonZeroRequests.milliCPU
        nonZeroRequested.memory += sign * pod.nonZeroRequests.memory
        for p in pod.hostPorts {
            if sign > 0 { usedPorts.add(p) } else { usedPorts.remove(p) }
        }
    }

    /// A copy sharing storage with this one (Kubernetes' `NodeInfo.Snapshot()`).
    public func clone() -> NodeInfo {
        let c = NodeInfo(name: name)
        c.copy(from: self)
        return c
    }

    /// Makes this node equal to `other` (same name), keeping its slot.
    func copy(from other: NodeInfo) {
        node = other.node
        labels = other.labels
        taints = other.taints
        unschedulable = other.unschedulable
        pods = other.pods
        podsWithAffinity = other.podsWithAffinity
        podsWithRequiredAntiAffinity = other.podsWithRequiredAntiAffinity
        requested = other.requested
        nonZeroRequested = other.nonZeroRequested
        allocatable = other.allocatable
        usedPorts = other.usedPorts
        imageSizes = other.imageSizes
        generation = other.generation
        if slot < 0 { slot = other.slot }
    }

    public var description: String { "NodeInfo(\(name), \(pods.count) pods)" }
}
