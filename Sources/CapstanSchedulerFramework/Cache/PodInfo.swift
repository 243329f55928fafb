import CapstanAPI
import CapstanAPIMachinery

/// A pod with everything the scheduler derives from it computed once: identity, priority,
/// effective requests, host ports, parsed affinity terms, tolerations, images. Immutable and
/// shared by the queue, the cache and every snapshot (Kubernetes' `framework.PodInfo`).
public final class PodInfo: Sendable, CustomStringConvertible {
    public let pod: CoreV1.Pod
    /// `namespace/name`, the key of the queue and of events.
    public let key: String
    public let namespace: String
    public let name: String
    /// `metadata.uid`, or the key when the pod has none (tests).
    public let uid: String
    public let labels: [String: String]
    /// `spec.nodeName`, "" when unassigned.
    public let nodeName: String
    public let schedulerName: String
    public let priority: Int32
    public let preemptionPolicy: PreemptionPolicy
    /// Effective requests (`PodResources.requests`), used by the fit filter and node accounting.
    public let requests: Resource
    /// Requests with defaults for missing CPU/memory, used for scoring.
    public let nonZeroRequests: Resource
    public let hostPorts: [HostPort]
    public let tolerations: [CoreV1.Toleration]
    /// `spec.nodeSelector` and required node affinity, compiled.
    public let requiredNodeAffinity: RequiredNodeAffinity
    public let requiredAffinityTerms: [AffinityTerm]
    public let requiredAntiAffinityTerms: [AffinityTerm]
    public let preferredAffinityTerms: [WeightedAffinityTerm]
    public let preferredAntiAffinityTerms: [WeightedAffinityTerm]
    /// The pod has a podAffinity or podAntiAffinity stanza (Kubernetes' "pods with affinity").
    public let hasPodAffinity: Bool
    /// Why the affinity terms could not be parsed, if they could not; scheduling fails with it.
    public let parseError: String?
    /// Container images (init and regular), normalised with ":latest" when untagged.
    public let images: [String]
    /// `metadata.deletionTimestamp` is set.
    public let isTerminating: Bool
    /// `status.startTime` in seconds since the epoch, if known.
    public let startTime: Int64?
    /// `status.nominatedNodeName`, "" when none.
    public let nominatedNodeName: String
    /// The pod waits for scheduling gates to be removed.
    public let isGated: Bool

    public init(_ pod: CoreV1.Pod, priorityClasses: PriorityClassTable = .empty) {
        self.pod = pod
        let meta = pod.metadata
        namespace = meta?.namespace ?? "default"
        name = meta?.name ?? ""
        key = namespace + "/" + name
        uid = meta?.uid ?? key
        labels = meta?.labels ?? [:]
        let spec = pod.spec
        nodeName = spec?.nodeName ?? ""
        schedulerName = spec?.schedulerName ?? "default-scheduler"
        priority = priorityClasses.priority(of: spec)
        preemptionPolicy = priorityClasses.preemptionPolicy(of: spec)
        requests = PodResources.requests(spec)
        nonZeroRequests = PodResources.requests(spec, nonZero: true)
        hostPorts = HostPort.of(spec)
        tolerations = spec?.tolerations ?? []
        requiredNodeAffinity = RequiredNodeAffinity(spec)
        isTerminating = meta?.deletionTimestamp != nil
        startTime = pod.status?.startTime?.secondsSinceEpoch
        nominatedNodeName = pod.status?.nominatedNodeName ?? ""
        isGated = !(spec?.schedulingGates ?? []).isEmpty
        var imgs: [String] = []
        for c in spec?.initContainers ?? [] { if let i = c.image { imgs.append(Self.normalizedImageName(i)) } }
        for c in spec?.containers ?? [] { if let i = c.image { imgs.append(Self.normalizedImageName(i)) } }
        images = imgs

        let podAffinity = spec?.affinity?.podAffinity
        let podAntiAffinity = spec?.affinity?.podAntiAffinity
        hasPodAffinity = podAffinity != nil || podAntiAffinity != nil
        var parseErr: String?
        let namespace = self.namespace, labels = self.labels
        func parse(_ terms: [CoreV1.PodAffinityTerm]?) -> [AffinityTerm] {
            var out: [AffinityTerm] = []
            for t in terms ?? [] {
                do { out.append(try AffinityTerm(t, namespace: namespace, labels: labels)) } catch let e { parseErr = parseErr ?? "\(e)" }
            }
            return out
        }
        func parseWeighted(_ terms: [CoreV1.WeightedPodAffinityTerm]?) -> [WeightedAffinityTerm] {
            var out: [WeightedAffinityTerm] = []
            for t in terms ?? [] {
                do {
                    out.append(WeightedAffinityTerm(term: try AffinityTerm(t.podAffinityTerm, namespace: namespace, labels: labels), weight: t.weight))
                } catch let e { parseErr = parseErr ?? "\(e)" }
            }
            return out
        }
        requiredAffinityTerms = parse(podAffinity?.requiredDuringSchedulingIgnoredDuringExecution)
        requiredAntiAffinityTerms = parse(podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution)
        preferredAffinityTerms = parseWeighted(podAffinity?.preferredDuringSchedulingIgnoredDuringExecution)
        preferredAntiAffinityTerms = parseWeighted(podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution)
        parseError = parseErr
    }

    /// True when the pod declares any inter-pod affinity terms that existing-pod indexes track.
    public var hasAffinityTerms: Bool {
        !requiredAffinityTerms.isEmpty || !requiredAntiAffinityTerms.isEmpty
            || !preferredAffinityTerms.isEmpty || !preferredAntiAffinityTerms.isEmpty
    }

    /// A copy bound to `nodeName` (what the cache assumes after a successful cycle).
    public func assigned(to nodeName: String) -> PodInfo {
        var p = pod
        if p.spec == nil { p.spec = CoreV1.PodSpec(containers: []) }
        p.spec?.nodeName = nodeName
        return PodInfo(copying: self, pod: p, nodeName: nodeName)
    }

    /// A copy with a different `status.nominatedNodeName`.
    public func nominated(to nodeName: String) -> PodInfo {
        var p = pod
        if p.status == nil { p.status = CoreV1.PodStatus() }
        p.status?.nominatedNodeName = nodeName.isEmpty ? nil : nodeName
        return PodInfo(copying: self, pod: p, nominatedNodeName: nodeName)
    }

    private init(copying o: PodInfo, pod: CoreV1.Pod, nodeName: String? = nil, nominatedNodeName: String? = nil) {
        self.pod = pod
        key = o.key
        namespace = o.namespace
        name = o.name
        uid = o.uid
        labels = o.labels
        self.nodeName = nodeName ?? o.nodeName
        schedulerName = o.schedulerName
        priority = o.priority
        preemptionPolicy = o.preemptionPolicy
        requests = o.requests
        nonZeroRequests = o.nonZeroRequests
        hostPorts = o.hostPorts
        tolerations = o.tolerations
        requiredNodeAffinity = o.requiredNodeAffinity
        requiredAffinityTerms = o.requiredAffinityTerms
        requiredAntiAffinityTerms = o.requiredAntiAffinityTerms
        preferredAffinityTerms = o.preferredAffinityTerms
        preferredAntiAffinityTerms = o.preferredAntiAffinityTerms
        hasPodAffinity = o.hasPodAffinity
        parseError = o.parseError
        images = o.images
        isTerminating = o.isTerminating
        startTime = o.startTime
        self.nominatedNodeName = nominatedNodeName ?? o.nominatedNodeName
        isGated = o.isGated
    }

    /// Adds ":latest" to an image reference without a tag (Kubernetes' `normalizedImageName`).
    public static func normalizedImageName(_ name: String) -> String {
        let lastColon = name.lastIndex(of: ":")
        let lastSlash = name.lastIndex(of: "/")
        switch (lastColon, lastSlash) {
        case (nil, _): return name + ":latest"
        case (let c?, let s?) where c < s: return name + ":latest"
        default: return name
        }
    }

    public var description: String { key }
}
