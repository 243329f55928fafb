import CapstanAPI

/// Taint effects and toleration matching, as Kubernetes' `v1helper` functions.
public enum Taints {
    public static let noSchedule = "NoSchedule"
    public static let preferNoSchedule = "PreferNoSchedule"
    public static let noExecute = "NoExecute"

    /// The taint `node.kubernetes.io/unschedulable:NoSchedule` that cordoned nodes carry.
    public static let unschedulableTaint = CoreV1.Taint(effect: noSchedule, key: "node.kubernetes.io/unschedulable")

    /// True when `toleration` tolerates `taint` (`Toleration.ToleratesTaint`): the effect
    /// matches or is empty, the key matches or is empty (with Exists), and the operator holds.
    @inlinable
    public static func tolerates(_ toleration: CoreV1.Toleration, _ taint: CoreV1.Taint) -> Bool {
        if let e = toleration.effect, !e.isEmpty, e != taint.effect { return false }
        if let k = toleration.key, !k.isEmpty, k != taint.key { return false }
        switch toleration.operator ?? "Equal" {
        case "", "Equal": return (toleration.value ?? "") == (taint.value ?? "")
        case "Exists": return true
        default: return false
        }
    }

    /// True when some toleration tolerates the taint.
    @inlinable
    public static func tolerated(_ taint: CoreV1.Taint, by tolerations: [CoreV1.Toleration]) -> Bool {
        for t in tolerations where tolerates(t, taint) { return true }
        return false
    }

    /// The first taint passing `filter` that no toleration tolerates (`FindMatchingUntoleratedTaint`).
    @inlinable
    public static func firstUntolerated(_ taints: [CoreV1.Taint], _ tolerations: [CoreV1.Toleration], where filter: (CoreV1.Taint) -> Bool) -> CoreV1.Taint? {
        for taint in taints where filter(taint) {
            if !tolerated(taint, by: tolerations) { return taint }
        }
        return nil
    }

    /// NoSchedule and NoExecute taints, the ones the filter enforces.
    @inlinable
    public static func isDoNotSchedule(_ t: CoreV1.Taint) -> Bool {
        t.effect == noSchedule || t.effect == noExecute
    }
}
