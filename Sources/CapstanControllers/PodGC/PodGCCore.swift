import CapstanAPI

/// The pure part of the pod garbage collector: which pods to delete.
///
/// As Kubernetes: terminated pods (Succeeded/Failed) above a threshold, oldest first; pods
/// bound to a node that no longer exists; pods being deleted that were never scheduled.
public enum PodGCCore {
    /// kube-controller-manager's `--terminated-pod-gc-threshold`.
    public static let defaultTerminatedThreshold = 12_500

    public struct Plan: Sendable, Hashable {
        /// Terminated pods over the threshold, oldest first.
        public var terminated: [CoreV1.Pod] = []
        /// Pods bound to nodes that are gone.
        public var orphaned: [CoreV1.Pod] = []
        /// Unscheduled pods with a deletionTimestamp.
        public var unscheduledTerminating: [CoreV1.Pod] = []
        public var isEmpty: Bool { terminated.isEmpty && orphaned.isEmpty && unscheduledTerminating.isEmpty }
    }

    /// - Parameter nodeExists: whether a node of that name exists.
    public static func plan(pods: [CoreV1.Pod], nodeExists: (String) -> Bool, terminatedThreshold: Int) -> Plan {
        var plan = Plan()
        var terminated: [CoreV1.Pod] = []
        for pod in pods {
            let node = pod.spec?.nodeName ?? ""
            if PodStatusFacts.isTerminal(pod) {
                terminated.append(pod)
                if !node.isEmpty && !nodeExists(node) { plan.orphaned.append(pod) }
            } else if node.isEmpty {
                if pod.metadata?.deletionTimestamp != nil { plan.unscheduledTerminating.append(pod) }
            } else if !nodeExists(node) {
                plan.orphaned.append(pod)
            }
        }
        if terminatedThreshold > 0 && terminated.count > terminatedThreshold {
            let orphanedUIDs = Set(plan.orphaned.compactMap { $0.metadata?.uid })
            let oldestFirst = terminated.sorted {
                ($0.metadata?.creationTimestamp?.secondsSinceEpoch ?? 0, $0.metadata?.name ?? "")
                    < ($1.metadata?.creationTimestamp?.secondsSinceEpoch ?? 0, $1.metadata?.name ?? "")
            }
            plan.terminated = oldestFirst.prefix(terminated.count - terminatedThreshold).filter { !orphanedUIDs.contains($0.metadata?.uid ?? "") }
        }
        return plan
    }
}
