import CapstanAPI
import Foundation

/// The pure part of the DaemonSet controller: which nodes should run the daemon pod
/// (nodeSelector, required node affinity, NoSchedule/NoExecute taints against the pod's
/// tolerations plus the daemon tolerations Kubernetes adds), the pods to create and delete
/// (rolling update with maxUnavailable/maxSurge, or OnDelete) and the status numbers.
///
/// Pods are created for a node through required node affinity on `metadata.name` (the
/// scheduler binds them), labelled `controller-revision-hash` with the hash of the current
/// ControllerRevision.
public enum DaemonSetCore {
    public static let revisionHashLabel = "controller-revision-hash"

    public struct Plan: Sendable, Hashable {
        /// Nodes to create a daemon pod for.
        public var create: [String] = []
        /// Names of pods to delete.
        public var delete: [String] = []
        public var status: AppsV1.DaemonSetStatus
    }

    /// The revision hash of the pod template with no collisions: the `controller-revision-hash`
    /// of its ControllerRevision (``ControllerHistoryCore``).
    public static func templateHash(_ template: CoreV1.PodTemplateSpec) -> String {
        ControllerHistoryCore.hash(ControllerHistoryCore.patch(template: template), collisionCount: nil)
    }

    /// The tolerations every daemon pod gets, so it runs on nodes that are not ready,
    /// unreachable, under pressure or cordoned.
    public static func daemonTolerations(hostNetwork: Bool) -> [CoreV1.Toleration] {
        var t = [
            CoreV1.Toleration(effect: "NoExecute", key: "node.kubernetes.io/not-ready", operator: "Exists"),
            CoreV1.Toleration(effect: "NoExecute", key: "node.kubernetes.io/unreachable", operator: "Exists"),
            CoreV1.Toleration(effect: "NoSchedule", key: "node.kubernetes.io/disk-pressure", operator: "Exists"),
            CoreV1.Toleration(effect: "NoSchedule", key: "node.kubernetes.io/memory-pressure", operator: "Exists"),
            CoreV1.Toleration(effect: "NoSchedule", key: "node.kubernetes.io/pid-pressure", operator: "Exists"),
            CoreV1.Toleration(effect: "NoSchedule", key: "node.kubernetes.io/unschedulable", operator: "Exists"),
        ]
        if hostNetwork { t.append(CoreV1.Toleration(effect: "NoSchedule", key: "node.kubernetes.io/network-unavailable", operator: "Exists")) }
        return t
    }

    static func tolerations(_ spec: CoreV1.PodSpec?) -> [CoreV1.Toleration] {
        var t = spec?.tolerations ?? []
        for extra in daemonTolerations(hostNetwork: spec?.hostNetwork ?? false)
        where !t.contains(where: { $0.key == extra.key && $0.effect == extra.effect }) {
            t.append(extra)
        }
        return t
    }

    /// Whether a node selector requirement holds for `value` (In, NotIn, Exists, DoesNotExist, Gt, Lt).
    static func requirementHolds(_ r: CoreV1.NodeSelectorRequirement, _ value: String?) -> Bool {
        let values = r.values ?? []
        switch r.operator {
        case "In": return value.map(values.contains) ?? false
        case "NotIn": return value.map { !values.contains($0) } ?? true
        case "Exists": return value != nil
        case "DoesNotExist": return value == nil
        case "Gt", "Lt":
            guard let v = value.flatMap({ Int64($0) }), let bound = values.first.flatMap({ Int64($0) }) else { return false }
            return r.operator == "Gt" ? v > bound : v < bound
        default: return false
        }
    }

    /// Whether the daemon's pod template lets it run on `node`.
    public static func shouldRun(_ template: CoreV1.PodTemplateSpec, on node: CoreV1.Node) -> Bool {
        let labels = node.metadata?.labels ?? [:]
        let spec = template.spec
        if let selector = spec?.nodeSelector, !selector.allSatisfy({ labels[$0.key] == $0.value }) { return false }
        if let terms = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms {
            let matches = terms.contains { term in
                let exprs = term.matchExpressions ?? [], fields = term.matchFields ?? []
                guard !exprs.isEmpty || !fields.isEmpty else { return false }
                return exprs.allSatisfy { requirementHolds($0, labels[$0.key]) }
                    && fields.allSatisfy { requirementHolds($0, $0.key == "metadata.name" ? node.metadata?.name : nil) }
            }
            if !matches { return false }
        }
        let tolerations = tolerations(spec)
        for taint in node.spec?.taints ?? [] where taint.effect == "NoSchedule" || taint.effect == "NoExecute" {
            if !tolerations.contains(where: { NodeLifecycleCore.tolerates($0, taint) }) { return false }
        }
        return true
    }

    /// The node a daemon pod is for: its nodeName, else the node its affinity names.
    public static func targetNode(_ pod: CoreV1.Pod) -> String? {
        if let node = pod.spec?.nodeName, !node.isEmpty { return node }
        for term in pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [] {
            if let f = term.matchFields?.first(where: { $0.key == "metadata.name" && $0.operator == "In" }), let v = f.values?.first {
                return v
            }
        }
        return nil
    }

    /// The daemon pod for `node` (with `generateName`): the template, the revision label,
    /// required affinity to the node (replacing any `metadata.name` field term) and the daemon tolerations.
    public static func makePod(_ ds: AppsV1.DaemonSet, node: String, hash: String) -> CoreV1.Pod {
        let template = ds.spec?.template
        var meta = template?.metadata ?? MetaV1.ObjectMeta()
        meta.name = nil
        meta.generateName = (ds.metadata?.name ?? "") + "-"
        meta.namespace = ds.metadata?.namespace
        meta.labels = (meta.labels ?? [:]).merging([revisionHashLabel: hash]) { _, new in new }
        meta.ownerReferences = [MetaV1.OwnerReference(apiVersion: "apps/v1", kind: "DaemonSet", blockOwnerDeletion: true, controller: true,
                                                      name: ds.metadata?.name ?? "", uid: ds.metadata?.uid ?? "")]
        var spec = template?.spec ?? CoreV1.PodSpec(containers: [])
        let nodeTerm = CoreV1.NodeSelectorRequirement(key: "metadata.name", operator: "In", values: [node])
        var affinity = spec.affinity ?? CoreV1.Affinity()
        var nodeAffinity = affinity.nodeAffinity ?? CoreV1.NodeAffinity()
        var terms = nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []
        if terms.isEmpty { terms = [CoreV1.NodeSelectorTerm()] }
        for i in terms.indices {
            terms[i].matchFields = (terms[i].matchFields ?? []).filter { $0.key != "metadata.name" } + [nodeTerm]
        }
        nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = CoreV1.NodeSelector(nodeSelectorTerms: terms)
        affinity.nodeAffinity = nodeAffinity
        spec.affinity = affinity
        spec.tolerations = tolerations(spec)
        return CoreV1.Pod(metadata: meta, spec: spec)
    }

    /// The plan for `ds`; pods labelled `hash` (the current revision's, by default the
    /// template's) are up to date.
    public static func reconcile(_ ds: AppsV1.DaemonSet, nodes: [CoreV1.Node], pods: [CoreV1.Pod], now: Int64, hash: String? = nil) -> Plan {
        let hash = hash ?? ds.spec.map { templateHash($0.template) } ?? ""
        let minReady = Int64(ds.spec?.minReadySeconds ?? 0)
        var plan = Plan(status: AppsV1.DaemonSetStatus(currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0))
        var byNode: [String: [CoreV1.Pod]] = [:]
        for pod in pods where !PodStatusFacts.isTerminating(pod) {
            if pod.status?.phase == "Failed" {
                // Failed daemon pods are replaced.
                plan.delete.append(pod.metadata?.name ?? "")
                continue
            }
            guard let node = targetNode(pod) else { continue }
            byNode[node, default: []].append(pod)
        }
        let strategy = ds.spec?.updateStrategy
        let onDelete = strategy?.type == "OnDelete"
        var desired = 0, scheduled = 0, misscheduled = 0, ready = 0, available = 0, updated = 0
        var oldOnNodes: [(node: String, pod: CoreV1.Pod, available: Bool)] = []
        var nodesWithSurge = 0
        let known = Set(nodes.compactMap { $0.metadata?.name })
        for node in nodes {
            let name = node.metadata?.name ?? ""
            let daemonPods = (byNode[name] ?? []).sorted {
                ($0.metadata?.creationTimestamp?.secondsSinceEpoch ?? 0, $0.metadata?.name ?? "")
                    < ($1.metadata?.creationTimestamp?.secondsSinceEpoch ?? 0, $1.metadata?.name ?? "")
            }
            guard shouldRun(ds.spec?.template ?? CoreV1.PodTemplateSpec(), on: node) else {
                if !daemonPods.filter({ !($0.spec?.nodeName ?? "").isEmpty }).isEmpty { misscheduled += 1 }
                plan.delete += daemonPods.compactMap { $0.metadata?.name }
                continue
            }
            desired += 1
            let current = daemonPods.filter { $0.metadata?.labels?[revisionHashLabel] == hash }
            let old = daemonPods.filter { $0.metadata?.labels?[revisionHashLabel] != hash }
            if daemonPods.isEmpty {
                plan.create.append(name)
                continue
            }
            if !(daemonPods.first?.spec?.nodeName ?? "").isEmpty { scheduled += 1 }
            // One pod per node: the oldest of each revision stays.
            plan.delete += current.dropFirst().compactMap { $0.metadata?.name }
            let newPod = current.first
            let newAvailable = newPod.map { PodStatusFacts.isAvailable($0, minReadySeconds: minReady, now: now) } ?? false
            if let oldPod = old.first {
                plan.delete += old.dropFirst().compactMap { $0.metadata?.name }
                if newPod != nil {
                    // A surged replacement takes over once available; until then it uses the surge.
                    if newAvailable { plan.delete.append(oldPod.metadata?.name ?? "") } else { nodesWithSurge += 1 }
                } else {
                    oldOnNodes.append((name, oldPod, PodStatusFacts.isAvailable(oldPod, minReadySeconds: minReady, now: now)))
                }
            }
            let serving = newPod ?? old.first
            if let serving, PodStatusFacts.isReady(serving) { ready += 1 }
            if let serving, PodStatusFacts.isAvailable(serving, minReadySeconds: minReady, now: now) { available += 1 }
            if newPod != nil { updated += 1 }
        }
        // Pods of nodes that are gone.
        for (node, daemonPods) in byNode where !known.contains(node) {
            plan.delete += daemonPods.compactMap { $0.metadata?.name }
        }

        // Rolling update of the nodes still on an old revision.
        if !onDelete && !oldOnNodes.isEmpty {
            let maxSurge = strategy?.rollingUpdate?.maxSurge?.scaledValue(total: desired, roundUp: true) ?? 0
            let maxUnavailable = maxSurge > 0 ? 0 : max(1, strategy?.rollingUpdate?.maxUnavailable?.scaledValue(total: desired, roundUp: true) ?? 1)
            if maxSurge > 0 {
                for entry in oldOnNodes.prefix(max(0, maxSurge - nodesWithSurge)) { plan.create.append(entry.node) }
            } else {
                var budget = maxUnavailable - (desired - available)
                // Unavailable old pods go first: replacing them costs nothing.
                for entry in oldOnNodes where !entry.available { plan.delete.append(entry.pod.metadata?.name ?? "") }
                for entry in oldOnNodes where entry.available && budget > 0 {
                    plan.delete.append(entry.pod.metadata?.name ?? "")
                    budget -= 1
                }
            }
        }
        plan.status = AppsV1.DaemonSetStatus(
            currentNumberScheduled: Int32(scheduled), desiredNumberScheduled: Int32(desired), numberAvailable: Int32(available),
            numberMisscheduled: Int32(misscheduled), numberReady: Int32(ready), numberUnavailable: Int32(max(0, desired - available)),
            observedGeneration: ds.metadata?.generation, updatedNumberScheduled: Int32(updated))
        plan.status.conditions = ds.status?.conditions
        plan.status.collisionCount = ds.status?.collisionCount
        var seen = Set<String>()
        plan.delete = plan.delete.filter { !$0.isEmpty && seen.insert($0).inserted }
        return plan
    }
}
