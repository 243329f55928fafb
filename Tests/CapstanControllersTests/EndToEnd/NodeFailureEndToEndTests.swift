import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import CapstanTesting
import Testing
@testable import CapstanControllers

/// A simulated node stops heartbeating: node lifecycle (2 s grace period) marks it Unknown,
/// taints it unreachable, evicts its pods once their tolerations run out, and the Deployment's
/// pods come back on the other nodes.
@Suite struct NodeFailureEndToEndTests {
    @Test func podsOfASilentNodeAreReplacedElsewhere() async throws {
        try await withSimulatedCluster(nodes: 3) { cluster in
            let client = cluster.client
            var web = DeploymentEndToEndTests.deployment("web", replicas: 6, maxSurge: 1, maxUnavailable: 1)
            // One second of tolerance instead of the 300 s the API server would add.
            web.spec?.template.spec?.tolerations = [NodeLifecycleCore.unreachableTaint, NodeLifecycleCore.notReadyTaint].map {
                CoreV1.Toleration(effect: "NoExecute", key: $0, operator: "Exists", tolerationSeconds: 1)
            }
            _ = try await client.create(web)
            #expect(try await DeploymentEndToEndTests.rolledOut(client, "web", replicas: 6))
            let before = try await cluster.pods(["app": "web"])
            let victim = try #require(before.first?.spec?.nodeName)
            let stranded = Set(before.filter { $0.spec?.nodeName == victim }.map(\.name))

            #expect(cluster.simulator.failNode(victim))
            let unreachable = try await eventually(timeout: .seconds(20)) {
                let node = try await client.get(CoreV1.Node.self, name: victim)
                let taints = node.spec?.taints ?? []
                return node.status?.conditions?.first { $0.type == "Ready" }?.status == "Unknown"
                    && taints.contains { $0.key == NodeLifecycleCore.unreachableTaint && $0.effect == "NoExecute" }
                    && taints.contains { $0.key == NodeLifecycleCore.unreachableTaint && $0.effect == "NoSchedule" }
            }
            #expect(unreachable)

            let replaced = try await eventually(timeout: .seconds(20)) {
                let pods = try await cluster.pods(["app": "web"])
                return pods.count == 6 && pods.allSatisfy { $0.isReady && $0.spec?.nodeName != victim }
            }
            #expect(replaced)
            let after = try await cluster.pods(["app": "web"])
            #expect(Set(after.map(\.name)).isDisjoint(with: stranded), "the stranded pods were evicted")
            #expect(try await DeploymentEndToEndTests.rolledOut(client, "web", replicas: 6))
            let events = try await client.list(CoreV1.Event.self, namespace: "default").items
            #expect(events.contains { $0.reason == "TaintManagerEviction" && stranded.contains($0.involvedObject.name ?? "") })

            // The other nodes stay healthy and untainted.
            for name in cluster.simulator.nodeNames where name != victim {
                let node = try await client.get(CoreV1.Node.self, name: name)
                #expect(node.status?.conditions?.first { $0.type == "Ready" }?.status == "True" && (node.spec?.taints ?? []).isEmpty, "\(name)")
            }
        }
    }
}
