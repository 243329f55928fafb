import CapstanAPI
import Foundation

/// How full the machine is, sampled at each status report (drives the pressure conditions).
public struct HostUsage: Sendable, Hashable {
    public var memoryAvailableBytes: Int64
    public var storageAvailableBytes: Int64
    public var pidsAvailable: Int64

    public init(memoryAvailableBytes: Int64, storageAvailableBytes: Int64, pidsAvailable: Int64 = .max) {
        self.memoryAvailableBytes = memoryAvailableBytes
        self.storageAvailableBytes = storageAvailableBytes
        self.pidsAvailable = pidsAvailable
    }
}

/// The Node object and its status as the agent reports them: pure functions of the host's
/// facts, the configuration and the time.
public enum NodeStatusCore {
    public static let kubeletVersion = "v1.33.0-capstan"
    /// Memory kept back from pods (kubelet's default hard eviction threshold `memory.available<100Mi`).
    public static let memoryEvictionThreshold: Int64 = 100 * 1024 * 1024
    /// Percentage of the root file system kept back (`nodefs.available<10%`).
    public static let storageEvictionPercent: Int64 = 10
    /// Fewer free PIDs than this is PID pressure.
    public static let pidPressureThreshold: Int64 = 1000

    /// The labels kubelet puts on its Node.
    public static func labels(nodeName: String, facts: HostFacts) -> [String: String] {
        [
            "kubernetes.io/hostname": nodeName,
            "kubernetes.io/os": facts.operatingSystem,
            "kubernetes.io/arch": facts.architecture,
            "beta.kubernetes.io/os": facts.operatingSystem,
            "beta.kubernetes.io/arch": facts.architecture,
        ]
    }

    public static func capacity(_ facts: HostFacts, maxPods: Int) -> [String: Quantity] {
        [
            "cpu": Quantity(Int64(facts.cpuCount)),
            "memory": Quantity(facts.memoryBytes, format: .binarySI),
            "ephemeral-storage": Quantity(facts.ephemeralStorageBytes, format: .binarySI),
            "pods": Quantity(Int64(maxPods)),
        ]
    }

    /// Capacity minus the eviction thresholds (kubelet's allocatable with no reservations).
    public static func allocatable(_ facts: HostFacts, maxPods: Int) -> [String: Quantity] {
        let storage = facts.ephemeralStorageBytes - facts.ephemeralStorageBytes * storageEvictionPercent / 100
        return [
            "cpu": Quantity(Int64(facts.cpuCount)),
            "memory": Quantity(max(0, facts.memoryBytes - memoryEvictionThreshold), format: .binarySI),
            "ephemeral-storage": Quantity(max(0, storage), format: .binarySI),
            "pods": Quantity(Int64(maxPods)),
        ]
    }

    public static func addresses(nodeName: String, facts: HostFacts) -> [CoreV1.NodeAddress] {
        [CoreV1.NodeAddress(address: facts.internalIP, type: "InternalIP"), CoreV1.NodeAddress(address: nodeName, type: "Hostname")]
    }

    public static func nodeInfo(_ facts: HostFacts) -> CoreV1.NodeSystemInfo {
        CoreV1.NodeSystemInfo(
            architecture: facts.architecture, bootID: facts.bootID, containerRuntimeVersion: facts.containerRuntimeVersion,
            kernelVersion: facts.kernelVersion, kubeProxyVersion: "", kubeletVersion: kubeletVersion,
            machineID: facts.machineID, operatingSystem: facts.operatingSystem, osImage: facts.osImage,
            systemUUID: facts.systemUUID)
    }

    /// One condition as reported now: `(type, pressure?, reason, message)`.
    struct ConditionReport: Equatable {
        var type: String
        var status: String
        var reason: String
        var message: String
    }

    static func conditionReports(facts: HostFacts, usage: HostUsage, ready: Bool, notReadyMessage: String) -> [ConditionReport] {
        let memoryPressure = usage.memoryAvailableBytes < memoryEvictionThreshold
        let diskPressure = facts.ephemeralStorageBytes > 0
            && usage.storageAvailableBytes * 100 < facts.ephemeralStorageBytes * storageEvictionPercent
        let pidPressure = usage.pidsAvailable < pidPressureThreshold
        return [
            memoryPressure
                ? .init(type: "MemoryPressure", status: "True", reason: "KubeletHasInsufficientMemory", message: "kubelet has insufficient memory available")
                : .init(type: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory", message: "kubelet has sufficient memory available"),
            diskPressure
                ? .init(type: "DiskPressure", status: "True", reason: "KubeletHasDiskPressure", message: "kubelet has disk pressure")
                : .init(type: "DiskPressure", status: "False", reason: "KubeletHasNoDiskPressure", message: "kubelet has no disk pressure"),
            pidPressure
                ? .init(type: "PIDPressure", status: "True", reason: "KubeletHasInsufficientPID", message: "kubelet has insufficient PID available")
                : .init(type: "PIDPressure", status: "False", reason: "KubeletHasSufficientPID", message: "kubelet has sufficient PID available"),
            ready
                ? .init(type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status")
                : .init(type: "Ready", status: "False", reason: "KubeletNotReady", message: notReadyMessage),
        ]
    }

    /// The conditions with heartbeats at `now`; a transition time moves only when the status changes.
    public static func conditions(facts: HostFacts, usage: HostUsage, ready: Bool = true, notReadyMessage: String = "",
                                  previous: [CoreV1.NodeCondition]?, now: Date) -> [CoreV1.NodeCondition] {
        let stamp = MetaV1.Time(date: now)
        return conditionReports(facts: facts, usage: usage, ready: ready, notReadyMessage: notReadyMessage).map { report in
            let before = previous?.first { $0.type == report.type }
            let transition = (before?.status == report.status ? before?.lastTransitionTime : nil) ?? stamp
            return CoreV1.NodeCondition(lastHeartbeatTime: stamp, lastTransitionTime: transition, message: report.message,
                                        reason: report.reason, status: report.status, type: report.type)
        }
    }

    /// The full status the agent reports.
    public static func status(facts: HostFacts, usage: HostUsage, maxPods: Int, endpointPort: Int32?,
                              previous: CoreV1.NodeStatus?, now: Date) -> CoreV1.NodeStatus {
        var status = previous ?? CoreV1.NodeStatus()
        status.capacity = capacity(facts, maxPods: maxPods)
        status.allocatable = allocatable(facts, maxPods: maxPods)
        status.addresses = addresses(nodeName: facts.hostname, facts: facts)
        status.nodeInfo = nodeInfo(facts)
        status.conditions = conditions(facts: facts, usage: usage, previous: previous?.conditions, now: now)
        if let endpointPort {
            status.daemonEndpoints = CoreV1.NodeDaemonEndpoints(kubeletEndpoint: CoreV1.DaemonEndpoint(Port: endpointPort))
        }
        return status
    }

    /// Whether `new` says something `old` does not, heartbeats aside (kubelet then reports at once
    /// instead of waiting for the next periodic report).
    public static func differsBeyondHeartbeat(_ old: CoreV1.NodeStatus?, _ new: CoreV1.NodeStatus) -> Bool {
        guard var old else { return true }
        var new = new
        old.conditions = old.conditions?.map { var c = $0; c.lastHeartbeatTime = nil; return c }
        new.conditions = new.conditions?.map { var c = $0; c.lastHeartbeatTime = nil; return c }
        return old != new
    }

    /// The Node to create when none exists.
    public static func newNode(name: String, facts: HostFacts, extraLabels: [String: String], maxPods: Int,
                               endpointPort: Int32?, usage: HostUsage, now: Date) -> CoreV1.Node {
        var hostFacts = facts
        hostFacts.hostname = name
        return CoreV1.Node(
            metadata: MetaV1.ObjectMeta(
                annotations: ["node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"],
                labels: labels(nodeName: name, facts: facts).merging(extraLabels) { _, extra in extra },
                name: name),
            spec: CoreV1.NodeSpec(),
            status: status(facts: hostFacts, usage: usage, maxPods: maxPods, endpointPort: endpointPort, previous: nil, now: now))
    }

    /// The pod CIDR in use: the Node's `spec.podCIDR` when set, else the configured default.
    public static func podCIDR(of node: CoreV1.Node?, default fallback: String) -> String {
        if let cidr = node?.spec?.podCIDR, !cidr.isEmpty { return cidr }
        if let first = node?.spec?.podCIDRs?.first(where: { $0.contains(".") }) { return first }
        return fallback
    }
}

/// The node's Lease in `kube-node-lease`, renewed every 10 s (kubelet's heartbeat).
public enum NodeLeaseCore {
    public static let namespace = "kube-node-lease"
    public static let durationSeconds: Int32 = 40
    public static let renewInterval: Duration = .seconds(10)

    public static func lease(nodeName: String, nodeUID: String?, now: Date) -> CoordinationV1.Lease {
        var owners: [MetaV1.OwnerReference]?
        if let nodeUID, !nodeUID.isEmpty {
            owners = [MetaV1.OwnerReference(apiVersion: "v1", kind: "Node", name: nodeName, uid: nodeUID)]
        }
        return CoordinationV1.Lease(
            metadata: MetaV1.ObjectMeta(name: nodeName, namespace: namespace, ownerReferences: owners),
            spec: CoordinationV1.LeaseSpec(holderIdentity: nodeName, leaseDurationSeconds: durationSeconds,
                                           renewTime: MetaV1.MicroTime(date: now)))
    }

    /// The lease renewed at `now` (kept holder, duration and owner; fixed if someone changed them).
    public static func renewed(_ lease: CoordinationV1.Lease, nodeName: String, now: Date) -> CoordinationV1.Lease {
        var lease = lease
        var spec = lease.spec ?? CoordinationV1.LeaseSpec()
        spec.holderIdentity = nodeName
        spec.leaseDurationSeconds = durationSeconds
        spec.renewTime = MetaV1.MicroTime(date: now)
        lease.spec = spec
        return lease
    }
}

extension MetaV1.Time {
    init(date: Date) { self.init(secondsSinceEpoch: Int64(date.timeIntervalSince1970.rounded(.down))) }
    var date: Date { Date(timeIntervalSince1970: TimeInterval(secondsSinceEpoch)) }
}

extension MetaV1.MicroTime {
    init(date: Date) {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        self.init(secondsSinceEpoch: Int64(seconds), microseconds: Int32(min(999_999, max(0, (date.timeIntervalSince1970 - seconds) * 1_000_000))))
    }
}
