import CapstanAPI

/// The objects a simulated kubelet writes, built as JSON: the Node, its status, its Lease, and
/// the status of its pods. Pure; times are passed in.
enum SimulatedObjects {
    static let leaseNamespace = "kube-node-lease"
    static let simulatedAnnotation = "capstan.dev/simulated"

    /// The node's InternalIP (100.64.0.0/10 by index).
    static func nodeIP(index: Int) -> String {
        let i = index + 1
        return "100.\(64 + (i >> 16) & 63).\((i >> 8) & 255).\(i & 255)"
    }

    /// The node's pod CIDR, a /24 of 10.0.0.0/8 by index.
    static func podCIDR(index: Int) -> String {
        "10.\((index >> 8) & 255).\(index & 255).0/24"
    }

    /// A pod IP from the node's /24 (host part 2...254, cycling).
    static func podIP(nodeIndex: Int, sequence: Int) -> String {
        "10.\((nodeIndex >> 8) & 255).\(nodeIndex & 255).\(2 + sequence % 253)"
    }

    static func node(name: String, index: Int, template: SimulatedNodeTemplate) -> JSONValue {
        var labels: [String: JSONValue] = [
            "kubernetes.io/hostname": .string(name),
            "kubernetes.io/os": .string("linux"),
            "kubernetes.io/arch": .string("amd64"),
            "beta.kubernetes.io/os": .string("linux"),
            "beta.kubernetes.io/arch": .string("amd64"),
            "node.kubernetes.io/instance-type": .string("capstan-simulated"),
        ]
        for (k, v) in template.labels { labels[k] = .string(v) }
        if let zone = template.zone(ofNode: index) { labels[SimulatedNodeTemplate.zoneLabel] = .string(zone) }
        var spec: [String: JSONValue] = [
            "podCIDR": .string(podCIDR(index: index)),
            "podCIDRs": .array([.string(podCIDR(index: index))]),
        ]
        if !template.taints.isEmpty {
            spec["taints"] = .array(template.taints.map { t in
                var o: [String: JSONValue] = ["key": .string(t.key), "effect": .string(t.effect)]
                if let v = t.value { o["value"] = .string(v) }
                return .object(o)
            })
        }
        return .object([
            "apiVersion": .string("v1"), "kind": .string("Node"),
            "metadata": .object(["name": .string(name), "labels": .object(labels),
                                 "annotations": .object([simulatedAnnotation: .string("true")])]),
            "spec": .object(spec),
        ])
    }

    static func conditions(now: String, ready: Bool) -> JSONValue {
        func c(_ type: String, _ status: String, _ reason: String, _ message: String) -> JSONValue {
            .object(["type": .string(type), "status": .string(status), "reason": .string(reason), "message": .string(message),
                     "lastHeartbeatTime": .string(now), "lastTransitionTime": .string(now)])
        }
        return .array([
            c("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            c("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            c("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ready ? c("Ready", "True", "KubeletReady", "kubelet is posting ready status")
                  : c("Ready", "False", "KubeletNotReady", "simulated node stopped"),
        ])
    }

    /// The whole node status (a merge patch of the status subresource).
    static func nodeStatus(name: String, index: Int, template: SimulatedNodeTemplate, now: String) -> JSONValue {
        var capacity: [String: JSONValue] = [
            "cpu": .string(template.cpu), "memory": .string(template.memory), "pods": .string(String(template.pods)),
            "ephemeral-storage": .string(template.ephemeralStorage),
        ]
        for (k, v) in template.extendedResources { capacity[k] = .string(v) }
        let id = String(repeating: "0", count: max(0, 32 - String(index, radix: 16).count)) + String(index, radix: 16)
        return .object(["status": .object([
            "capacity": .object(capacity),
            "allocatable": .object(capacity),
            "conditions": conditions(now: now, ready: true),
            "addresses": .array([
                .object(["type": .string("InternalIP"), "address": .string(nodeIP(index: index))]),
                .object(["type": .string("Hostname"), "address": .string(name)]),
            ]),
            "daemonEndpoints": .object(["kubeletEndpoint": .object(["Port": .int(10250)])]),
            "nodeInfo": .object([
                "machineID": .string(id), "systemUUID": .string(id), "bootID": .string(id),
                "kernelVersion": .string("6.1.0-capstan-simulated"), "osImage": .string("Capstan simulated node"),
                "containerRuntimeVersion": .string("capstan-simulated://1.0.0"),
                "kubeletVersion": .string("v1.33.0"), "kubeProxyVersion": .string("v1.33.0"),
                "operatingSystem": .string("linux"), "architecture": .string("amd64"),
            ]),
            "phase": .string("Running"),
        ])])
    }

    /// A heartbeat: the conditions with a new lastHeartbeatTime (transition time kept).
    static func heartbeat(now: String, since: String) -> JSONValue {
        guard case .array(var list) = conditions(now: now, ready: true) else { return .null }
        for i in list.indices {
            if case .object(var o) = list[i] {
                o["lastTransitionTime"] = .string(since)
                list[i] = .object(o)
            }
        }
        return .object(["status": .object(["conditions": .array(list)])])
    }

    static func lease(node: String, nodeUID: String?, durationSeconds: Int, renewTime: String) -> JSONValue {
        var meta: [String: JSONValue] = ["name": .string(node), "namespace": .string(leaseNamespace)]
        if let nodeUID, !nodeUID.isEmpty {
            meta["ownerReferences"] = .array([.object([
                "apiVersion": .string("v1"), "kind": .string("Node"), "name": .string(node), "uid": .string(nodeUID),
            ])])
        }
        return .object([
            "apiVersion": .string("coordination.k8s.io/v1"), "kind": .string("Lease"),
            "metadata": .object(meta),
            "spec": .object(["holderIdentity": .string(node), "leaseDurationSeconds": .int(Int64(durationSeconds)),
                             "renewTime": .string(renewTime)]),
        ])
    }

    static func leaseRenewal(renewTime: String) -> JSONValue {
        .object(["spec": .object(["renewTime": .string(renewTime)])])
    }

    private static func podCondition(_ type: String, _ status: String, _ now: String, reason: String? = nil) -> JSONValue {
        var o: [String: JSONValue] = ["type": .string(type), "status": .string(status), "lastTransitionTime": .string(now),
                                      "lastProbeTime": .null]
        if let reason { o["reason"] = .string(reason) }
        return .object(o)
    }

    private static func containerStatuses(_ containers: [SimulatedPod.Container], state: JSONValue, ready: Bool) -> JSONValue {
        .array(containers.enumerated().map { i, c in
            .object([
                "name": .string(c.name), "image": .string(c.image), "imageID": .string("sim://" + c.image),
                "containerID": .string("sim://\(c.name)-\(i)"), "ready": .bool(ready), "started": .bool(ready),
                "restartCount": .int(0), "state": state,
            ])
        })
    }

    /// The status patch that makes a pod Running and Ready.
    static func running(_ pod: SimulatedPod, podIP: String, hostIP: String, now: String) -> JSONValue {
        var status: [String: JSONValue] = [
            "phase": .string("Running"),
            "conditions": .array([
                podCondition("PodReadyToStartContainers", "True", now),
                podCondition("Initialized", "True", now),
                podCondition("Ready", "True", now),
                podCondition("ContainersReady", "True", now),
                podCondition("PodScheduled", "True", now),
            ]),
            "hostIP": .string(hostIP), "hostIPs": .array([.object(["ip": .string(hostIP)])]),
            "podIP": .string(podIP), "podIPs": .array([.object(["ip": .string(podIP)])]),
            "startTime": .string(now),
            "containerStatuses": containerStatuses(pod.containers, state: .object(["running": .object(["startedAt": .string(now)])]),
                                                   ready: true),
        ]
        if !pod.initContainers.isEmpty {
            let done: JSONValue = .object(["terminated": .object([
                "exitCode": .int(0), "reason": .string("Completed"), "startedAt": .string(now), "finishedAt": .string(now),
            ])])
            status["initContainerStatuses"] = containerStatuses(pod.initContainers, state: done, ready: true)
        }
        return .object(["status": .object(status)])
    }

    /// The status patch that ends a pod: Succeeded (exit 0) or Failed (exit 1).
    static func finished(_ pod: SimulatedPod, succeeded: Bool, startedAt: String, now: String) -> JSONValue {
        let reason = succeeded ? "Completed" : "Error"
        let terminated: JSONValue = .object(["terminated": .object([
            "exitCode": .int(succeeded ? 0 : 1), "reason": .string(reason), "startedAt": .string(startedAt), "finishedAt": .string(now),
        ])])
        return .object(["status": .object([
            "phase": .string(succeeded ? "Succeeded" : "Failed"),
            "conditions": .array([
                podCondition("PodReadyToStartContainers", "False", now),
                podCondition("Initialized", "True", now),
                podCondition("Ready", "False", now, reason: "PodCompleted"),
                podCondition("ContainersReady", "False", now, reason: "PodCompleted"),
                podCondition("PodScheduled", "True", now),
            ]),
            "containerStatuses": containerStatuses(pod.containers, state: terminated, ready: false),
        ])])
    }
}
