import CapstanAPI

/// Builders of pods, services and nodes for the pure controller tests.
enum TestPods {
    static func time(_ seconds: Int64) -> MetaV1.Time { MetaV1.Time(secondsSinceEpoch: seconds) }

    /// A pod in `namespace` with `labels`; `ip` and `ready` set its status, `phase` defaults to Running.
    static func pod(_ name: String, namespace: String = "default", labels: [String: String] = ["app": "web"],
                    ip: String? = nil, ready: Bool = false, phase: String = "Running", node: String? = nil,
                    terminating: Bool = false, ports: [CoreV1.ContainerPort] = [], created: Int64 = 0,
                    owner: MetaV1.OwnerReference? = nil) -> CoreV1.Pod {
        var meta = MetaV1.ObjectMeta(creationTimestamp: time(created), labels: labels, name: name, namespace: namespace,
                                     uid: "uid-\(name)")
        if terminating { meta.deletionTimestamp = time(created + 100) }
        if let owner { meta.ownerReferences = [owner] }
        let container = CoreV1.Container(name: "main", ports: ports.isEmpty ? nil : ports)
        var status = CoreV1.PodStatus(phase: phase)
        if let ip { status.podIP = ip; status.podIPs = [CoreV1.PodIP(ip: ip)] }
        status.conditions = [CoreV1.PodCondition(lastTransitionTime: time(created), status: ready ? "True" : "False", type: "Ready")]
        return CoreV1.Pod(metadata: meta, spec: CoreV1.PodSpec(containers: [container], nodeName: node), status: status)
    }

    static func service(_ name: String, namespace: String = "default", selector: [String: String]? = ["app": "web"],
                        ports: [CoreV1.ServicePort] = [CoreV1.ServicePort(name: "http", port: 80, targetPort: .int(8080))],
                        clusterIP: String? = "10.96.0.10", publishNotReady: Bool? = nil,
                        labels: [String: String]? = nil) -> CoreV1.Service {
        CoreV1.Service(metadata: MetaV1.ObjectMeta(labels: labels, name: name, namespace: namespace, uid: "uid-svc-\(name)"),
                       spec: CoreV1.ServiceSpec(clusterIP: clusterIP, ports: ports, publishNotReadyAddresses: publishNotReady,
                                                selector: selector))
    }
}
