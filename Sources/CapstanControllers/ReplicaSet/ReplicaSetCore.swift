import CapstanAPI
import CapstanAPIMachinery
import CapstanControllerRuntime
import Foundation

/// The decisions of the ReplicaSet controller, without IO.
public enum ReplicaSetCore {
    /// At most this many pods are created or deleted per sync (kube-controller-manager's burstReplicas).
    public static let burstReplicas = 500

    /// What to do about the pod count.
    public enum ScaleAction: Equatable, Sendable {
        case none
        case create(Int)
        /// Delete these pods (names), least valuable first.
        case delete([String])
    }

    /// Creates or deletes to reach `replicas` from the active claimed `pods`.
    public static func scale(replicas: Int, pods: [CoreV1.Pod], relatedPods: [CoreV1.Pod]) -> ScaleAction {
        let diff = pods.count - replicas
        if diff < 0 { return .create(min(-diff, burstReplicas)) }
        if diff > 0 {
            return .delete(PodDeletionRanking.podsToDelete(pods, count: min(diff, burstReplicas), relatedPods: relatedPods).map(\.name))
        }
        return .none
    }

    /// The status the ReplicaSet should report. `failure` is the reason and message of a failed
    /// create or delete in this sync (the `ReplicaFailure` condition), nil when there was none.
    public static func status(of rs: AppsV1.ReplicaSet, pods: [CoreV1.Pod], now: Date,
                              failure: (reason: String, message: String)?) -> AppsV1.ReplicaSetStatus {
        let templateLabels = rs.spec?.template?.metadata?.labels ?? [:]
        let minReady = rs.spec?.minReadySeconds ?? 0
        var fullyLabeled: Int32 = 0, ready: Int32 = 0, available: Int32 = 0
        for pod in pods {
            let labels = pod.objectMeta.labels ?? [:]
            if templateLabels.allSatisfy({ labels[$0.key] == $0.value }) { fullyLabeled += 1 }
            if pod.isReady {
                ready += 1
                if pod.isAvailable(minReadySeconds: minReady, now: now) { available += 1 }
            }
        }
        var status = rs.status ?? AppsV1.ReplicaSetStatus(replicas: 0)
        status.replicas = Int32(pods.count)
        status.fullyLabeledReplicas = fullyLabeled
        status.readyReplicas = ready
        status.availableReplicas = available
        status.observedGeneration = rs.objectMeta.generation
        var conditions = (status.conditions ?? []).filter { $0.type != "ReplicaFailure" }
        if let failure {
            let existing = status.conditions?.first(where: { $0.type == "ReplicaFailure" })
            conditions.append(AppsV1.ReplicaSetCondition(
                lastTransitionTime: existing?.status == "True" ? existing?.lastTransitionTime : MetaV1.Time(now),
                message: failure.message, reason: failure.reason, status: "True", type: "ReplicaFailure"))
        }
        status.conditions = conditions.isEmpty ? nil : conditions
        return status
    }

    /// The earliest time a ready but not yet available pod becomes available, to sync again then.
    public static func nextAvailability(pods: [CoreV1.Pod], minReadySeconds: Int32, now: Date) -> TimeInterval? {
        guard minReadySeconds > 0 else { return nil }
        return pods.compactMap { pod -> TimeInterval? in
            guard pod.isReady, !pod.isAvailable(minReadySeconds: minReadySeconds, now: now),
                  let since = pod.readyCondition?.lastTransitionTime else { return nil }
            return since.date.addingTimeInterval(TimeInterval(minReadySeconds)).timeIntervalSince(now)
        }.min().map { max(0, $0) }
    }

    /// What to do about ownership of a pod in the ReplicaSet's namespace.
    public enum Claim: Equatable, Sendable {
        /// Owned and matching: counts toward replicas.
        case owned
        /// Not controlled by anyone and matching: adopt, then count.
        case adopt
        /// Owned but no longer matching: remove the owner reference.
        case release
        /// Not ours.
        case ignore
    }

    public static func claim(_ pod: CoreV1.Pod, ownerUID: String, selector: LabelSelector, ownerDeleting: Bool) -> Claim {
        let matches = selector.matches(pod.objectMeta.labels ?? [:])
        if let ref = pod.objectMeta.controllerRef {
            guard ref.uid == ownerUID else { return .ignore }
            if matches { return .owned }
            return ownerDeleting ? .ignore : .release
        }
        if matches && !ownerDeleting && !pod.isTerminating && pod.isActive { return .adopt }
        return .ignore
    }
}
