import CapstanAPI

/// The pure part of the node lifecycle controller: node health from heartbeats (Lease renewals
/// and status reports as this controller observed them, by its own clock), the
/// `node.kubernetes.io/not-ready` / `unreachable` taints that follow the Ready condition, and
/// when a pod on a NoExecute-tainted node must go (its tolerations and tolerationSeconds).
public enum NodeLifecycleCore {
    public static let unreachableTaint = "node.kubernetes.io/unreachable"
    public static let notReadyTaint = "node.kubernetes.io/not-ready"
    /// The conditions a silent node's status reports become Unknown for.
    public static let monitoredConditions = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"]

    /// The conditions a node should have when its kubelet has been silent for `silentFor`
    /// seconds; nil when nothing changes. `now` stamps the transitions.
    public static func conditionsAfterSilence(node: CoreV1.Node, silentFor: Int64, gracePeriod: Int64,
                                              now: MetaV1.Time) -> [CoreV1.NodeCondition]? {
        guard silentFor > gracePeriod else { return nil }
        var conditions = node.status?.conditions ?? []
        var changed = false
        let created = node.metadata?.creationTimestamp ?? now
        for type in monitoredConditions {
            if let i = conditions.firstIndex(where: { $0.type == type }) {
                guard conditions[i].status != "Unknown" else { continue }
                conditions[i].status = "Unknown"
                conditions[i].reason = "NodeStatusUnknown"
                conditions[i].message = "Kubelet stopped posting node status."
                conditions[i].lastTransitionTime = now
            } else {
                conditions.append(CoreV1.NodeCondition(lastHeartbeatTime: created, lastTransitionTime: now,
                                                       message: "Kubelet never posted node status.", reason: "NodeStatusNeverUpdated",
                                                       status: "Unknown", type: type))
            }
            changed = true
        }
        return changed ? conditions : nil
    }

    /// The node's taints with the not-ready/unreachable taints (NoSchedule and NoExecute) its
    /// Ready condition calls for: `not-ready` for False, `unreachable` for Unknown, none for True.
    /// Taints already present keep their timeAdded; nil when nothing changes.
    public static func taintsForReadiness(node: CoreV1.Node, now: MetaV1.Time) -> [CoreV1.Taint]? {
        let current = node.spec?.taints ?? []
        let ready = node.status?.conditions?.first { $0.type == "Ready" }?.status
        let wantedKey: String? = switch ready {
        case "False"?: notReadyTaint
        case "Unknown"?: unreachableTaint
        default: nil
        }
        var taints = current.filter { t in
            guard t.key == notReadyTaint || t.key == unreachableTaint else { return true }
            return t.key == wantedKey && (t.effect == "NoExecute" || t.effect == "NoSchedule")
        }
        if let wantedKey {
            for effect in ["NoSchedule", "NoExecute"] where !taints.contains(where: { $0.key == wantedKey && $0.effect == effect }) {
                taints.append(CoreV1.Taint(effect: effect, key: wantedKey, timeAdded: effect == "NoExecute" ? now : nil))
            }
        }
        return taints == current ? nil : taints
    }

    /// Whether `toleration` tolerates `taint` (Kubernetes' matching: an empty key with Exists
    /// tolerates everything, an empty effect every effect; Equal compares values).
    public static func tolerates(_ toleration: CoreV1.Toleration, _ taint: CoreV1.Taint) -> Bool {
        if let effect = toleration.effect, !effect.isEmpty, effect != taint.effect { return false }
        let op = toleration.operator ?? "Equal"
        if (toleration.key ?? "").isEmpty { return op == "Exists" }
        guard toleration.key == taint.key else { return false }
        switch op {
        case "Exists": return true
        case "Equal", "": return (toleration.value ?? "") == (taint.value ?? "")
        default: return false
        }
    }

    /// What happens to a pod on a node with these taints.
    public enum Eviction: Sendable, Equatable {
        case never
        /// Delete at this time (seconds since the epoch); now or earlier means at once.
        case at(Int64)
    }

    /// When the pod must leave a node with `taints`: at once when a NoExecute taint is not
    /// tolerated, else when the shortest tolerationSeconds of the tolerations used runs out
    /// (counted from each taint's timeAdded, or `now`; the shortest limit of the matching
    /// tolerations counts); never when no matching toleration has a limit.
    public static func eviction(of pod: CoreV1.Pod, taints: [CoreV1.Taint], now: Int64) -> Eviction {
        let tolerations = pod.spec?.tolerations ?? []
        var earliest: Int64?
        for taint in taints where taint.effect == "NoExecute" {
            let matching = tolerations.filter { tolerates($0, taint) }
            if matching.isEmpty { return .at(now) }
            // The shortest limit wins; the taint is tolerated forever only when no toleration has one.
            guard let limit = matching.compactMap(\.tolerationSeconds).min() else { continue }
            let start = taint.timeAdded?.secondsSinceEpoch ?? now
            let deadline = start + max(0, limit)
            earliest = min(earliest ?? deadline, deadline)
        }
        return earliest.map(Eviction.at) ?? .never
    }
}
