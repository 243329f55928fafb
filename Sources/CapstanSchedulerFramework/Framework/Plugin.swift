import CapstanAPI

// The extension points of the scheduling framework, as Kubernetes defines them
// (https://kubernetes.io/docs/concepts/scheduling-eviction/scheduling-framework/).
// Plugins are immutable and Sendable; per-cycle data goes in the `CycleState`.

/// The maximum score a Score plugin returns after normalisation.
public let maxNodeScore: Int64 = 100
/// The minimum score.
public let minNodeScore: Int64 = 0

/// Every plugin has a name, used in profiles, statuses and events.
public protocol Plugin: AnyObject, Sendable {
    var name: String { get }
}

/// Orders the active queue. One per scheduler (all profiles must agree).
public protocol QueueSortPlugin: Plugin {
    func less(_ a: QueuedPodInfo, _ b: QueuedPodInfo) -> Bool
}

/// Decides whether a pod may enter the active queue at all (scheduling gates).
public protocol PreEnqueuePlugin: Plugin {
    func preEnqueue(_ pod: PodInfo) -> Status
}

/// Nodes a PreFilter restricts the cycle to (nil: all nodes).
public struct PreFilterResult: Sendable, Hashable {
    public var nodeNames: Set<String>?

    public init(nodeNames: Set<String>?) { self.nodeNames = nodeNames }

    public static let allNodes = PreFilterResult(nodeNames: nil)

    public var isAllNodes: Bool { nodeNames == nil }

    public func merged(_ other: PreFilterResult?) -> PreFilterResult {
        guard let other, let b = other.nodeNames else { return self }
        guard let a = nodeNames else { return other }
        return PreFilterResult(nodeNames: a.intersection(b))
    }
}

/// Runs once per cycle before the filters: precomputes per-pod data in the `CycleState`,
/// may reject the pod outright, skip its Filter (`.skip`), or narrow the nodes.
public protocol PreFilterPlugin: Plugin {
    func preFilter(state: CycleState, pod: PodInfo) -> (PreFilterResult?, Status)
}

/// Keeps a PreFilter's state right when a pod is added to or removed from a node during
/// "what if" evaluation (nominated pods, preemption).
public protocol PreFilterExtensions: PreFilterPlugin {
    func addPod(state: CycleState, podToSchedule: PodInfo, podToAdd: PodInfo, node: NodeInfo) -> Status
    func removePod(state: CycleState, podToSchedule: PodInfo, podToRemove: PodInfo, node: NodeInfo) -> Status
}

/// Decides whether the pod can run on a node.
public protocol FilterPlugin: Plugin {
    func filter(state: CycleState, pod: PodInfo, node: NodeInfo) -> Status
}

/// What a PostFilter achieved: a node nominated for the pod (after preemption).
public struct PostFilterResult: Sendable {
    public var nominatedNodeName: String
    /// Pods to evict so the nominated node fits.
    public var victims: [PodInfo]
    /// Lower-priority pods nominated to that node whose nomination must be cleared.
    public var nominationsToClear: [PodInfo]

    public init(nominatedNodeName: String, victims: [PodInfo] = [], nominationsToClear: [PodInfo] = []) {
        self.nominatedNodeName = nominatedNodeName
        self.victims = victims
        self.nominationsToClear = nominationsToClear
    }
}

/// Everything a PostFilter may consult: the framework (to re-run filters), the filter
/// verdicts, the nominator and a seed for random choices.
public struct PostFilterContext {
    public var framework: Framework
    public var nodeToStatus: NodeToStatus
    public var nominator: (any PodNominator)?
    public var randomSeed: UInt64

    public init(framework: Framework, nodeToStatus: NodeToStatus, nominator: (any PodNominator)?, randomSeed: UInt64) {
        self.framework = framework
        self.nodeToStatus = nodeToStatus
        self.nominator = nominator
        self.randomSeed = randomSeed
    }
}

/// Runs when no node passed the filters (preemption).
public protocol PostFilterPlugin: Plugin {
    func postFilter(state: CycleState, pod: PodInfo, context: PostFilterContext) -> (PostFilterResult?, Status)
}

/// Runs once before scoring with the feasible nodes; may `.skip` its Score.
public protocol PreScorePlugin: Plugin {
    func preScore(state: CycleState, pod: PodInfo, nodes: [NodeInfo]) -> Status
}

/// Ranks feasible nodes. Scores must end in 0...100 (after normalisation).
public protocol ScorePlugin: Plugin {
    func score(state: CycleState, pod: PodInfo, node: NodeInfo) -> Int64
}

/// A Score plugin whose raw scores are rescaled once all nodes are scored.
public protocol NormalizeScorePlugin: ScorePlugin {
    func normalizeScore(state: CycleState, pod: PodInfo, nodes: [NodeInfo], scores: inout [Int64]) -> Status
}

/// Reserves node resources in plugin state when a node is chosen; `unreserve` undoes it
/// when a later step fails.
public protocol ReservePlugin: Plugin {
    func reserve(state: CycleState, pod: PodInfo, nodeName: String) -> Status
    func unreserve(state: CycleState, pod: PodInfo, nodeName: String)
}

/// Approves, rejects or delays (`.wait` with a timeout) the binding.
public protocol PermitPlugin: Plugin {
    func permit(state: CycleState, pod: PodInfo, nodeName: String) -> (Status, timeout: Duration)
}

/// Prepares the binding (pure: returns success or a failure).
public protocol PreBindPlugin: Plugin {
    func preBind(state: CycleState, pod: PodInfo, nodeName: String) -> Status
}

/// Produces the binding to write; `.skip` lets the next binder decide.
public protocol BindPlugin: Plugin {
    func bind(state: CycleState, pod: PodInfo, nodeName: String) -> (CoreV1.Binding?, Status)
}

/// Runs after a successful binding (informational).
public protocol PostBindPlugin: Plugin {
    func postBind(state: CycleState, pod: PodInfo, nodeName: String)
}

/// The cluster events after which a pod this plugin rejected may fit.
public protocol EnqueueExtensions: Plugin {
    func eventsToRegister() -> [ClusterEventWithHint]
}

/// Knows which pods are nominated to which nodes (the queue implements it).
public protocol PodNominator: AnyObject {
    func nominatedPods(forNode nodeName: String) -> [PodInfo]
    /// False when no pod is nominated anywhere (lets the filters skip the lookup).
    var hasNominatedPods: Bool { get }
}
