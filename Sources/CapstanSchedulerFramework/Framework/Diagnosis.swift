/// The filter verdict for each node a cycle rejected, plus one status for the nodes not
/// listed (Kubernetes' `NodeToStatus` with its "absent nodes" status).
public struct NodeToStatus: Sendable {
    public private(set) var entries: [(node: String, status: Status)] = []
    private var index: [String: Int]?
    /// The status of every node without an entry (nodes PreFilter excluded).
    public var absentNodesStatus: Status

    public init(absentNodesStatus: Status = Status(.unschedulableAndUnresolvable)) {
        self.absentNodesStatus = absentNodesStatus
    }

    public var count: Int { entries.count }

    /// Records the status of a node (replacing an earlier one).
    public mutating func set(_ node: String, _ status: Status) {
        if index == nil, entries.count >= 16 { buildIndex() }
        if index != nil {
            if let i = index![node] {
                entries[i].status = status
            } else {
                index![node] = entries.count
                entries.append((node, status))
            }
        } else if let i = entries.firstIndex(where: { $0.node == node }) {
            entries[i].status = status
        } else {
            entries.append((node, status))
        }
    }

    /// Records the status of a node known to have none yet (the filter loop).
    mutating func append(uniqueNode node: String, _ status: Status) {
        if index != nil { index![node] = entries.count }
        entries.append((node, status))
    }

    /// Makes `get` constant-time.
    public mutating func buildIndex() {
        var ix: [String: Int] = [:]
        ix.reserveCapacity(entries.count)
        for (i, e) in entries.enumerated() { ix[e.node] = i }
        index = ix
    }

    /// The node's status: its entry, or the absent-nodes status.
    public func get(_ node: String) -> Status {
        if let index {
            if let i = index[node] { return entries[i].status }
            return absentNodesStatus
        }
        for e in entries where e.node == node { return e.status }
        return absentNodesStatus
    }

    /// Counts of each reason over `numAllNodes` nodes, as the FitError message tallies them.
    public func reasonHistogram(numAllNodes: Int) -> [String: Int] {
        var reasons: [String: Int] = [:]
        for e in entries {
            for r in e.status.reasons { reasons[r, default: 0] += 1 }
        }
        if entries.count < numAllNodes {
            for r in absentNodesStatus.reasons { reasons[r, default: 0] += numAllNodes - entries.count }
        }
        return reasons
    }
}

/// Why a pod did not fit (Kubernetes' `framework.Diagnosis`).
public struct Diagnosis: Sendable {
    public var nodeToStatus = NodeToStatus()
    /// Plugins that rejected the pod on some node; events for these requeue it.
    public var unschedulablePlugins: Set<String> = []
    /// Plugins that left the pod pending.
    public var pendingPlugins: Set<String> = []
    /// Set when a PreFilter rejected the pod: its message replaces the per-node tally.
    public var preFilterMessage = ""
    /// The PostFilter's (preemption's) message.
    public var postFilterMessage = ""
    /// Nodes found infeasible in a cycle that found feasible ones too, whose statuses nobody
    /// reads and which were therefore not determined (see `Framework.probeFilterPlugins`).
    public var rejectedNodesWithoutStatus = 0

    public init() {}

    mutating func addPluginStatus(_ s: Status) {
        guard !s.plugin.isEmpty else { return }
        if s.code == .unschedulable || s.code == .unschedulableAndUnresolvable {
            unschedulablePlugins.insert(s.plugin)
        } else if s.code == .pending {
            pendingPlugins.insert(s.plugin)
        }
    }
}

/// No node fits the pod; its text is the FailedScheduling message users see:
/// `0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu. preemption: ...`
public struct FitError: Error, Sendable, CustomStringConvertible {
    public var pod: PodInfo
    public var numAllNodes: Int
    public var diagnosis: Diagnosis

    public init(pod: PodInfo, numAllNodes: Int, diagnosis: Diagnosis) {
        self.pod = pod
        self.numAllNodes = numAllNodes
        self.diagnosis = diagnosis
    }

    public var message: String {
        var msg = "0/\(numAllNodes) nodes are available:"
        if !diagnosis.preFilterMessage.isEmpty {
            msg += " \(diagnosis.preFilterMessage)."
        } else {
            let histogram = diagnosis.nodeToStatus.reasonHistogram(numAllNodes: numAllNodes)
            let parts = histogram.map { "\($0.value) \($0.key)" }.sorted(by: Self.goLess)
            if !parts.isEmpty { msg += " " + parts.joined(separator: ", ") + "." }
        }
        if !diagnosis.postFilterMessage.isEmpty {
            msg += " \(diagnosis.postFilterMessage)."
        }
        return msg
    }

    public var description: String { message }

    /// Go's `sort.Strings` order (bytewise).
    static func goLess(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
