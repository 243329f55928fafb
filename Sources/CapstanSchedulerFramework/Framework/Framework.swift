import CapstanAPI

/// One profile's plugins sorted into extension points, and the code that runs them in
/// Kubernetes' order and with its rules (a PreFilter/PreScore "Skip" switches off the same
/// plugin's Filter/Score; the first rejecting filter decides; scores are normalised,
/// range-checked and weighted). Immutable; per-cycle data lives in the `CycleState`.
public final class Framework: Sendable {
    public struct WeightedScore: Sendable {
        public let plugin: any ScorePlugin
        public let weight: Int64
        public let normalizer: (any NormalizeScorePlugin)?
    }

    public let profile: Profile
    public let schedulerName: String
    public let percentageOfNodesToScore: Int32?

    public let queueSort: (any QueueSortPlugin)?
    public let preEnqueue: [any PreEnqueuePlugin]
    public let preFilter: [any PreFilterPlugin]
    public let preFilterExtensions: [any PreFilterExtensions]
    public let filter: [any FilterPlugin]
    public let postFilter: [any PostFilterPlugin]
    public let preScore: [any PreScorePlugin]
    public let score: [WeightedScore]
    public let reserve: [any ReservePlugin]
    public let permit: [any PermitPlugin]
    public let preBind: [any PreBindPlugin]
    public let bind: [any BindPlugin]
    public let postBind: [any PostBindPlugin]
    public let enqueueExtensions: [any EnqueueExtensions]

    /// Unretained views of the filter and score plugins for the per-node loops (the arrays
    /// above keep them alive).
    private struct FilterRef { unowned(unsafe) let plugin: any FilterPlugin }
    private struct ScoreRef { unowned(unsafe) let plugin: any ScorePlugin }
    private let filterRefs: [FilterRef]
    private let scoreRefs: [ScoreRef]

    /// For PreFilter i: the bit of the same plugin's Filter (0 when it has none).
    private let preFilterSkipBit: [UInt64]
    /// For PreFilterExtensions i: the bit of the same plugin's Filter.
    private let extensionFilterBit: [UInt64]
    /// For PreScore i: the bit of the same plugin's Score.
    private let preScoreSkipBit: [UInt64]

    public init(profile: Profile) {
        self.profile = profile
        schedulerName = profile.schedulerName
        percentageOfNodesToScore = profile.percentageOfNodesToScore
        let ps = profile.plugins
        queueSort = ps.lazy.compactMap { $0 as? any QueueSortPlugin }.first
        preEnqueue = ps.compactMap { $0 as? any PreEnqueuePlugin }
        preFilter = ps.compactMap { $0 as? any PreFilterPlugin }
        preFilterExtensions = ps.compactMap { $0 as? any PreFilterExtensions }
        filter = ps.compactMap { $0 as? any FilterPlugin }
        precondition(filter.count <= 64, "at most 64 filter plugins")
        postFilter = ps.compactMap { $0 as? any PostFilterPlugin }
        preScore = ps.compactMap { $0 as? any PreScorePlugin }
        score = ps.compactMap { p in
            guard let s = p as? any ScorePlugin else { return nil }
            return WeightedScore(plugin: s, weight: profile.scoreWeights[p.name] ?? 1, normalizer: p as? any NormalizeScorePlugin)
        }
        precondition(score.count <= 64, "at most 64 score plugins")
        reserve = ps.compactMap { $0 as? any ReservePlugin }
        permit = ps.compactMap { $0 as? any PermitPlugin }
        preBind = ps.compactMap { $0 as? any PreBindPlugin }
        bind = ps.compactMap { $0 as? any BindPlugin }
        postBind = ps.compactMap { $0 as? any PostBindPlugin }
        enqueueExtensions = ps.compactMap { $0 as? any EnqueueExtensions }
        filterRefs = filter.map { FilterRef(plugin: $0) }
        scoreRefs = score.map { ScoreRef(plugin: $0.plugin) }

        let filterNames = filter.map(\.name)
        let scoreNames = score.map(\.plugin.name)
        func bit(_ names: [String], _ name: String) -> UInt64 {
            guard let i = names.firstIndex(of: name) else { return 0 }
            return 1 << UInt64(i)
        }
        preFilterSkipBit = preFilter.map { bit(filterNames, $0.name) }
        extensionFilterBit = preFilterExtensions.map { bit(filterNames, $0.name) }
        preScoreSkipBit = preScore.map { bit(scoreNames, $0.name) }
    }

    public var hasFilterPlugins: Bool { !filter.isEmpty }
    public var hasScorePlugins: Bool { !score.isEmpty }

    // MARK: PreEnqueue

    public func runPreEnqueuePlugins(_ pod: PodInfo) -> Status {
        for p in preEnqueue {
            let s = p.preEnqueue(pod)
            if !s.isSuccess { return s.withPlugin(p.name) }
        }
        return .success
    }

    // MARK: PreFilter / Filter

    /// Runs the PreFilters; returns the node restriction, the status and the plugins that
    /// restricted nodes.
    public func runPreFilterPlugins(state: CycleState, pod: PodInfo) -> (PreFilterResult?, Status, [String]) {
        var result: PreFilterResult?
        var pluginsWithNodes: [String] = []
        var skip: UInt64 = 0
        for (i, p) in preFilter.enumerated() {
            let (r, s) = p.preFilter(state: state, pod: pod)
            if s.isSkip {
                skip |= preFilterSkipBit[i]
                continue
            }
            if !s.isSuccess {
                if s.isRejected { return (nil, s.withPlugin(p.name), [p.name]) }
                return (nil, Status.error("running PreFilter plugin \"\(p.name)\": \(s.message)").withPlugin(p.name), [])
            }
            if let r, !r.isAllNodes {
                pluginsWithNodes.append(p.name)
                result = (result ?? .allNodes).merged(r)
                if let names = result?.nodeNames, names.isEmpty {
                    let msg = pluginsWithNodes.count == 1
                        ? "node(s) didn't satisfy plugin \(pluginsWithNodes[0])"
                        : "node(s) didn't satisfy plugin(s) [\(pluginsWithNodes.joined(separator: " "))] simultaneously"
                    return (result, Status(.unschedulableAndUnresolvable, reason: msg, plugin: p.name), pluginsWithNodes)
                }
            }
        }
        state.skipFilterPlugins = skip
        return (result, .success, pluginsWithNodes)
    }

    /// Runs the filters until one rejects the node.
    @inline(__always)
    public func runFilterPlugins(state: CycleState, pod: PodInfo, node: NodeInfo) -> Status {
        let skip = state.skipFilterPlugins
        let refs = filterRefs
        for i in 0..<refs.count where skip & (1 << UInt64(i)) == 0 {
            let p = refs[i].plugin
            let s = p.filter(state: state, pod: pod, node: node)
            if !s.isSuccess {
                if !s.isRejected {
                    return Status.error("running \"\(p.name)\" filter plugin: \(s.message)").withPlugin(p.name)
                }
                return s.withPlugin(p.name)
            }
        }
        return .success
    }

    /// A filter verdict without the rejecting status (`probeFilterPlugins`).
    public enum FilterProbe: Sendable, Equatable {
        case passed
        /// Rejected by filter plugin `index`: the node is infeasible, although another plugin
        /// earlier in the profile's order may be the one whose status Kubernetes reports.
        case rejected(index: Int)
        /// A plugin failed with an error: only `runFilterPlugins` says what the node's verdict is.
        case undecided
    }

    /// Whether every filter passes the node, trying filter plugin `first` (-1: none) before the
    /// others: in a cycle where most nodes fail one plugin (required pod affinity, a full
    /// topology domain), the plugin that rejected the previous node usually rejects this one,
    /// and the plugins before it in the profile need not run. The verdict is the same as
    /// `runFilterPlugins`'s; only the reported status may differ, so callers that need the
    /// statuses (an unschedulable pod's diagnosis) run the filters again in order.
    @inline(__always)
    public func probeFilterPlugins(state: CycleState, pod: PodInfo, node: NodeInfo, first: Int) -> FilterProbe {
        let skip = state.skipFilterPlugins
        let refs = filterRefs
        if first >= 0 && skip & (1 << UInt64(first)) == 0 {
            let s = refs[first].plugin.filter(state: state, pod: pod, node: node)
            if !s.isSuccess { return s.isRejected ? .rejected(index: first) : .undecided }
        }
        for i in 0..<refs.count where i != first && skip & (1 << UInt64(i)) == 0 {
            let s = refs[i].plugin.filter(state: state, pod: pod, node: node)
            if !s.isSuccess { return s.isRejected ? .rejected(index: i) : .undecided }
        }
        return .passed
    }

    /// Runs the filters as Kubernetes' `RunFilterPluginsWithNominatedPods`: first with the
    /// pods nominated to the node at equal or higher priority added, then (if they passed and
    /// some were added) without them.
    public func runFilterPluginsWithNominatedPods(state: CycleState, pod: PodInfo, node: NodeInfo, nominator: (any PodNominator)?) -> Status {
        guard let nominator, nominator.hasNominatedPods else { return runFilterPlugins(state: state, pod: pod, node: node) }
        let nominated = nominator.nominatedPods(forNode: node.name)
        if nominated.isEmpty { return runFilterPlugins(state: state, pod: pod, node: node) }
        var added = false
        var stateOut = state
        var nodeOut = node
        for p in nominated where p.priority >= pod.priority && p.uid != pod.uid {
            if !added {
                stateOut = state.clone()
                nodeOut = node.clone()
                added = true
            }
            nodeOut.addPod(p)
            let s = runPreFilterExtensionAddPod(state: stateOut, podToSchedule: pod, podToAdd: p, node: nodeOut)
            if !s.isSuccess { return s }
        }
        if !added { return runFilterPlugins(state: state, pod: pod, node: node) }
        let first = runFilterPlugins(state: stateOut, pod: pod, node: nodeOut)
        guard first.isSuccess else { return first }
        return runFilterPlugins(state: state, pod: pod, node: node)
    }

    public func runPreFilterExtensionAddPod(state: CycleState, podToSchedule: PodInfo, podToAdd: PodInfo, node: NodeInfo) -> Status {
        for (i, p) in preFilterExtensions.enumerated() where state.skipFilterPlugins & extensionFilterBit[i] == 0 {
            let s = p.addPod(state: state, podToSchedule: podToSchedule, podToAdd: podToAdd, node: node)
            if !s.isSuccess { return Status.error("running AddPod on PreFilter plugin \"\(p.name)\": \(s.message)").withPlugin(p.name) }
        }
        return .success
    }

    public func runPreFilterExtensionRemovePod(state: CycleState, podToSchedule: PodInfo, podToRemove: PodInfo, node: NodeInfo) -> Status {
        for (i, p) in preFilterExtensions.enumerated() where state.skipFilterPlugins & extensionFilterBit[i] == 0 {
            let s = p.removePod(state: state, podToSchedule: podToSchedule, podToRemove: podToRemove, node: node)
            if !s.isSuccess { return Status.error("running RemovePod on PreFilter plugin \"\(p.name)\": \(s.message)").withPlugin(p.name) }
        }
        return .success
    }

    // MARK: PostFilter

    /// Runs PostFilters until one succeeds (nominates a node) or errors.
    public func runPostFilterPlugins(state: CycleState, pod: PodInfo, context: PostFilterContext) -> (PostFilterResult?, Status) {
        var reasons: [String] = []
        var rejectorPlugin = ""
        for p in postFilter {
            let (r, s) = p.postFilter(state: state, pod: pod, context: context)
            if s.isSuccess { return (r, s.withPlugin(p.name)) }
            if s.code == .unschedulableAndUnresolvable { return (r, s.withPlugin(p.name)) }
            if !s.isRejected { return (nil, s.withPlugin(p.name)) }
            reasons.append(contentsOf: s.reasons)
            rejectorPlugin = p.name
        }
        return (nil, Status(.unschedulable, reasons, plugin: rejectorPlugin))
    }

    // MARK: PreScore / Score

    public func runPreScorePlugins(state: CycleState, pod: PodInfo, nodes: [NodeInfo]) -> Status {
        var skip: UInt64 = 0
        for (i, p) in preScore.enumerated() {
            let s = p.preScore(state: state, pod: pod, nodes: nodes)
            if s.isSkip {
                skip |= preScoreSkipBit[i]
                continue
            }
            if !s.isSuccess { return Status.error("running PreScore plugin \"\(p.name)\": \(s.message)").withPlugin(p.name) }
        }
        state.skipScorePlugins = skip
        return .success
    }

    /// Scores every node with every Score plugin not skipped; returns the weighted totals.
    public func runScorePlugins(state: CycleState, pod: PodInfo, nodes: [NodeInfo]) -> ([Int64], Status) {
        var totals = [Int64](repeating: 0, count: nodes.count)
        var scores = [Int64](repeating: 0, count: nodes.count)
        let skip = state.skipScorePlugins
        for i in 0..<score.count where skip & (1 << UInt64(i)) == 0 {
            let ws = score[i]
            let plugin = scoreRefs[i].plugin
            for j in 0..<nodes.count {
                scores[j] = plugin.score(state: state, pod: pod, node: nodes[j])
            }
            if let n = ws.normalizer {
                let s = n.normalizeScore(state: state, pod: pod, nodes: nodes, scores: &scores)
                if !s.isSuccess { return ([], Status.error("running Normalize on Score plugin \"\(n.name)\": \(s.message)").withPlugin(n.name)) }
            }
            let w = ws.weight
            for j in 0..<nodes.count {
                let v = scores[j]
                if v > maxNodeScore || v < minNodeScore {
                    return ([], Status.error("plugin \"\(plugin.name)\" returns an invalid score \(v), it should in the range of [\(minNodeScore), \(maxNodeScore)] after normalizing").withPlugin(plugin.name))
                }
                totals[j] += v * w
            }
        }
        return (totals, .success)
    }

    // MARK: Reserve / Permit / Bind

    public func runReservePluginsReserve(state: CycleState, pod: PodInfo, nodeName: String) -> Status {
        for p in reserve {
            let s = p.reserve(state: state, pod: pod, nodeName: nodeName)
            if !s.isSuccess {
                if s.isRejected { return s.withPlugin(p.name) }
                return Status.error("running Reserve plugin \"\(p.name)\": \(s.message)").withPlugin(p.name)
            }
        }
        return .success
    }

    /// Unreserve runs in reverse order.
    public func runReservePluginsUnreserve(state: CycleState, pod: PodInfo, nodeName: String) {
        for p in reserve.reversed() { p.unreserve(state: state, pod: pod, nodeName: nodeName) }
    }

    /// Success, a rejection, or `.wait` with the longest timeout asked for.
    public func runPermitPlugins(state: CycleState, pod: PodInfo, nodeName: String) -> (Status, waitingOn: [String: Duration]) {
        var waiting: [String: Duration] = [:]
        for p in permit {
            let (s, timeout) = p.permit(state: state, pod: pod, nodeName: nodeName)
            if s.code == .wait {
                waiting[p.name] = min(timeout, .seconds(15 * 60))
                continue
            }
            if !s.isSuccess {
                if s.isRejected { return (s.withPlugin(p.name), [:]) }
                return (Status.error("running Permit plugin \"\(p.name)\": \(s.message)").withPlugin(p.name), [:])
            }
        }
        if !waiting.isEmpty { return (Status(.wait, reason: "one or more plugins asked to wait and no plugin rejected pod"), waiting) }
        return (.success, [:])
    }

    public func runPreBindPlugins(state: CycleState, pod: PodInfo, nodeName: String) -> Status {
        for p in preBind {
            let s = p.preBind(state: state, pod: pod, nodeName: nodeName)
            if !s.isSuccess {
                if s.isRejected { return s.withPlugin(p.name) }
                return Status.error("running PreBind plugin \"\(p.name)\": \(s.message)").withPlugin(p.name)
            }
        }
        return .success
    }

    /// The binding of the first binder that does not skip.
    public func runBindPlugins(state: CycleState, pod: PodInfo, nodeName: String) -> (CoreV1.Binding?, Status) {
        for p in bind {
            let (b, s) = p.bind(state: state, pod: pod, nodeName: nodeName)
            if s.isSkip { continue }
            if !s.isSuccess { return (nil, Status.error("running Bind plugin \"\(p.name)\": \(s.message)").withPlugin(p.name)) }
            return (b, .success)
        }
        return (nil, Status.skip)
    }

    public func runPostBindPlugins(state: CycleState, pod: PodInfo, nodeName: String) {
        for p in postBind { p.postBind(state: state, pod: pod, nodeName: nodeName) }
    }

    // MARK: Events

    /// Plugin name -> the events it registered.
    public func eventsByPlugin() -> [String: [ClusterEventWithHint]] {
        var out: [String: [ClusterEventWithHint]] = [:]
        for p in enqueueExtensions { out[p.name] = p.eventsToRegister() }
        return out
    }
}
