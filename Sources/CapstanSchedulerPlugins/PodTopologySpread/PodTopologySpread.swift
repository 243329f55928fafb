import CapstanAPI
import CapstanAPIMachinery
import CapstanSchedulerFramework

/// Spreads pods over topology domains (zones, nodes, ...) by their
/// `topologySpreadConstraints` (Kubernetes' PodTopologySpread):
///
/// - `DoNotSchedule` constraints filter: placing the pod must keep
///   `matching pods in the domain + 1 - global minimum <= maxSkew`, where the minimum is
///   over eligible domains (0 while fewer than `minDomains` exist);
/// - `ScheduleAnyway` constraints score: fewer matching pods in the node's domains is better;
/// - `nodeAffinityPolicy` (default Honor) and `nodeTaintsPolicy` (default Ignore) decide which
///   nodes count;
/// - pods without constraints get the cluster defaults (hostname maxSkew 3, zone maxSkew 5,
///   ScheduleAnyway) with a selector derived from their Services and owning controller.
///
/// Counting uses the snapshot's per-node match tables and domain ids: O(nodes) array work per
/// cycle, not a scan of every pod.
public final class PodTopologySpread: PreFilterExtensions, FilterPlugin, PreScorePlugin, NormalizeScorePlugin, EnqueueExtensions {
    public static let name = "PodTopologySpread"
    public static let errReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints"
    public static let errReasonNodeLabelNotMatch = errReasonConstraintsNotMatch + " (missing required label)"
    public var name: String { Self.name }
    static let constraintsNotMatch = Status(.unschedulable, reason: errReasonConstraintsNotMatch, plugin: name)
    static let nodeLabelNotMatch = Status(.unschedulableAndUnresolvable, reason: errReasonNodeLabelNotMatch, plugin: name)

    public static let hostnameLabel = "kubernetes.io/hostname"
    public static let zoneLabel = "topology.kubernetes.io/zone"

    /// Kubernetes' system default constraints.
    public static let systemDefaultConstraints: [CoreV1.TopologySpreadConstraint] = [
        CoreV1.TopologySpreadConstraint(maxSkew: 3, topologyKey: hostnameLabel, whenUnsatisfiable: "ScheduleAnyway"),
        CoreV1.TopologySpreadConstraint(maxSkew: 5, topologyKey: zoneLabel, whenUnsatisfiable: "ScheduleAnyway"),
    ]

    /// Constraints applied to pods that declare none (their selector comes from workloads).
    public let defaultConstraints: [CoreV1.TopologySpreadConstraint]
    /// The defaults are the system ones (then nodes lacking a zone label still spread by host).
    public let systemDefaulted: Bool

    let filterKey = StateKey<FilterState>()
    let scoreKey = StateKey<ScoreState>()

    /// - Parameter defaultConstraints: nil for the system defaults; `[]` to disable defaulting.
    public init(defaultConstraints: [CoreV1.TopologySpreadConstraint]? = nil) {
        self.defaultConstraints = defaultConstraints ?? Self.systemDefaultConstraints
        systemDefaulted = defaultConstraints == nil
    }

    /// A constraint with its selector parsed and policies resolved.
    struct Constraint {
        var maxSkew: Int32
        var topologyKey: String
        var selector: LabelSelector
        var minDomains: Int32
        var honorNodeAffinity: Bool
        var honorNodeTaints: Bool

        /// Whether `node` counts for this constraint (Kubernetes' `matchNodeInclusionPolicies`).
        @inline(__always)
        func includes(_ node: NodeInfo, pod: PodInfo, affinityMatches: Bool) -> Bool {
            if honorNodeAffinity && !affinityMatches { return false }
            if honorNodeTaints && !node.taints.isEmpty
                && Taints.firstUntolerated(node.taints, pod.tolerations, where: Taints.isDoNotSchedule) != nil {
                return false
            }
            return true
        }
    }

    /// The pod's constraints for `action` (`DoNotSchedule` or `ScheduleAnyway`), or the
    /// defaults when it has none.
    func constraints(for pod: PodInfo, snapshot: Snapshot, action: String) throws(SelectorError) -> [Constraint] {
        if let own = pod.pod.spec?.topologySpreadConstraints, !own.isEmpty {
            return try Self.convert(own, pod: pod, action: action)
        }
        let defaults = defaultConstraints.filter { $0.whenUnsatisfiable == action }
        if defaults.isEmpty { return [] }
        let selector = Self.defaultSelector(pod, snapshot.workloads)
        if selector.isEmpty { return [] }
        var out = try Self.convert(defaults, pod: pod, action: action)
        for i in out.indices { out[i].selector = selector }
        return out
    }

    static func convert(_ list: [CoreV1.TopologySpreadConstraint], pod: PodInfo, action: String) throws(SelectorError) -> [Constraint] {
        var out: [Constraint] = []
        for c in list where c.whenUnsatisfiable == action {
            var selector = try LabelSelector(c.labelSelector)
            if let keys = c.matchLabelKeys, !keys.isEmpty {
                var reqs = selector.requirements
                for k in keys { if let v = pod.labels[k] { reqs.append(try LabelRequirement(key: k, operator: .in, values: [v])) } }
                if reqs.count != selector.requirements.count { selector = LabelSelector(requirements: reqs) }
            }
            out.append(Constraint(maxSkew: c.maxSkew, topologyKey: c.topologyKey, selector: selector, minDomains: c.minDomains ?? 1,
                                  honorNodeAffinity: (c.nodeAffinityPolicy ?? "Honor") == "Honor",
                                  honorNodeTaints: (c.nodeTaintsPolicy ?? "Ignore") == "Honor"))
        }
        return out
    }

    /// Kubernetes' `DefaultSelector`: the union of the selectors of the Services selecting the
    /// pod, plus its controlling ReplicationController, ReplicaSet or StatefulSet's selector.
    public static func defaultSelector(_ pod: PodInfo, _ workloads: WorkloadSelectors) -> LabelSelector {
        var labelSet: [String: String] = [:]
        for (_, sel) in workloads.services[pod.namespace] ?? [:] where !sel.isEmpty {
            if sel.allSatisfy({ pod.labels[$0.key] == $0.value }) { labelSet.merge(sel) { _, new in new } }
        }
        var selector = LabelSelector(matchLabels: labelSet)
        guard let owner = pod.pod.metadata?.ownerReferences?.first(where: { $0.controller == true }) else { return selector }
        let group = owner.apiVersion.split(separator: "/").count == 2 ? String(owner.apiVersion.split(separator: "/")[0]) : ""
        let key = pod.namespace + "/" + owner.name
        switch (group, owner.kind) {
        case ("", "ReplicationController"):
            if let rc = workloads.replicationControllers[key] {
                labelSet.merge(rc) { _, new in new }
                selector = LabelSelector(matchLabels: labelSet)
            }
        case ("apps", "ReplicaSet"):
            if let s = workloads.replicaSets[key], let other = try? LabelSelector(s) {
                selector = LabelSelector(requirements: selector.requirements + other.requirements)
            }
        case ("apps", "StatefulSet"):
            if let s = workloads.statefulSets[key], let other = try? LabelSelector(s) {
                selector = LabelSelector(requirements: selector.requirements + other.requirements)
            }
        default:
            break
        }
        return selector
    }

    /// The table counting, per node, the pods in `namespace` matching `selector` (nil when the
    /// selector is empty: Kubernetes counts nothing then).
    static func table(_ snapshot: Snapshot, namespace: String, selector: LabelSelector) -> MatchCountTable? {
        if selector.isEmpty || selector.matchesNothing { return nil }
        return snapshot.matchCounts(PodMatcher([PodSelection(namespaces: [namespace], selector: selector)], skipTerminating: true))
    }

    public func eventsToRegister() -> [ClusterEventWithHint] {
        [
            ClusterEventWithHint(ClusterEvent(.assignedPod, [.add, .delete, .updatePodLabel]), hint: { pod, objects in
                guard let changed = objects.newPod ?? objects.oldPod else { return .queue }
                if changed.namespace != pod.namespace { return .skip }
                guard let own = pod.pod.spec?.topologySpreadConstraints, !own.isEmpty else { return .queue }
                for c in own {
                    guard let sel = try? LabelSelector(c.labelSelector) else { return .queue }
                    if sel.matches(changed.labels) || (objects.oldPod.map { sel.matches($0.labels) } ?? false) { return .queue }
                }
                return .skip
            }),
            ClusterEventWithHint(ClusterEvent(.node, [.add, .delete, .updateNodeLabel, .updateNodeTaint])),
        ]
    }
}
