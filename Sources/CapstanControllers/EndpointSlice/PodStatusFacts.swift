import CapstanAPI

/// Facts about a pod's status that several controllers read (endpoints, jobs, disruption
/// budgets, node lifecycle, pod GC), as Kubernetes' pod utilities define them.
enum PodStatusFacts {
    /// The `Ready` condition is `True`.
    static func isReady(_ pod: CoreV1.Pod) -> Bool {
        condition("Ready", of: pod)?.status == "True"
    }

    static func condition(_ type: String, of pod: CoreV1.Pod) -> CoreV1.PodCondition? {
        pod.status?.conditions?.first { $0.type == type }
    }

    /// `Succeeded` or `Failed`: no container will run again.
    static func isTerminal(_ pod: CoreV1.Pod) -> Bool {
        let phase = pod.status?.phase
        return phase == "Succeeded" || phase == "Failed"
    }

    /// Deletion has started (the pod has a deletionTimestamp).
    static func isTerminating(_ pod: CoreV1.Pod) -> Bool {
        pod.metadata?.deletionTimestamp != nil
    }

    /// Not terminal and not being deleted.
    static func isActive(_ pod: CoreV1.Pod) -> Bool {
        !isTerminal(pod) && !isTerminating(pod)
    }

    /// The time the pod became Ready, when it is.
    static func readySince(_ pod: CoreV1.Pod) -> MetaV1.Time? {
        guard let c = condition("Ready", of: pod), c.status == "True" else { return nil }
        return c.lastTransitionTime ?? pod.status?.startTime ?? pod.metadata?.creationTimestamp
    }

    /// Ready for at least `minReadySeconds` at `now` (seconds since the epoch).
    static func isAvailable(_ pod: CoreV1.Pod, minReadySeconds: Int64, now: Int64) -> Bool {
        guard let since = readySince(pod) else { return false }
        return minReadySeconds <= 0 || since.secondsSinceEpoch + minReadySeconds <= now
    }

    /// The pod's controller owner reference, if any.
    static func controllerRef(_ meta: MetaV1.ObjectMeta?) -> MetaV1.OwnerReference? {
        meta?.ownerReferences?.first { $0.controller == true }
    }

    /// The IPv4 addresses of the pod (`status.podIPs`, else `status.podIP`).
    static func ipv4Addresses(_ pod: CoreV1.Pod) -> [String] {
        var ips = (pod.status?.podIPs ?? []).map(\.ip)
        if ips.isEmpty, let ip = pod.status?.podIP, !ip.isEmpty { ips = [ip] }
        return ips.filter(isIPv4)
    }

    static func isIPv4(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { p in
            !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isASCII) && p.allSatisfy(\.isNumber) && (Int(p) ?? 256) <= 255
        }
    }
}
