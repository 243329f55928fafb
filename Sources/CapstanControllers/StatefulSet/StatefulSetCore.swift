import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import Foundation

/// The decisions of the StatefulSet controller, without IO.
///
/// Pods are named `<set>-<ordinal>` for the ordinals `start ..< start + replicas`
/// (`.spec.ordinals.start`, default 0). With `OrderedReady` pod management one pod is created
/// at a time in increasing order, each only once every lower pod is Running and Ready (and
/// available for `minReadySeconds`), and pods beyond the range are deleted one at a time from
/// the highest ordinal, only while all others are healthy. `Parallel` creates and deletes
/// without waiting. A RollingUpdate deletes the highest pod whose ordinal index (ordinal -
/// start) is at least the partition and which is not at the update revision, one at a time,
/// waiting for each replacement to be healthy; OnDelete leaves pods alone. Failed or succeeded
/// pods are deleted so they come back.
public enum StatefulSetCore {
    public static let podNameLabel = "statefulset.kubernetes.io/pod-name"
    public static let podIndexLabel = "apps.kubernetes.io/pod-index"
    public static let revisionLabel = ControllerHistoryCore.hashLabel

    public enum DeleteReason: Hashable, Sendable {
        /// The pod failed or succeeded: it is recreated.
        case finished
        /// Its ordinal is beyond the replicas.
        case condemned
        /// It runs an old revision (RollingUpdate).
        case update
    }

    public enum Action: Hashable, Sendable {
        /// Create the pod of this ordinal (and its claims) from the current (`true`) or update revision.
        case create(ordinal: Int, currentRevision: Bool)
        case delete(name: String, uid: String?, reason: DeleteReason)
        /// The pod lacks its identity labels: set them.
        case relabel(name: String)
    }

    // MARK: Identity

    public static func startOrdinal(_ set: AppsV1.StatefulSet) -> Int { Int(set.spec?.ordinals?.start ?? 0) }
    public static func replicas(_ set: AppsV1.StatefulSet) -> Int { Int(set.spec?.replicas ?? 1) }

    public static func podName(_ set: AppsV1.StatefulSet, ordinal: Int) -> String { "\(set.metadata?.name ?? "")-\(ordinal)" }

    /// The ordinal of a pod named `<set>-<ordinal>`, nil for other names.
    public static func ordinal(of podName: String, setName: String) -> Int? {
        guard podName.count > setName.count + 1, podName.hasPrefix(setName + "-") else { return nil }
        let digits = podName.dropFirst(setName.count + 1)
        guard digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), digits.first != "0" || digits.count == 1 else { return nil }
        return Int(digits)
    }

    /// The identity labels of the pod of `ordinal`.
    public static func identityLabels(_ set: AppsV1.StatefulSet, ordinal: Int) -> [String: String] {
        [podNameLabel: podName(set, ordinal: ordinal), podIndexLabel: String(ordinal)]
    }

    public static func identityMatches(_ set: AppsV1.StatefulSet, _ pod: CoreV1.Pod, ordinal: Int) -> Bool {
        let labels = pod.metadata?.labels ?? [:]
        return identityLabels(set, ordinal: ordinal).allSatisfy { labels[$0.key] == $0.value }
    }

    /// `<claim template>-<set>-<ordinal>`.
    public static func claimName(_ template: CoreV1.PersistentVolumeClaim, set: AppsV1.StatefulSet, ordinal: Int) -> String {
        "\(template.metadata?.name ?? "")-\(podName(set, ordinal: ordinal))"
    }

    /// The claims of the pod of `ordinal`, from the volume claim templates (labelled with the
    /// selector's matchLabels), without owner references.
    public static func claims(_ set: AppsV1.StatefulSet, ordinal: Int) -> [CoreV1.PersistentVolumeClaim] {
        (set.spec?.volumeClaimTemplates ?? []).map { template in
            var claim = template
            var meta = template.metadata ?? MetaV1.ObjectMeta()
            meta.name = claimName(template, set: set, ordinal: ordinal)
            meta.namespace = set.metadata?.namespace
            meta.labels = (meta.labels ?? [:]).merging(set.spec?.selector.matchLabels ?? [:]) { _, selector in selector }
            meta.ownerReferences = nil
            meta.uid = nil
            meta.resourceVersion = nil
            meta.creationTimestamp = nil
            claim.metadata = meta
            claim.status = nil
            return claim
        }
    }

    /// The pod of `ordinal` from `template` at `revision`: identity labels, hostname and
    /// subdomain, the volumes of the claim templates pointing at the pod's claims, and the set as
    /// its controller.
    public static func makePod(_ set: AppsV1.StatefulSet, template: CoreV1.PodTemplateSpec, revision: String, ordinal: Int) -> CoreV1.Pod {
        let name = podName(set, ordinal: ordinal)
        var pod = CoreV1.Pod(template: template, namespace: set.metadata?.namespace, generateName: "", controller: set.asControllerRef)
        pod.metadata?.generateName = nil
        pod.metadata?.name = name
        var labels = pod.metadata?.labels ?? [:]
        labels.merge(identityLabels(set, ordinal: ordinal)) { _, identity in identity }
        labels[revisionLabel] = revision
        pod.metadata?.labels = labels
        var spec = pod.spec ?? CoreV1.PodSpec(containers: [])
        spec.hostname = name
        if let service = set.spec?.serviceName, !service.isEmpty { spec.subdomain = service }
        let templates = set.spec?.volumeClaimTemplates ?? []
        if !templates.isEmpty {
            let claimVolumes = templates.map { template -> CoreV1.Volume in
                var volume = CoreV1.Volume(name: template.metadata?.name ?? "")
                volume.persistentVolumeClaim = CoreV1.PersistentVolumeClaimVolumeSource(claimName: claimName(template, set: set, ordinal: ordinal))
                return volume
            }
            let claimed = Set(claimVolumes.map(\.name))
            spec.volumes = claimVolumes + (spec.volumes ?? []).filter { !claimed.contains($0.name) }
        }
        pod.spec = spec
        return pod
    }

    // MARK: Claim retention

    /// The owner references a claim should have under the retention policy: a controller
    /// reference to the set when `whenDeleted` is Delete (for a pod in range), to the pod when
    /// `whenScaled` is Delete and the pod is beyond the replicas. Other references are kept.
    public static func claimOwnerReferences(_ claim: CoreV1.PersistentVolumeClaim, set: AppsV1.StatefulSet, pod: CoreV1.Pod,
                                            inRange: Bool) -> [MetaV1.OwnerReference] {
        var refs = (claim.metadata?.ownerReferences ?? []).filter {
            !($0.kind == "StatefulSet" && $0.name == set.metadata?.name) && !($0.kind == "Pod" && $0.name == pod.metadata?.name)
        }
        // Another controller owns the claim: leave it alone.
        if refs.contains(where: { $0.controller == true }) { return refs }
        let policy = set.spec?.persistentVolumeClaimRetentionPolicy
        let deleteWithSet = policy?.whenDeleted == "Delete", deleteWhenScaled = policy?.whenScaled == "Delete"
        if deleteWhenScaled && !inRange {
            refs.append(pod.asControllerRef)
        } else if deleteWithSet && (inRange || !deleteWhenScaled) {
            refs.append(set.asControllerRef)
        }
        return refs
    }

    // MARK: Pod states

    public static func isRunningAndReady(_ pod: CoreV1.Pod) -> Bool { pod.status?.phase == "Running" && pod.isReady }

    public static func isAvailable(_ pod: CoreV1.Pod, minReadySeconds: Int32, now: Date) -> Bool {
        isRunningAndReady(pod) && pod.isAvailable(minReadySeconds: minReadySeconds, now: now)
    }

    static func isFinished(_ pod: CoreV1.Pod) -> Bool { pod.status?.phase == "Failed" || pod.status?.phase == "Succeeded" }

    static func isHealthy(_ pod: CoreV1.Pod, minReadySeconds: Int32, now: Date) -> Bool {
        !pod.isTerminating && isAvailable(pod, minReadySeconds: minReadySeconds, now: now)
    }

    // MARK: Plan

    /// The pods the set controls (`pods`, members named `<set>-<ordinal>`) split by ordinal:
    /// those in range, and the condemned ones beyond it (lowest first).
    static func split(_ set: AppsV1.StatefulSet, pods: [CoreV1.Pod]) -> (inRange: [Int: CoreV1.Pod], condemned: [(Int, CoreV1.Pod)]) {
        let setName = set.metadata?.name ?? ""
        let range = startOrdinal(set)..<(startOrdinal(set) + replicas(set))
        var inRange: [Int: CoreV1.Pod] = [:], condemned: [(Int, CoreV1.Pod)] = []
        for pod in pods {
            guard let ordinal = ordinal(of: pod.metadata?.name ?? "", setName: setName) else { continue }
            if range.contains(ordinal) { inRange[ordinal] = pod } else { condemned.append((ordinal, pod)) }
        }
        condemned.sort { $0.0 < $1.0 }
        return (inRange, condemned)
    }

    /// What to do next for `set`, given the pods it controls and its current and update revision names.
    public static func plan(_ set: AppsV1.StatefulSet, pods: [CoreV1.Pod], currentRevision: String, updateRevision: String,
                            now: Date) -> [Action] {
        guard set.metadata?.deletionTimestamp == nil, let spec = set.spec else { return [] }
        let start = startOrdinal(set), count = replicas(set)
        let ordered = spec.podManagementPolicy != "Parallel"
        let minReady = spec.minReadySeconds ?? 0
        let rolling = spec.updateStrategy?.type != "OnDelete"
        let partition = Int(spec.updateStrategy?.rollingUpdate?.partition ?? 0)
        let (inRange, condemned) = split(set, pods: pods)
        func healthy(_ pod: CoreV1.Pod) -> Bool { isHealthy(pod, minReadySeconds: minReady, now: now) }
        // The lowest pod that is not healthy may be deleted even in order (it blocks nothing).
        let firstUnhealthy = (inRange.sorted { $0.key < $1.key }.map(\.value) + condemned.map(\.1)).first { !healthy($0) }?.metadata?.uid

        var actions: [Action] = []
        for ordinal in start..<(start + count) {
            guard let pod = inRange[ordinal] else {
                actions.append(.create(ordinal: ordinal, currentRevision: rolling && ordinal - start < partition))
                if ordered { return actions }
                continue
            }
            if isFinished(pod) && !pod.isTerminating {
                actions.append(.delete(name: pod.metadata?.name ?? "", uid: pod.metadata?.uid, reason: .finished))
                if ordered { return actions }
                continue
            }
            if ordered && !healthy(pod) { return actions }
            if pod.isTerminating { continue }
            if !identityMatches(set, pod, ordinal: ordinal) { actions.append(.relabel(name: pod.metadata?.name ?? "")) }
        }
        for (_, pod) in condemned.reversed() {
            if pod.isTerminating {
                if ordered { return actions }
                continue
            }
            if ordered && !healthy(pod) && pod.metadata?.uid != firstUnhealthy { return actions }
            actions.append(.delete(name: pod.metadata?.name ?? "", uid: pod.metadata?.uid, reason: .condemned))
            if ordered { return actions }
        }
        guard rolling else { return actions }
        // Replace old pods from the highest ordinal down to the partition, one at a time.
        for ordinal in stride(from: start + count - 1, through: start + max(0, partition), by: -1) {
            guard let pod = inRange[ordinal] else { return actions }
            if pod.metadata?.labels?[revisionLabel] != updateRevision && !pod.isTerminating {
                actions.append(.delete(name: pod.metadata?.name ?? "", uid: pod.metadata?.uid, reason: .update))
                return actions
            }
            if !healthy(pod) { return actions }
        }
        return actions
    }

    // MARK: Status

    /// The status the set reports for the pods it controls.
    public static func status(_ set: AppsV1.StatefulSet, pods: [CoreV1.Pod], currentRevision: String, updateRevision: String,
                              collisionCount: Int32?, now: Date) -> AppsV1.StatefulSetStatus {
        let minReady = set.spec?.minReadySeconds ?? 0
        let setName = set.metadata?.name ?? ""
        var status = AppsV1.StatefulSetStatus(replicas: 0)
        var total: Int32 = 0, ready: Int32 = 0, available: Int32 = 0, current: Int32 = 0, updated: Int32 = 0
        for pod in pods where ordinal(of: pod.metadata?.name ?? "", setName: setName) != nil {
            total += 1
            if isRunningAndReady(pod) {
                ready += 1
                if isAvailable(pod, minReadySeconds: minReady, now: now) { available += 1 }
            }
            if !pod.isTerminating {
                let revision = pod.metadata?.labels?[revisionLabel]
                if revision == currentRevision { current += 1 }
                if revision == updateRevision { updated += 1 }
            }
        }
        status.replicas = total
        status.readyReplicas = ready
        status.availableReplicas = available
        status.currentReplicas = current
        status.updatedReplicas = updated
        status.currentRevision = currentRevision
        status.updateRevision = updateRevision
        status.observedGeneration = set.metadata?.generation
        status.collisionCount = collisionCount
        status.conditions = set.status?.conditions
        // A finished rolling update makes the update revision current.
        let desired = Int32(replicas(set))
        if set.spec?.updateStrategy?.type != "OnDelete", updated == desired, ready == desired, total == desired {
            status.currentReplicas = updated
            status.currentRevision = updateRevision
        }
        return status
    }
}
