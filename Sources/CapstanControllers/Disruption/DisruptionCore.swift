import CapstanAPI
import CapstanAPIMachinery

/// The pure part of the disruption controller: a PodDisruptionBudget's status from the pods
/// it selects and the scale of their controllers, as Kubernetes computes it.
///
/// `minAvailable` as a number needs no controllers (expectedPods is the number of pods);
/// a percentage, or `maxUnavailable`, counts against the replicas of the pods' controllers.
/// Pods evicted recently (`status.disruptedPods`, kept for ``disruptionTimeout``) do not
/// count as healthy while they are still around.
public enum DisruptionCore {
    /// How long an eviction recorded in `disruptedPods` is remembered without the pod going.
    public static let disruptionTimeout: Int64 = 120

    public struct Result: Sendable, Hashable {
        public var status: PolicyV1.PodDisruptionBudgetStatus
        /// When an entry of `disruptedPods` expires and the budget should be looked at again.
        public var recheckAt: Int64?
    }

    /// - Parameters:
    ///   - pods: the pods of the budget's namespace its selector matches.
    ///   - scale: the replicas of a pod's controller, by the controller's UID (nil: not a scalable controller).
    public static func status(budget: PolicyV1.PodDisruptionBudget, pods: [CoreV1.Pod], scale: (MetaV1.OwnerReference) -> Int?,
                              now: Int64) -> Result {
        let spec = budget.spec
        let old = budget.status
        var expected = pods.count
        var desired = 0
        var failure: String?
        if case .int(let n)? = spec?.minAvailable {
            desired = Int(n)
        } else {
            // Percentages and maxUnavailable count against the controllers' replicas.
            var controllers: [String: Int] = [:]
            for pod in pods {
                guard let ref = PodStatusFacts.controllerRef(pod.metadata) else {
                    failure = "found no controllers for pod \"\(pod.metadata?.name ?? "")\""
                    continue
                }
                if let replicas = scale(ref) { controllers[ref.uid] = replicas } else {
                    failure = "found no controller with a scale for pod \"\(pod.metadata?.name ?? "")\""
                }
            }
            if failure == nil { expected = controllers.values.reduce(0, +) }
            if let minAvailable = spec?.minAvailable {
                desired = minAvailable.scaledValue(total: expected, roundUp: true) ?? expected
            } else if let maxUnavailable = spec?.maxUnavailable {
                desired = max(0, expected - (maxUnavailable.scaledValue(total: expected, roundUp: true) ?? 0))
            }
        }

        // Evictions not yet reflected: remembered until the pod goes or the timeout passes.
        var disrupted: [String: MetaV1.Time] = [:]
        var recheckAt: Int64?
        let byName = Dictionary(pods.map { ($0.metadata?.name ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        for (name, at) in old?.disruptedPods ?? [:] {
            guard let pod = byName[name], pod.metadata?.deletionTimestamp == nil else { continue }
            let expiry = at.secondsSinceEpoch + disruptionTimeout
            guard expiry > now else { continue }
            disrupted[name] = at
            recheckAt = min(recheckAt ?? expiry, expiry)
        }
        let healthy = pods.filter {
            PodStatusFacts.isReady($0) && $0.metadata?.deletionTimestamp == nil && disrupted[$0.metadata?.name ?? ""] == nil
        }.count
        let allowed = failure == nil ? max(0, healthy - desired) : 0

        let conditionStatus = allowed > 0 ? "True" : "False"
        let reason = failure != nil ? "SyncFailed" : (allowed > 0 ? "SufficientPods" : "InsufficientPods")
        let previous = old?.conditions?.first { $0.type == "DisruptionAllowed" }
        let transition = previous.flatMap { $0.status == conditionStatus ? $0.lastTransitionTime : nil } ?? MetaV1.Time(secondsSinceEpoch: now)
        let condition = MetaV1.Condition(lastTransitionTime: transition, message: failure ?? "", observedGeneration: budget.metadata?.generation,
                                         reason: reason, status: conditionStatus, type: "DisruptionAllowed")
        var conditions = (old?.conditions ?? []).filter { $0.type != "DisruptionAllowed" }
        conditions.append(condition)
        let status = PolicyV1.PodDisruptionBudgetStatus(
            conditions: conditions, currentHealthy: Int32(clamping: healthy), desiredHealthy: Int32(clamping: desired),
            disruptedPods: disrupted.isEmpty ? nil : disrupted, disruptionsAllowed: Int32(clamping: allowed),
            expectedPods: Int32(clamping: expected), observedGeneration: budget.metadata?.generation)
        return Result(status: status, recheckAt: recheckAt)
    }

    /// Whether the budget selects the pod: a nil selector selects nothing, an empty one every pod.
    public static func selects(_ budget: PolicyV1.PodDisruptionBudget, _ pod: CoreV1.Pod) -> Bool {
        guard budget.metadata?.namespace == pod.metadata?.namespace,
              let selector = try? LabelSelector(budget.spec?.selector) else { return false }
        return !selector.matchesNothing && selector.matches(pod.metadata?.labels ?? [:])
    }
}
