import CapstanAPI
import CapstanAPIMachinery
import CapstanSchedulerFramework

/// Makes room for a pod no node fits by evicting lower-priority pods (Kubernetes'
/// DefaultPreemption), as pure selection logic:
///
/// 1. the pod must be eligible (`preemptionPolicy` not Never, no victim of an earlier
///    preemption still terminating on its nominated node);
/// 2. nodes rejected as `Unschedulable` (not Unresolvable) are candidates; from a random
///    offset, enough of them are dry-run: remove every lower-priority pod, check the pod
///    fits, then reprieve victims from the most important down (PDB-violating ones first),
///    keeping only those without which it no longer fits;
/// 3. the best candidate has the fewest PDB violations, then the lowest highest-victim
///    priority, the lowest priority sum, the fewest victims, the latest start time.
///
/// The result nominates the node and lists the victims; the caller evicts them.
public final class DefaultPreemption: PostFilterPlugin {
    public static let name = "DefaultPreemption"
    public var name: String { Self.name }

    public static let notHelpful = "Preemption is not helpful for scheduling"
    public static let noVictims = "No preemption victims found for incoming pod"

    /// Dry-run at least this percentage of candidate nodes...
    public let minCandidateNodesPercentage: Int
    /// ...and at least this many.
    public let minCandidateNodesAbsolute: Int

    public init(minCandidateNodesPercentage: Int = 10, minCandidateNodesAbsolute: Int = 100) {
        self.minCandidateNodesPercentage = minCandidateNodesPercentage
        self.minCandidateNodesAbsolute = minCandidateNodesAbsolute
    }

    /// A node where preemption works, with its victims (most important first).
    public struct Candidate: Sendable {
        public var nodeName: String
        public var victims: [PodInfo]
        public var numPDBViolations: Int
    }

    public func postFilter(state: CycleState, pod: PodInfo, context: PostFilterContext) -> (PostFilterResult?, Status) {
        let snapshot = state.snapshot
        let (eligible, why) = Self.podEligibleToPreemptOthers(pod, snapshot: snapshot,
                                                               nominatedNodeStatus: context.nodeToStatus.get(pod.nominatedNodeName))
        if !eligible { return (nil, .unschedulable("preemption: " + why)) }
        let allNodes = snapshot.nodeInfoList
        if allNodes.isEmpty { return (nil, .error("no nodes available")) }

        let potential = allNodes.filter { context.nodeToStatus.get($0.name).code == .unschedulable }
        var statuses = NodeToStatus(absentNodesStatus: Status(.unschedulableAndUnresolvable, reason: Self.notHelpful))
        var candidates: [Candidate] = []
        if !potential.isEmpty {
            var random = SplitMix64(seed: context.randomSeed)
            let offset = random.next(below: potential.count)
            let pdbs = ParsedPDB.parse(snapshot.podDisruptionBudgets)
            (candidates, statuses) = dryRunPreemption(state: state, pod: pod, potential: potential, pdbs: pdbs, offset: offset,
                                                      numCandidates: numCandidates(potential.count), context: context)
        }
        if candidates.isEmpty {
            var d = Diagnosis()
            d.nodeToStatus = statuses
            let fit = FitError(pod: pod, numAllNodes: allNodes.count, diagnosis: d)
            // An empty nomination clears the pod's earlier one.
            return (PostFilterResult(nominatedNodeName: ""), .unschedulable("preemption: " + fit.message))
        }
        let best = Self.pickOneNodeForPreemption(candidates)
        let clear = (context.nominator?.nominatedPods(forNode: best.nodeName) ?? []).filter { $0.priority < pod.priority && $0.uid != pod.uid }
        return (PostFilterResult(nominatedNodeName: best.nodeName, victims: best.victims, nominationsToClear: clear), .success)
    }

    func numCandidates(_ numNodes: Int) -> Int {
        var n = numNodes * minCandidateNodesPercentage / 100
        if n < minCandidateNodesAbsolute { n = minCandidateNodesAbsolute }
        return min(n, numNodes)
    }

    /// Kubernetes' `PodEligibleToPreemptOthers`.
    public static func podEligibleToPreemptOthers(_ pod: PodInfo, snapshot: Snapshot, nominatedNodeStatus: Status) -> (Bool, String) {
        if pod.preemptionPolicy == .never { return (false, "not eligible due to preemptionPolicy=Never.") }
        if !pod.nominatedNodeName.isEmpty {
            if nominatedNodeStatus.code == .unschedulableAndUnresolvable { return (true, "") }
            if let node = snapshot.get(pod.nominatedNodeName) {
                for p in node.pods where p.priority < pod.priority && isTerminatingByPreemption(p) {
                    return (false, "not eligible due to a terminating pod on the nominated node.")
                }
            }
        }
        return (true, "")
    }

    static func isTerminatingByPreemption(_ p: PodInfo) -> Bool {
        guard p.isTerminating else { return false }
        return (p.pod.status?.conditions ?? []).contains {
            $0.type == "DisruptionTarget" && $0.status == "True" && $0.reason == "PreemptionByScheduler"
        }
    }

    func dryRunPreemption(state: CycleState, pod: PodInfo, potential: [NodeInfo], pdbs: [ParsedPDB], offset: Int, numCandidates: Int,
                          context: PostFilterContext) -> ([Candidate], NodeToStatus) {
        var nonViolating: [Candidate] = []
        var violating: [Candidate] = []
        var statuses = NodeToStatus(absentNodesStatus: Status(.unschedulableAndUnresolvable, reason: Self.notHelpful))
        for i in 0..<potential.count {
            let node = potential[(offset + i) % potential.count]
            let stateCopy = state.clone()
            let nodeCopy = node.clone()
            var (victims, violations, s) = selectVictimsOnNode(state: stateCopy, pod: pod, node: nodeCopy, pdbs: pdbs, context: context)
            if s.isSuccess && !victims.isEmpty {
                let c = Candidate(nodeName: node.name, victims: victims, numPDBViolations: violations)
                if violations == 0 { nonViolating.append(c) } else { violating.append(c) }
                if !nonViolating.isEmpty && nonViolating.count + violating.count >= numCandidates { break }
                continue
            }
            if s.isSuccess && victims.isEmpty { s = .error("expected at least one victim pod on node \"\(node.name)\"") }
            victims = []
            statuses.set(node.name, s)
        }
        return (nonViolating + violating, statuses)
    }

    /// The fewest pods to evict from `node` so `pod` fits, with how many of them violate a PDB.
    public func selectVictimsOnNode(state: CycleState, pod: PodInfo, node: NodeInfo, pdbs: [ParsedPDB],
                                    context: PostFilterContext) -> ([PodInfo], Int, Status) {
        let fw = context.framework
        var potential = node.pods.filter { $0.priority < pod.priority }
        if potential.isEmpty { return ([], 0, Status(.unschedulableAndUnresolvable, reason: Self.noVictims)) }
        for v in potential {
            node.removePod(uid: v.uid)
            let s = fw.runPreFilterExtensionRemovePod(state: state, podToSchedule: pod, podToRemove: v, node: node)
            if !s.isSuccess { return ([], 0, s) }
        }
        let fits = fw.runFilterPluginsWithNominatedPods(state: state, pod: pod, node: node, nominator: context.nominator)
        if !fits.isSuccess { return ([], 0, fits) }

        potential.sort(by: Self.moreImportant)
        let (violatingPods, nonViolatingPods) = Self.filterPodsWithPDBViolation(potential, pdbs)
        var victims: [PodInfo] = []
        var numViolating = 0
        func reprieve(_ p: PodInfo) -> Status? {
            node.addPod(p)
            let a = fw.runPreFilterExtensionAddPod(state: state, podToSchedule: pod, podToAdd: p, node: node)
            if !a.isSuccess { return a }
            let s = fw.runFilterPluginsWithNominatedPods(state: state, pod: pod, node: node, nominator: context.nominator)
            if s.isSuccess { return nil }
            node.removePod(uid: p.uid)
            let r = fw.runPreFilterExtensionRemovePod(state: state, podToSchedule: pod, podToRemove: p, node: node)
            if !r.isSuccess { return r }
            victims.append(p)
            return Status(.unschedulable)
        }
        for p in violatingPods {
            if let s = reprieve(p) {
                if s.code == .error { return ([], 0, s) }
                numViolating += 1
            }
        }
        for p in nonViolatingPods {
            if let s = reprieve(p), s.code == .error { return ([], 0, s) }
        }
        if !violatingPods.isEmpty && !nonViolatingPods.isEmpty { victims.sort(by: Self.moreImportant) }
        return (victims, numViolating, .success)
    }

    /// Higher priority first; at equal priority, the one started earlier.
    public static func moreImportant(_ a: PodInfo, _ b: PodInfo) -> Bool {
        if a.priority != b.priority { return a.priority > b.priority }
        return (a.startTime ?? Int64.max) < (b.startTime ?? Int64.max)
    }

    /// A PDB with its selector parsed.
    public struct ParsedPDB: Sendable {
        public var namespace: String
        public var selector: LabelSelector?
        public var disruptionsAllowed: Int32
        public var disruptedPods: Set<String>

        public static func parse(_ pdbs: [PolicyV1.PodDisruptionBudget]) -> [ParsedPDB] {
            pdbs.map { pdb in
                ParsedPDB(namespace: pdb.metadata?.namespace ?? "default", selector: try? LabelSelector(pdb.spec?.selector),
                          disruptionsAllowed: pdb.status?.disruptionsAllowed ?? 0,
                          disruptedPods: Set((pdb.status?.disruptedPods ?? [:]).keys))
            }
        }
    }

    /// Splits pods into those whose eviction would exceed a matching PDB's allowed
    /// disruptions (counting the pods before them) and the others.
    public static func filterPodsWithPDBViolation(_ pods: [PodInfo], _ pdbs: [ParsedPDB]) -> (violating: [PodInfo], nonViolating: [PodInfo]) {
        var allowed = pdbs.map(\.disruptionsAllowed)
        var violating: [PodInfo] = [], nonViolating: [PodInfo] = []
        for p in pods {
            var violated = false
            if !p.labels.isEmpty {
                for (i, pdb) in pdbs.enumerated() where pdb.namespace == p.namespace {
                    guard let sel = pdb.selector, !sel.isEmpty, sel.matches(p.labels) else { continue }
                    if pdb.disruptedPods.contains(p.name) { continue }
                    allowed[i] -= 1
                    if allowed[i] < 0 { violated = true }
                }
            }
            if violated { violating.append(p) } else { nonViolating.append(p) }
        }
        return (violating, nonViolating)
    }

    /// Kubernetes' `pickOneNodeForPreemption`: successive tie-breaks, then the first.
    public static func pickOneNodeForPreemption(_ candidates: [Candidate]) -> Candidate {
        let scoreFuncs: [(Candidate) -> Int64] = [
            { -Int64($0.numPDBViolations) },
            { -Int64($0.victims.first?.priority ?? 0) },
            { c in -c.victims.reduce(Int64(0)) { $0 + Int64($1.priority) + Int64(Int32.max) + 1 } },
            { -Int64($0.victims.count) },
            { earliestStartTime($0.victims) },
        ]
        var all = candidates
        for f in scoreFuncs {
            var best = Int64.min
            var selected: [Candidate] = []
            for c in all {
                let s = f(c)
                if s > best {
                    best = s
                    selected = [c]
                } else if s == best {
                    selected.append(c)
                }
            }
            if selected.count == 1 { return selected[0] }
            all = selected
        }
        return all[0]
    }

    /// The earliest start among the highest-priority victims (Kubernetes' `GetEarliestPodStartTime`).
    static func earliestStartTime(_ victims: [PodInfo]) -> Int64 {
        guard let first = victims.first else { return Int64.min }
        var earliest = first.startTime ?? Int64.max
        var maxPriority = first.priority
        for p in victims {
            if p.priority == maxPriority {
                earliest = min(earliest, p.startTime ?? Int64.max)
            } else if p.priority > maxPriority {
                maxPriority = p.priority
                earliest = p.startTime ?? Int64.max
            }
        }
        return earliest
    }
}
