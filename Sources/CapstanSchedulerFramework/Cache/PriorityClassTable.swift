import CapstanAPI

/// Whether a pod may preempt lower-priority pods (`spec.preemptionPolicy`).
public struct PreemptionPolicy: RawRepresentable, Sendable, Hashable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let preemptLowerPriority = PreemptionPolicy(rawValue: "PreemptLowerPriority")
    public static let never = PreemptionPolicy(rawValue: "Never")
}

/// PriorityClasses by name, resolving a pod's priority as the Priority admission plugin
/// does: `spec.priority` if set, else its `priorityClassName`'s value, else the global
/// default class's value, else 0. The two system classes are always known.
public struct PriorityClassTable: Sendable {
    public static let systemClusterCritical: Int32 = 2_000_000_000
    public static let systemNodeCritical: Int32 = 2_000_001_000

    private var byName: [String: (value: Int32, policy: PreemptionPolicy?)] = [:]
    private var globalDefault: (value: Int32, policy: PreemptionPolicy?)?

    public init(_ classes: [SchedulingV1.PriorityClass] = []) {
        byName["system-cluster-critical"] = (Self.systemClusterCritical, nil)
        byName["system-node-critical"] = (Self.systemNodeCritical, nil)
        for pc in classes {
            guard let name = pc.metadata?.name else { continue }
            let policy = pc.preemptionPolicy.map(PreemptionPolicy.init(rawValue:))
            byName[name] = (pc.value, policy)
            if pc.globalDefault == true, globalDefault == nil || globalDefault!.value > pc.value {
                globalDefault = (pc.value, policy)
            }
        }
    }

    public static let empty = PriorityClassTable()

    /// The priority a pod runs with.
    public func priority(of spec: CoreV1.PodSpec?) -> Int32 {
        if let p = spec?.priority { return p }
        if let name = spec?.priorityClassName, !name.isEmpty, let c = byName[name] { return c.value }
        return globalDefault?.value ?? 0
    }

    /// The pod's preemption policy (its own, else its class's, else PreemptLowerPriority).
    public func preemptionPolicy(of spec: CoreV1.PodSpec?) -> PreemptionPolicy {
        if let p = spec?.preemptionPolicy { return PreemptionPolicy(rawValue: p) }
        if let name = spec?.priorityClassName, !name.isEmpty, let c = byName[name] {
            return c.policy ?? .preemptLowerPriority
        }
        if spec?.priorityClassName == nil || spec?.priorityClassName == "", let d = globalDefault, let p = d.policy { return p }
        return .preemptLowerPriority
    }
}
