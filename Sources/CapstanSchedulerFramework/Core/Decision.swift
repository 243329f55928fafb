import CapstanAPI

/// What the scheduler decided for one pod in one cycle.
public enum Decision: Sendable {
    /// Place the pod on this node.
    case bind(node: String, result: ScheduleResult)
    /// No node fits now (or an error): record FailedScheduling and the condition.
    case unschedulable(Unschedulable)
    /// No node fits, but evicting `victims` frees `nominatedNodeName`: nominate it, evict them.
    case preempt(Preemption)

    /// The node of a `.bind`.
    public var node: String? {
        if case .bind(let n, _) = self { return n }
        return nil
    }
}

/// Why a pod was not placed, in the words `kubectl describe pod` shows.
public struct Unschedulable: Sendable {
    /// The FailedScheduling event message (`0/3 nodes are available: ...`).
    public var message: String
    /// `Unschedulable`, or `SchedulerError` for internal errors.
    public var reason: String
    /// Plugins that rejected the pod; their events requeue it.
    public var unschedulablePlugins: Set<String>
    public var pendingPlugins: Set<String>
    /// The pod's nomination (from an earlier preemption) should be cleared.
    public var clearNominatedNodeName: Bool

    public init(message: String, reason: String = Unschedulable.reasonUnschedulable, unschedulablePlugins: Set<String> = [],
                pendingPlugins: Set<String> = [], clearNominatedNodeName: Bool = false) {
        self.message = message
        self.reason = reason
        self.unschedulablePlugins = unschedulablePlugins
        self.pendingPlugins = pendingPlugins
        self.clearNominatedNodeName = clearNominatedNodeName
    }

    /// The reason of the Warning event recorded on the pod.
    public static let eventReason = "FailedScheduling"
    public static let reasonUnschedulable = "Unschedulable"
    public static let reasonSchedulerError = "SchedulerError"

    /// The `PodScheduled=False` condition to write on the pod.
    public var condition: CoreV1.PodCondition {
        CoreV1.PodCondition(message: message, reason: reason, status: "False", type: "PodScheduled")
    }
}

/// A preemption: the nominated node, the pods to evict, nominations to clear.
public struct Preemption: Sendable {
    public var nominatedNodeName: String
    /// Pods to delete (with a DisruptionTarget condition, reason PreemptionByScheduler).
    public var victims: [PodInfo]
    /// Lower-priority pods nominated to the same node, whose nomination is cleared.
    public var nominationsToClear: [PodInfo]
    /// The FailedScheduling message of this cycle.
    public var message: String
    public var unschedulablePlugins: Set<String>

    public init(nominatedNodeName: String, victims: [PodInfo], nominationsToClear: [PodInfo], message: String,
                unschedulablePlugins: Set<String>) {
        self.nominatedNodeName = nominatedNodeName
        self.victims = victims
        self.nominationsToClear = nominationsToClear
        self.message = message
        self.unschedulablePlugins = unschedulablePlugins
    }

    /// The `PodScheduled=False` condition to write on the preemptor.
    public var condition: CoreV1.PodCondition {
        CoreV1.PodCondition(message: message, reason: Unschedulable.reasonUnschedulable, status: "False", type: "PodScheduled")
    }

    /// The condition Kubernetes sets on each victim before deleting it.
    public func victimCondition(preemptor: PodInfo) -> CoreV1.PodCondition {
        CoreV1.PodCondition(message: "kube-scheduler: preempting to accommodate a higher priority pod", reason: "PreemptionByScheduler",
                            status: "True", type: "DisruptionTarget")
    }
}
