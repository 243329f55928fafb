import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import CapstanControllers
import CapstanTesting
import Foundation
import Testing

@Suite struct NodeLifecycleControllerTests {
    static func readyStatus(_ client: APIClient, node: String, at date: Date) async throws {
        var n = try await client.get(CoreV1.Node.self, name: node)
        let t = MetaV1.Time(date)
        n.status = CoreV1.NodeStatus(conditions: [CoreV1.NodeCondition(lastHeartbeatTime: t, lastTransitionTime: t, message: "kubelet is posting ready status",
                                                                        reason: "KubeletReady", status: "True", type: "Ready")])
        _ = try await client.updateStatus(n)
    }

    static func renewLease(_ client: APIClient, node: String, at date: Date) async throws {
        let spec = CoordinationV1.LeaseSpec(holderIdentity: node, leaseDurationSeconds: 40, renewTime: MetaV1.MicroTime(date))
        if var lease = try? await client.get(CoordinationV1.Lease.self, name: node, namespace: "kube-node-lease") {
            lease.spec = spec
            _ = try await client.update(lease)
        } else {
            _ = try await client.create(CoordinationV1.Lease(metadata: MetaV1.ObjectMeta(name: node, namespace: "kube-node-lease"), spec: spec))
        }
    }

    static func podGone(_ client: APIClient, _ name: String) async throws -> Bool {
        do {
            return try await client.get(CoreV1.Pod.self, name: name, namespace: "default").metadata?.deletionTimestamp != nil
        } catch where APIErrors.isNotFound(error) {
            return true
        }
    }

    @Test func silentNodeIsTaintedItsPodsEvictedAndRecovers() async throws {
        let manual = ManualClock()
        let epoch = Date()
        let clock = ControllerClock(manual, epoch: epoch)
        try await withWorkloadControllers([NodeLifecycleController()], clock: clock) { client, _ in
            _ = try await client.create(CoreV1.Node(metadata: MetaV1.ObjectMeta(name: "n1")))
            try await Self.readyStatus(client, node: "n1", at: epoch)
            try await Self.renewLease(client, node: "n1", at: epoch)
            // The API server adds the 300 s not-ready/unreachable tolerations (DefaultTolerationSeconds).
            let patient = try await PodWrites.create(client, "patient", labels: ["app": "a"], node: "n1")
            #expect(patient.spec?.tolerations?.contains { $0.key == "node.kubernetes.io/unreachable" && $0.tolerationSeconds == 300 } == true)
            var impatient = CoreV1.Pod(metadata: MetaV1.ObjectMeta(name: "impatient", namespace: "default"),
                                       spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: "busybox", name: "main")], nodeName: "n1"))
            impatient.spec?.tolerations = [CoreV1.Toleration(effect: "NoExecute", key: "node.kubernetes.io/unreachable", operator: "Exists",
                                                             tolerationSeconds: 5)]
            _ = try await client.create(impatient)
            _ = try await client.create(CoreV1.Pod(metadata: MetaV1.ObjectMeta(name: "forever", namespace: "default"),
                                                   spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: "busybox", name: "main")], nodeName: "n1",
                                                                        tolerations: [CoreV1.Toleration(operator: "Exists")])))
            #expect(await eventually { manual.sleeperCount > 0 })

            // No heartbeat for more than 40 s: Ready becomes Unknown and the unreachable taints appear.
            let unknown = try await eventually {
                manual.advance(by: .seconds(2))
                let node = try await client.get(CoreV1.Node.self, name: "n1")
                return node.status?.conditions?.first { $0.type == "Ready" }?.status == "Unknown"
                    && node.spec?.taints?.contains { $0.key == "node.kubernetes.io/unreachable" && $0.effect == "NoExecute" } == true
            }
            #expect(unknown)
            let node = try await client.get(CoreV1.Node.self, name: "n1")
            let ready = try #require(node.status?.conditions?.first { $0.type == "Ready" })
            #expect(ready.reason == "NodeStatusUnknown")
            #expect(ready.message == "Kubelet stopped posting node status.")
            #expect(node.spec?.taints?.contains { $0.key == "node.kubernetes.io/unreachable" && $0.effect == "NoSchedule" } == true)

            // The pod tolerating 5 s goes after 5 s; the 300 s one and the one tolerating everything stay.
            let evicted = try await eventually {
                manual.advance(by: .seconds(1))
                return try await Self.podGone(client, "impatient")
            }
            #expect(evicted)
            #expect(try await Self.podGone(client, "patient") == false)
            #expect(try await Self.podGone(client, "forever") == false)

            // The kubelet comes back: the taints go.
            try await Self.renewLease(client, node: "n1", at: clock.date)
            try await Self.readyStatus(client, node: "n1", at: clock.date)
            let recovered = try await eventually {
                manual.advance(by: .seconds(1))
                let node = try await client.get(CoreV1.Node.self, name: "n1")
                return (node.spec?.taints ?? []).isEmpty && node.status?.conditions?.first { $0.type == "Ready" }?.status == "True"
            }
            #expect(recovered)
            #expect(try await Self.podGone(client, "patient") == false)
        }
    }
}

@Suite struct PodGCControllerTests {
    @Test func podsOfADeletedNodeAreDeleted() async throws {
        try await withWorkloadControllers([PodGCController()]) { client, _ in
            _ = try await client.create(CoreV1.Node(metadata: MetaV1.ObjectMeta(name: "doomed")))
            _ = try await client.create(CoreV1.Node(metadata: MetaV1.ObjectMeta(name: "fine")))
            try await PodWrites.create(client, "on-doomed", labels: ["app": "a"], node: "doomed")
            try await PodWrites.create(client, "on-fine", labels: ["app": "a"], node: "fine")
            try await PodWrites.setStatus(client, "on-doomed", phase: "Running", ip: "10.0.0.1", ready: true)
            _ = try await client.delete(CoreV1.Node.self, name: "doomed")
            let collected = try await eventually {
                let names = try await client.list(CoreV1.Pod.self, namespace: "default").items.map(\.name)
                return names == ["on-fine"]
            }
            #expect(collected)
        }
    }
}
