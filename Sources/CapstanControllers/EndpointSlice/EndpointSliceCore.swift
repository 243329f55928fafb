import CapstanAPI

/// The pure part of the EndpointSlice controller: from a Service with a selector and the pods
/// it selects, the IPv4 EndpointSlices it should have, and the writes that turn the slices it
/// has into them.
///
/// As Kubernetes does: one endpoint per pod with an IP that is not terminal (terminating pods
/// stay, with `ready=false`, `serving` from the Ready condition and `terminating=true`); ports
/// resolved per pod (a named `targetPort` by the pod's container ports), so pods with different
/// resolutions land in different slices; at most ``maxEndpointsPerSlice`` endpoints per slice;
/// slices labelled `kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by`,
/// owned by the Service.
public enum EndpointSliceCore {
    public static let managedByLabel = "endpointslice.kubernetes.io/managed-by"
    public static let controllerName = "endpointslice-controller.k8s.io"
    public static let serviceNameLabel = "kubernetes.io/service-name"
    public static let headlessLabel = "service.kubernetes.io/headless"
    public static let maxEndpointsPerSlice = 100

    /// The writes that make the service's slices match its pods.
    public struct Plan: Sendable, Hashable {
        /// New slices (with `generateName`).
        public var create: [DiscoveryV1.EndpointSlice] = []
        /// Existing slices with new content (their metadata kept, with resourceVersion).
        public var update: [DiscoveryV1.EndpointSlice] = []
        /// Names of slices to delete.
        public var delete: [String] = []

        public init() {}
        public var isEmpty: Bool { create.isEmpty && update.isEmpty && delete.isEmpty }
    }

    /// Whether the controller manages endpoints of this service: it has a non-empty selector
    /// and is not an ExternalName service.
    public static func manages(_ service: CoreV1.Service) -> Bool {
        guard let selector = service.spec?.selector, !selector.isEmpty else { return false }
        return service.spec?.type != "ExternalName"
    }

    /// Whether a pod belongs in the service's endpoints: an IP, not terminal, and (unless
    /// `includeTerminating`) not being deleted.
    static func shouldInclude(_ pod: CoreV1.Pod, includeTerminating: Bool) -> Bool {
        if PodStatusFacts.isTerminal(pod) { return false }
        if PodStatusFacts.ipv4Addresses(pod).isEmpty { return false }
        if !includeTerminating && PodStatusFacts.isTerminating(pod) { return false }
        return true
    }

    /// The port a service port reaches on `pod`: the target port number, or the named
    /// container port with the same protocol; nil when the name is not found.
    public static func resolvePort(_ port: CoreV1.ServicePort, in pod: CoreV1.Pod) -> Int32? {
        switch port.targetPort {
        case nil:
            return port.port
        case .int(let n)?:
            return n == 0 ? port.port : n
        case .string(let name)?:
            if let n = Int32(name) { return n }
            let proto = port.protocol ?? "TCP"
            for container in pod.spec?.containers ?? [] {
                for p in container.ports ?? [] where p.name == name && (p.protocol ?? "TCP") == proto {
                    return p.containerPort
                }
            }
            return nil
        }
    }

    /// The slice ports of one pod, in the service's port order.
    static func endpointPorts(_ service: CoreV1.Service, _ pod: CoreV1.Pod) -> [DiscoveryV1.EndpointPort] {
        (service.spec?.ports ?? []).compactMap { sp in
            guard let number = resolvePort(sp, in: pod) else { return nil }
            return DiscoveryV1.EndpointPort(appProtocol: sp.appProtocol, name: sp.name ?? "", port: number,
                                            protocol: sp.protocol ?? "TCP")
        }
    }

    /// The hostname the endpoint carries: the pod's hostname when its subdomain is the service.
    static func hostname(_ pod: CoreV1.Pod, service: CoreV1.Service) -> String? {
        guard let host = pod.spec?.hostname, !host.isEmpty,
              let sub = pod.spec?.subdomain, sub == service.metadata?.name else { return nil }
        return host
    }

    static func podReference(_ pod: CoreV1.Pod) -> CoreV1.ObjectReference {
        CoreV1.ObjectReference(kind: "Pod", name: pod.metadata?.name, namespace: pod.metadata?.namespace, uid: pod.metadata?.uid)
    }

    /// The endpoint of one pod.
    static func endpoint(_ pod: CoreV1.Pod, service: CoreV1.Service, zones: [String: String]) -> DiscoveryV1.Endpoint {
        let publishNotReady = service.spec?.publishNotReadyAddresses ?? false
        let terminating = PodStatusFacts.isTerminating(pod)
        let serving = publishNotReady || PodStatusFacts.isReady(pod)
        let node = pod.spec?.nodeName.flatMap { $0.isEmpty ? nil : $0 }
        return DiscoveryV1.Endpoint(
            addresses: PodStatusFacts.ipv4Addresses(pod),
            conditions: DiscoveryV1.EndpointConditions(ready: serving && !terminating, serving: serving, terminating: terminating),
            hostname: hostname(pod, service: service),
            nodeName: node,
            targetRef: podReference(pod),
            zone: node.flatMap { zones[$0] })
    }

    /// The labels every slice of the service carries: the service's own labels (minus the
    /// reserved ones), the service name, the manager, and `headless` for headless services.
    static func sliceLabels(_ service: CoreV1.Service) -> [String: String] {
        var labels = service.metadata?.labels ?? [:]
        labels[managedByLabel] = controllerName
        labels[serviceNameLabel] = service.metadata?.name ?? ""
        if service.spec?.clusterIP == "None" { labels[headlessLabel] = "" } else { labels[headlessLabel] = nil }
        return labels
    }

    static func ownerReference(_ service: CoreV1.Service) -> MetaV1.OwnerReference {
        MetaV1.OwnerReference(apiVersion: "v1", kind: "Service", blockOwnerDeletion: true, controller: true,
                              name: service.metadata?.name ?? "", uid: service.metadata?.uid ?? "")
    }

    /// The desired slices' content: for each distinct port set, its endpoints sorted by address,
    /// in chunks of at most ``maxEndpointsPerSlice``. `zones` maps node names to their
    /// `topology.kubernetes.io/zone`.
    public static func desiredGroups(service: CoreV1.Service, pods: [CoreV1.Pod],
                                     zones: [String: String] = [:]) -> [(ports: [DiscoveryV1.EndpointPort], endpoints: [DiscoveryV1.Endpoint])] {
        var groups: [[DiscoveryV1.EndpointPort]: [DiscoveryV1.Endpoint]] = [:]
        let selector = service.spec?.selector ?? [:]
        for pod in pods where pod.metadata?.namespace == service.metadata?.namespace {
            let labels = pod.metadata?.labels ?? [:]
            guard selector.allSatisfy({ labels[$0.key] == $0.value }) else { continue }
            guard shouldInclude(pod, includeTerminating: true) else { continue }
            groups[endpointPorts(service, pod), default: []].append(endpoint(pod, service: service, zones: zones))
        }
        var out: [(ports: [DiscoveryV1.EndpointPort], endpoints: [DiscoveryV1.Endpoint])] = []
        for (ports, endpoints) in groups.sorted(by: { portsKey($0.key) < portsKey($1.key) }) {
            let sorted = endpoints.sorted { endpointKey($0) < endpointKey($1) }
            var start = 0
            while start < sorted.count {
                let end = min(start + maxEndpointsPerSlice, sorted.count)
                out.append((ports, Array(sorted[start..<end])))
                start = end
            }
        }
        if out.isEmpty {
            // A service without endpoints keeps one empty placeholder slice.
            out.append(([], []))
        }
        return out
    }

    static func portsKey(_ ports: [DiscoveryV1.EndpointPort]) -> String {
        ports.map { "\($0.name ?? "")/\($0.protocol ?? "")/\($0.port ?? 0)" }.joined(separator: ",")
    }

    static func endpointKey(_ e: DiscoveryV1.Endpoint) -> String {
        (e.addresses.first ?? "") + "/" + (e.targetRef?.name ?? "")
    }

    /// The writes that turn `existing` (the slices labelled with the service name and managed by
    /// this controller) into the desired slices. Existing slices are reused in name order for
    /// the groups with the same ports; unchanged slices are not written.
    public static func plan(service: CoreV1.Service, pods: [CoreV1.Pod], existing: [DiscoveryV1.EndpointSlice],
                            zones: [String: String] = [:]) -> Plan {
        var plan = Plan()
        let labels = sliceLabels(service)
        let owner = ownerReference(service)
        var available: [String: [DiscoveryV1.EndpointSlice]] = [:]
        for slice in existing.sorted(by: { ($0.metadata?.name ?? "") < ($1.metadata?.name ?? "") }) {
            if slice.addressType != "IPv4" {
                plan.delete.append(slice.metadata?.name ?? "")
                continue
            }
            available[portsKey(slice.ports ?? []), default: []].append(slice)
        }
        for group in desiredGroups(service: service, pods: pods, zones: zones) {
            let key = portsKey(group.ports)
            if var reusable = available[key], !reusable.isEmpty {
                var slice = reusable.removeFirst()
                available[key] = reusable
                let before = slice
                slice.endpoints = group.endpoints
                slice.ports = group.ports
                var meta = slice.metadata ?? MetaV1.ObjectMeta()
                meta.labels = labels
                var owners = (meta.ownerReferences ?? []).filter { $0.controller != true }
                owners.insert(owner, at: 0)
                meta.ownerReferences = owners
                slice.metadata = meta
                if slice != before { plan.update.append(slice) }
            } else {
                let meta = MetaV1.ObjectMeta(generateName: (service.metadata?.name ?? "") + "-", labels: labels,
                                             namespace: service.metadata?.namespace, ownerReferences: [owner])
                plan.create.append(DiscoveryV1.EndpointSlice(metadata: meta, addressType: "IPv4",
                                                             endpoints: group.endpoints, ports: group.ports))
            }
        }
        for leftovers in available.values {
            plan.delete += leftovers.compactMap { $0.metadata?.name }
        }
        plan.delete.sort()
        return plan
    }
}
