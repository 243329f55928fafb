import CapstanAPI
import CapstanControllerRuntime
import Foundation

/// Which pods a ReplicaSet deletes first when it has too many, as Kubernetes ranks them: the
/// least valuable first.
///
/// 1. not scheduled before scheduled; 2. Pending before Unknown before Running;
/// 3. not ready before ready; 4. lower `controller.kubernetes.io/pod-deletion-cost` first;
/// 5. more related pods on the same node first (spreads what is left);
/// 6. ready for a shorter time first; 7. more container restarts first; 8. newer first.
public enum PodDeletionRanking {
    public static let deletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

    /// The `count` pods to delete, least valuable first. `relatedPods` are the active pods of the
    /// same owner (all ReplicaSets of a Deployment), counted per node for rule 5.
    public static func podsToDelete(_ pods: [CoreV1.Pod], count: Int, relatedPods: [CoreV1.Pod]) -> [CoreV1.Pod] {
        guard count > 0 else { return [] }
        guard count < pods.count else { return pods }
        var perNode: [String: Int] = [:]
        for pod in relatedPods {
            if let node = pod.spec?.nodeName, !node.isEmpty { perNode[node, default: 0] += 1 }
        }
        let ranked = pods.map { pod -> (CoreV1.Pod, Int) in
            let node = pod.spec?.nodeName ?? ""
            return (pod, node.isEmpty ? 0 : perNode[node] ?? 0)
        }
        return ranked.sorted { deleteFirst($0.0, rank: $0.1, than: $1.0, rank: $1.1) }.prefix(count).map(\.0)
    }

    /// True when `a` (with `rankA` related pods on its node) should go before `b`.
    public static func deleteFirst(_ a: CoreV1.Pod, rank rankA: Int, than b: CoreV1.Pod, rank rankB: Int) -> Bool {
        let nodeA = a.spec?.nodeName ?? "", nodeB = b.spec?.nodeName ?? ""
        if nodeA.isEmpty != nodeB.isEmpty { return nodeA.isEmpty }
        let phaseA = phaseOrder(a), phaseB = phaseOrder(b)
        if phaseA != phaseB { return phaseA < phaseB }
        if a.isReady != b.isReady { return !a.isReady }
        let costA = deletionCost(a), costB = deletionCost(b)
        if costA != costB { return costA < costB }
        if rankA != rankB { return rankA > rankB }
        if a.isReady && b.isReady {
            let sinceA = a.readyCondition?.lastTransitionTime, sinceB = b.readyCondition?.lastTransitionTime
            if sinceA != sinceB {
                // Ready more recently (or unknown) goes first.
                guard let sinceA else { return true }
                guard let sinceB else { return false }
                return sinceA > sinceB
            }
        }
        let restartsA = restarts(a), restartsB = restarts(b)
        if restartsA != restartsB { return restartsA > restartsB }
        let createdA = a.objectMeta.creationTimestamp, createdB = b.objectMeta.creationTimestamp
        if createdA != createdB {
            guard let createdA else { return true }
            guard let createdB else { return false }
            return createdA > createdB
        }
        return a.name < b.name
    }

    static func phaseOrder(_ pod: CoreV1.Pod) -> Int {
        switch pod.status?.phase {
        case "Pending", nil: return 0
        case "Unknown": return 1
        case "Running": return 2
        default: return 3
        }
    }

    /// The annotation's value, 0 when absent or not an int32 (as the API server validates it).
    static func deletionCost(_ pod: CoreV1.Pod) -> Int32 {
        pod.objectMeta.annotations?[deletionCostAnnotation].flatMap { Int32($0) } ?? 0
    }

    static func restarts(_ pod: CoreV1.Pod) -> Int32 {
        (pod.status?.containerStatuses ?? []).map(\.restartCount).max() ?? 0
    }
}
