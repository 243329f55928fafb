import CapstanAPI

/// The pure part of the (legacy) Endpoints controller: the `core/v1` Endpoints object of a
/// Service with a selector, named like the Service.
///
/// As Kubernetes does: ready pods under `addresses`, the others under `notReadyAddresses`
/// (all under `addresses` with `publishNotReadyAddresses`); terminating pods are left out
/// unless the service publishes not-ready addresses; subsets grouped by port set and sorted.
public enum EndpointsCore {
    /// What to do with the service's Endpoints object.
    public enum Action: Sendable, Hashable {
        case none
        case create(CoreV1.Endpoints)
        case update(CoreV1.Endpoints)
    }

    /// The desired subsets.
    public static func subsets(service: CoreV1.Service, pods: [CoreV1.Pod]) -> [CoreV1.EndpointSubset] {
        let publishNotReady = service.spec?.publishNotReadyAddresses ?? false
        let selector = service.spec?.selector ?? [:]
        let headless = service.spec?.clusterIP == "None"
        let servicePorts = service.spec?.ports ?? []
        // Port set -> (ready, not ready) addresses.
        var groups: [[CoreV1.EndpointPort]: (ready: [CoreV1.EndpointAddress], notReady: [CoreV1.EndpointAddress])] = [:]
        for pod in pods where pod.metadata?.namespace == service.metadata?.namespace {
            let labels = pod.metadata?.labels ?? [:]
            guard selector.allSatisfy({ labels[$0.key] == $0.value }),
                  EndpointSliceCore.shouldInclude(pod, includeTerminating: publishNotReady),
                  let ip = PodStatusFacts.ipv4Addresses(pod).first else { continue }
            let address = CoreV1.EndpointAddress(hostname: EndpointSliceCore.hostname(pod, service: service), ip: ip,
                                                 nodeName: pod.spec?.nodeName.flatMap { $0.isEmpty ? nil : $0 },
                                                 targetRef: EndpointSliceCore.podReference(pod))
            let ready = publishNotReady || PodStatusFacts.isReady(pod)
            var ports: [CoreV1.EndpointPort] = []
            if servicePorts.isEmpty {
                guard headless else { continue }
            } else {
                ports = servicePorts.compactMap { sp in
                    EndpointSliceCore.resolvePort(sp, in: pod).map {
                        CoreV1.EndpointPort(appProtocol: sp.appProtocol, name: sp.name, port: $0, protocol: sp.protocol ?? "TCP")
                    }
                }
                if ports.isEmpty { continue }
            }
            ports.sort { ($0.name ?? "", $0.port) < ($1.name ?? "", $1.port) }
            if ready { groups[ports, default: ([], [])].ready.append(address) } else { groups[ports, default: ([], [])].notReady.append(address) }
        }
        func byIP(_ a: CoreV1.EndpointAddress, _ b: CoreV1.EndpointAddress) -> Bool {
            (a.ip, a.targetRef?.name ?? "") < (b.ip, b.targetRef?.name ?? "")
        }
        return groups.sorted { EndpointsCore.portsKey($0.key) < EndpointsCore.portsKey($1.key) }.map { ports, addresses in
            CoreV1.EndpointSubset(addresses: addresses.ready.isEmpty ? nil : addresses.ready.sorted(by: byIP),
                                  notReadyAddresses: addresses.notReady.isEmpty ? nil : addresses.notReady.sorted(by: byIP),
                                  ports: ports.isEmpty ? nil : ports)
        }
    }

    static func portsKey(_ ports: [CoreV1.EndpointPort]) -> String {
        ports.map { "\($0.name ?? "")/\($0.protocol ?? "")/\($0.port)" }.joined(separator: ",")
    }

    /// The labels of the Endpoints object: the service's, plus `headless` for headless services.
    static func labels(_ service: CoreV1.Service) -> [String: String]? {
        var labels = service.metadata?.labels ?? [:]
        if service.spec?.clusterIP == "None" { labels[EndpointSliceCore.headlessLabel] = "" }
        return labels.isEmpty ? nil : labels
    }

    /// The write that makes `existing` (nil when absent) the service's desired Endpoints.
    public static func plan(service: CoreV1.Service, pods: [CoreV1.Pod], existing: CoreV1.Endpoints?) -> Action {
        let subsets = subsets(service: service, pods: pods)
        let labels = labels(service)
        guard var endpoints = existing else {
            let meta = MetaV1.ObjectMeta(labels: labels, name: service.metadata?.name, namespace: service.metadata?.namespace)
            return .create(CoreV1.Endpoints(metadata: meta, subsets: subsets.isEmpty ? nil : subsets))
        }
        if (endpoints.subsets ?? []) == subsets && (endpoints.metadata?.labels ?? [:]) == (labels ?? [:]) { return .none }
        endpoints.subsets = subsets.isEmpty ? nil : subsets
        endpoints.metadata?.labels = labels
        return .update(endpoints)
    }
}
