import CapstanAPI
import CapstanClient
import CapstanControllers
import CapstanTesting
import Testing

@Suite struct DaemonSetControllerTests {
    @Test func daemonPodsFollowNodes() async throws {
        try await withWorkloadControllers([DaemonSetController()]) { client, _ in
            for name in ["w1", "w2"] {
                _ = try await client.create(CoreV1.Node(metadata: MetaV1.ObjectMeta(labels: ["role": "worker"], name: name)))
            }
            _ = try await client.create(CoreV1.Node(metadata: MetaV1.ObjectMeta(name: "tainted"),
                                                    spec: CoreV1.NodeSpec(taints: [CoreV1.Taint(effect: "NoSchedule", key: "dedicated", value: "db")])))
            let ds = DaemonSetCoreTests.ds()
            var created = ds
            created.metadata = MetaV1.ObjectMeta(name: "agent", namespace: "default")
            _ = try await client.create(created)
            func targets() async throws -> [String] {
                try await client.list(CoreV1.Pod.self, namespace: "default").items
                    .filter { $0.metadata?.deletionTimestamp == nil }.compactMap(DaemonSetCore.targetNode).sorted()
            }
            #expect(try await eventually { try await targets() == ["w1", "w2"] })
            let status = try await eventually {
                let d = try await client.get(AppsV1.DaemonSet.self, name: "agent", namespace: "default")
                return d.status?.desiredNumberScheduled == 2 && d.status?.updatedNumberScheduled == 2
            }
            #expect(status)
            // A new eligible node gets its pod.
            _ = try await client.create(CoreV1.Node(metadata: MetaV1.ObjectMeta(name: "w3")))
            #expect(try await eventually { try await targets() == ["w1", "w2", "w3"] })
        }
    }
}
