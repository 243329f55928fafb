/// The node a cycle chose, with how much work it took.
public struct ScheduleResult: Sendable, Hashable {
    public var suggestedHost: String
    /// Nodes run through the filters.
    public var evaluatedNodes: Int
    /// Nodes that passed them.
    public var feasibleNodes: Int
}

/// Why a cycle chose no node.
public enum ScheduleFailure: Error, Sendable {
    /// No node fits; the text is the FailedScheduling message.
    case fit(FitError)
    /// The cluster has no nodes.
    case noNodes
    /// A plugin failed (not a rejection).
    case error(Status)

    public static let noNodesMessage = "no nodes available to schedule pods"
}

/// Kubernetes' `schedulePod`: PreFilter, Filter over enough nodes (the adaptive
/// `percentageOfNodesToScore`, starting where the last cycle stopped), PreScore and Score,
/// then the highest total with ties broken at random.
public struct SchedulingAlgorithm: Sendable {
    /// Fewer nodes than this are all filtered; more, at least this many feasible are sought.
    public static let minFeasibleNodesToFind = 100
    /// The adaptive percentage never goes below this.
    public static let minFeasibleNodesPercentageToFind: Int32 = 5

    /// The scheduler-wide `percentageOfNodesToScore` (0: adaptive).
    public var percentageOfNodesToScore: Int32
    /// Where the next cycle starts filtering, so every node gets its turn.
    public private(set) var nextStartNodeIndex = 0

    public init(percentageOfNodesToScore: Int32 = 0) {
        self.percentageOfNodesToScore = percentageOfNodesToScore
    }

    /// How many feasible nodes to find among `numAllNodes` (Kubernetes' `numFeasibleNodesToFind`):
    /// all below 100 nodes; else `percentage` of them (adaptive when 0: 50% - nodes/125, at
    /// least 5%), but never fewer than 100.
    public static func numFeasibleNodesToFind(percentage profilePercentage: Int32?, global: Int32, numAllNodes: Int) -> Int {
        if numAllNodes < minFeasibleNodesToFind { return numAllNodes }
        var percentage = profilePercentage ?? global
        if percentage == 0 {
            percentage = 50 - Int32(clamping: numAllNodes / 125)
            if percentage < minFeasibleNodesPercentageToFind { percentage = minFeasibleNodesPercentageToFind }
        }
        let n = numAllNodes * Int(percentage) / 100
        return n < minFeasibleNodesToFind ? minFeasibleNodesToFind : n
    }

    /// Runs one cycle's placement decision for `pod`.
    public mutating func schedulePod<R: RandomNumberGenerator>(
        framework: Framework, state: CycleState, pod: PodInfo, nominator: (any PodNominator)?, random: inout R
    ) -> Result<ScheduleResult, ScheduleFailure> {
        let snapshot = state.snapshot
        if snapshot.numNodes == 0 { return .failure(.noNodes) }
        if let e = pod.parseError { return .failure(.error(Status.error(e))) }
        var diagnosis = Diagnosis()
        let feasible: [NodeInfo]
        switch findNodesThatFitPod(framework: framework, state: state, pod: pod, nominator: nominator, diagnosis: &diagnosis) {
        case .success(let f): feasible = f
        case .failure(let s): return .failure(.error(s))
        }
        if feasible.isEmpty {
            return .failure(.fit(FitError(pod: pod, numAllNodes: snapshot.numNodes, diagnosis: diagnosis)))
        }
        let evaluated = feasible.count + diagnosis.nodeToStatus.count + diagnosis.rejectedNodesWithoutStatus
        if feasible.count == 1 {
            return .success(ScheduleResult(suggestedHost: feasible[0].name, evaluatedNodes: evaluated, feasibleNodes: 1))
        }
        let totals: [Int64]
        if framework.hasScorePlugins {
            let pre = framework.runPreScorePlugins(state: state, pod: pod, nodes: feasible)
            if !pre.isSuccess { return .failure(.error(pre)) }
            let (t, s) = framework.runScorePlugins(state: state, pod: pod, nodes: feasible)
            if !s.isSuccess { return .failure(.error(s)) }
            totals = t
        } else {
            totals = [Int64](repeating: 1, count: feasible.count)
        }
        let host = Self.selectHost(nodes: feasible, totals: totals, random: &random)
        return .success(ScheduleResult(suggestedHost: host, evaluatedNodes: evaluated, feasibleNodes: feasible.count))
    }

    /// The node with the highest total; among equals, each is chosen with equal probability
    /// (reservoir sampling, as Kubernetes' `selectHost`).
    public static func selectHost<R: RandomNumberGenerator>(nodes: [NodeInfo], totals: [Int64], random: inout R) -> String {
        var best = Int64.min
        var count = 0
        var selected = 0
        for i in 0..<totals.count {
            let t = totals[i]
            if t > best {
                best = t
                count = 1
                selected = i
            } else if t == best {
                count += 1
                if random.next(upperBound: UInt64(count)) == 0 { selected = i }
            }
        }
        return nodes[selected].name
    }

    mutating func findNodesThatFitPod(framework: Framework, state: CycleState, pod: PodInfo, nominator: (any PodNominator)?,
                                      diagnosis: inout Diagnosis) -> Result<[NodeInfo], Status> {
        let snapshot = state.snapshot
        let (preResult, s, pluginsWithNodes) = framework.runPreFilterPlugins(state: state, pod: pod)
        if !s.isSuccess {
            if !s.isRejected { return .failure(s) }
            diagnosis.nodeToStatus.absentNodesStatus = s
            diagnosis.preFilterMessage = s.message
            diagnosis.addPluginStatus(s)
            if !pluginsWithNodes.isEmpty { for p in pluginsWithNodes { diagnosis.unschedulablePlugins.insert(p) } }
            return .success([])
        }

        // A node nominated by an earlier preemption is likely the one that fits: try it first.
        if !pod.nominatedNodeName.isEmpty, let nominated = snapshot.get(pod.nominatedNodeName) {
            let st = framework.runFilterPluginsWithNominatedPods(state: state, pod: pod, node: nominated, nominator: nominator)
            if st.isSuccess { return .success([nominated]) }
            if st.code == .error { return .failure(st) }
        }

        var nodes = snapshot.nodeInfoList
        if let names = preResult?.nodeNames {
            nodes = names.sorted().compactMap { snapshot.get($0) }
            diagnosis.nodeToStatus.absentNodesStatus = Status(
                .unschedulableAndUnresolvable, reason: "node(s) didn't satisfy plugin(s) [\(pluginsWithNodes.sorted().joined(separator: " "))]")
            for p in pluginsWithNodes { diagnosis.unschedulablePlugins.insert(p) }
        }
        return findNodesThatPassFilters(framework: framework, state: state, pod: pod, nodes: nodes, nominator: nominator, diagnosis: &diagnosis)
    }

    mutating func findNodesThatPassFilters(framework: Framework, state: CycleState, pod: PodInfo, nodes: [NodeInfo],
                                           nominator: (any PodNominator)?, diagnosis: inout Diagnosis) -> Result<[NodeInfo], Status> {
        let numAll = nodes.count
        guard numAll > 0 else { return .success([]) }
        let toFind = Self.numFeasibleNodesToFind(percentage: framework.percentageOfNodesToScore, global: percentageOfNodesToScore,
                                                 numAllNodes: numAll)
        // Nominated pods are rare: skip their per-node lookup when there are none.
        let nominator = (nominator?.hasNominatedPods ?? false) ? nominator : nil
        let start = nextStartNodeIndex % numAll
        var feasible: [NodeInfo] = []
        feasible.reserveCapacity(toFind)
        if !framework.hasFilterPlugins {
            for i in 0..<toFind { feasible.append(nodes[(start + i) % numAll]) }
            nextStartNodeIndex = (start + toFind) % numAll
            return .success(feasible)
        }
        if nominator == nil {
            // The verdicts first, the rejected nodes' statuses only if the pod fits nowhere.
            var rejected = 0
            var probe = -1
            let (processed, failure) = Self.visit(nodes, from: start, toFind: toFind, feasible: &feasible) { node in
                switch framework.probeFilterPlugins(state: state, pod: pod, node: node, first: probe) {
                case .passed:
                    return .feasible
                case .rejected(let index):
                    probe = index
                    rejected += 1
                    return .rejected
                case .undecided:
                    let s = framework.runFilterPlugins(state: state, pod: pod, node: node)
                    if s.code == .error { return .failed(s) }
                    rejected += 1
                    return .rejected
                }
            }
            if let failure { return .failure(failure) }
            if !feasible.isEmpty || rejected == 0 {
                diagnosis.rejectedNodesWithoutStatus = rejected
                nextStartNodeIndex = (start + processed) % numAll
                return .success(feasible)
            }
        }
        var lastPlugin = ""
        let (processed, failure) = Self.visit(nodes, from: start, toFind: toFind, feasible: &feasible) { node in
            let s = framework.runFilterPluginsWithNominatedPods(state: state, pod: pod, node: node, nominator: nominator)
            if s.isSuccess { return .feasible }
            if s.code == .error { return .failed(s) }
            diagnosis.nodeToStatus.append(uniqueNode: node.name, s)
            if s.plugin != lastPlugin {
                lastPlugin = s.plugin
                diagnosis.addPluginStatus(s)
            }
            return .rejected
        }
        if let failure { return .failure(failure) }
        nextStartNodeIndex = (start + processed) % numAll
        return .success(feasible)
    }

    private enum Visit { case feasible, rejected, failed(Status) }

    /// Visits `nodes` round-robin from `start` until `toFind` are feasible or every node was
    /// seen, or a verdict failed; returns how many were seen.
    @inline(__always)
    private static func visit(_ nodes: [NodeInfo], from start: Int, toFind: Int, feasible: inout [NodeInfo],
                              _ verdict: (NodeInfo) -> Visit) -> (processed: Int, failure: Status?) {
        var processed = 0
        var i = start
        while processed < nodes.count && feasible.count < toFind {
            let node = nodes[i]
            i += 1
            if i == nodes.count { i = 0 }
            processed += 1
            switch verdict(node) {
            case .feasible: feasible.append(node)
            case .rejected: break
            case .failed(let status): return (processed, status)
            }
        }
        return (processed, nil)
    }
}
