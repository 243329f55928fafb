import CapstanAPI

/// Resource names the scheduler reads, as Kubernetes spells them.
public enum ResourceName {
    public static let cpu = "cpu"
    public static let memory = "memory"
    public static let ephemeralStorage = "ephemeral-storage"
    public static let pods = "pods"

    /// Extended resources (`example.com/gpu`), hugepages, attachable volumes and
    /// `kubernetes.io/`-prefixed native resources: the ones tracked as scalars.
    public static func isScalar(_ name: String) -> Bool {
        if name.hasPrefix("hugepages-") || name.hasPrefix("attachable-volumes-") { return true }
        return isExtended(name) || name.hasPrefix("kubernetes.io/")
    }

    /// A domain-prefixed name outside `kubernetes.io/` and not a quota `requests.` name.
    public static func isExtended(_ name: String) -> Bool {
        guard name.contains("/") else { return false }
        if name.hasPrefix("kubernetes.io/") || name.contains(".kubernetes.io/") { return false }
        return !name.hasPrefix("requests.")
    }
}

/// Amounts of compute resources, as Kubernetes' `framework.Resource`: CPU in millicores,
/// memory and ephemeral storage in bytes, a pod count and scalar (extended) resources.
public struct Resource: Sendable, Hashable {
    public var milliCPU: Int64 = 0
    public var memory: Int64 = 0
    public var ephemeralStorage: Int64 = 0
    /// For allocatable: the `pods` capacity.
    public var allowedPodNumber: Int = 0
    /// Extended resources, hugepages and other scalar resources, by name.
    public var scalar: [String: Int64] = [:]

    public init(milliCPU: Int64 = 0, memory: Int64 = 0, ephemeralStorage: Int64 = 0, allowedPodNumber: Int = 0, scalar: [String: Int64] = [:]) {
        self.milliCPU = milliCPU
        self.memory = memory
        self.ephemeralStorage = ephemeralStorage
        self.allowedPodNumber = allowedPodNumber
        self.scalar = scalar
    }

    /// From a resource list (`status.allocatable`, container requests).
    public init(_ list: [String: Quantity]?) {
        guard let list else { return }
        for (name, q) in list { add(name, q) }
    }

    public static let zero = Resource()

    public var isZero: Bool {
        milliCPU == 0 && memory == 0 && ephemeralStorage == 0 && allowedPodNumber == 0 && scalar.values.allSatisfy { $0 == 0 }
    }

    /// The amount of one resource by name (CPU in millicores).
    public func amount(_ name: String) -> Int64 {
        switch name {
        case ResourceName.cpu: milliCPU
        case ResourceName.memory: memory
        case ResourceName.ephemeralStorage: ephemeralStorage
        case ResourceName.pods: Int64(allowedPodNumber)
        default: scalar[name] ?? 0
        }
    }

    public mutating func add(_ name: String, _ q: Quantity) {
        switch name {
        case ResourceName.cpu: milliCPU += q.milliValue
        case ResourceName.memory: memory += q.value
        case ResourceName.ephemeralStorage: ephemeralStorage += q.value
        case ResourceName.pods: allowedPodNumber += Int(q.value)
        default:
            if ResourceName.isScalar(name) { scalar[name, default: 0] += q.value }
        }
    }

    public mutating func add(_ other: Resource) {
        milliCPU += other.milliCPU
        memory += other.memory
        ephemeralStorage += other.ephemeralStorage
        allowedPodNumber += other.allowedPodNumber
        if !other.scalar.isEmpty {
            for (k, v) in other.scalar { scalar[k, default: 0] += v }
        }
    }

    public mutating func subtract(_ other: Resource) {
        milliCPU -= other.milliCPU
        memory -= other.memory
        ephemeralStorage -= other.ephemeralStorage
        allowedPodNumber -= other.allowedPodNumber
        if !other.scalar.isEmpty {
            for (k, v) in other.scalar { scalar[k, default: 0] -= v }
        }
    }

    /// Each dimension becomes the larger of the two.
    public mutating func setMax(_ other: Resource) {
        milliCPU = max(milliCPU, other.milliCPU)
        memory = max(memory, other.memory)
        ephemeralStorage = max(ephemeralStorage, other.ephemeralStorage)
        allowedPodNumber = max(allowedPodNumber, other.allowedPodNumber)
        for (k, v) in other.scalar { scalar[k] = max(scalar[k] ?? 0, v) }
    }

    public static func + (a: Resource, b: Resource) -> Resource {
        var r = a
        r.add(b)
        return r
    }
}
