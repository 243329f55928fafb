import CapstanAPI

/// A change in the cluster that may make unschedulable pods schedulable (Kubernetes'
/// `framework.ClusterEvent`, simplified): a resource and what happened to it.
public struct ClusterEvent: Sendable, Hashable, CustomStringConvertible {
    public struct Resource: RawRepresentable, Sendable, Hashable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let node = Resource(rawValue: "Node")
        /// A pod assigned to a node (placed pods change what fits where).
        public static let assignedPod = Resource(rawValue: "AssignedPod")
        /// The unscheduled pod itself.
        public static let unscheduledPod = Resource(rawValue: "UnscheduledPod")
        public static let namespace = Resource(rawValue: "Namespace")
        public static let podDisruptionBudget = Resource(rawValue: "PodDisruptionBudget")
        public static let wildcard = Resource(rawValue: "*")
    }

    /// What happened; a set, so a plugin registers several at once.
    public struct ActionType: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let add = ActionType(rawValue: 1 << 0)
        public static let delete = ActionType(rawValue: 1 << 1)
        public static let updateNodeAllocatable = ActionType(rawValue: 1 << 2)
        public static let updateNodeLabel = ActionType(rawValue: 1 << 3)
        public static let updateNodeTaint = ActionType(rawValue: 1 << 4)
        public static let updateNodeCondition = ActionType(rawValue: 1 << 5)
        public static let updateNodeAnnotation = ActionType(rawValue: 1 << 6)
        public static let updatePodLabel = ActionType(rawValue: 1 << 7)
        public static let updatePodScaleDown = ActionType(rawValue: 1 << 8)
        public static let updatePodToleration = ActionType(rawValue: 1 << 9)
        public static let updatePodSchedulingGatesEliminated = ActionType(rawValue: 1 << 10)
        /// Any other update.
        public static let updateOther = ActionType(rawValue: 1 << 11)
        public static let update: ActionType = [.updateNodeAllocatable, .updateNodeLabel, .updateNodeTaint, .updateNodeCondition,
                                                .updateNodeAnnotation, .updatePodLabel, .updatePodScaleDown, .updatePodToleration,
                                                .updatePodSchedulingGatesEliminated, .updateOther]
        public static let all: ActionType = [.add, .delete, .update]
    }

    public var resource: Resource
    public var actionType: ActionType

    public init(_ resource: Resource, _ actionType: ActionType) {
        self.resource = resource
        self.actionType = actionType
    }

    /// Moves every unschedulable pod (the periodic flush, or an unknown change).
    public static let wildcard = ClusterEvent(.wildcard, .all)
    /// Pods whose back-off or unschedulable stay timed out.
    public static let unschedulableTimeout = ClusterEvent(.wildcard, .all)

    /// True when `other` (a registered interest) covers this event.
    public func matches(_ registered: ClusterEvent) -> Bool {
        if registered.resource == .wildcard || resource == .wildcard { return true }
        return registered.resource == resource && !registered.actionType.intersection(actionType).isEmpty
    }

    public var description: String { "\(resource.rawValue)/\(actionType.rawValue)" }

    /// The node event for a change from `old` to `new` (nil old: added).
    public static func nodeChange(old: CoreV1.Node?, new: CoreV1.Node) -> ClusterEvent {
        guard let old else { return ClusterEvent(.node, .add) }
        var a: ActionType = []
        if old.status?.allocatable != new.status?.allocatable { a.insert(.updateNodeAllocatable) }
        if old.metadata?.labels != new.metadata?.labels { a.insert(.updateNodeLabel) }
        if old.spec?.taints != new.spec?.taints || old.spec?.unschedulable != new.spec?.unschedulable { a.insert(.updateNodeTaint) }
        if old.status?.conditions?.map({ [$0.type, $0.status] }) != new.status?.conditions?.map({ [$0.type, $0.status] }) {
            a.insert(.updateNodeCondition)
        }
        if old.metadata?.annotations != new.metadata?.annotations { a.insert(.updateNodeAnnotation) }
        return ClusterEvent(.node, a)
    }

    /// The assigned-pod event for a change from `old` to `new`.
    public static func podChange(old: CoreV1.Pod, new: CoreV1.Pod) -> ClusterEvent {
        var a: ActionType = []
        if old.metadata?.labels != new.metadata?.labels { a.insert(.updatePodLabel) }
        if old.spec?.tolerations != new.spec?.tolerations { a.insert(.updatePodToleration) }
        if !(old.spec?.schedulingGates ?? []).isEmpty && (new.spec?.schedulingGates ?? []).isEmpty {
            a.insert(.updatePodSchedulingGatesEliminated)
        }
        let oldReq = PodResources.requests(old.spec), newReq = PodResources.requests(new.spec)
        if newReq.milliCPU < oldReq.milliCPU || newReq.memory < oldReq.memory || newReq.ephemeralStorage < oldReq.ephemeralStorage {
            a.insert(.updatePodScaleDown)
        }
        if a.isEmpty { a = .updateOther }
        return ClusterEvent(.assignedPod, a)
    }
}

/// The objects of a cluster event, given to queueing hints.
public struct ClusterEventObjects: Sendable {
    public var oldNode: CoreV1.Node?
    public var newNode: CoreV1.Node?
    public var oldPod: PodInfo?
    public var newPod: PodInfo?

    public init(oldNode: CoreV1.Node? = nil, newNode: CoreV1.Node? = nil, oldPod: PodInfo? = nil, newPod: PodInfo? = nil) {
        self.oldNode = oldNode
        self.newNode = newNode
        self.oldPod = oldPod
        self.newPod = newPod
    }
}

/// Whether an event may make a rejected pod schedulable.
public struct QueueingHint: RawRepresentable, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let skip = QueueingHint(rawValue: 0)
    public static let queue = QueueingHint(rawValue: 1)
}

/// An event a plugin cares about, with an optional hint that refines it for a given pod.
public struct ClusterEventWithHint: Sendable {
    public var event: ClusterEvent
    public var hint: (@Sendable (PodInfo, ClusterEventObjects) -> QueueingHint)?

    public init(_ event: ClusterEvent, hint: (@Sendable (PodInfo, ClusterEventObjects) -> QueueingHint)? = nil) {
        self.event = event
        self.hint = hint
    }
}
