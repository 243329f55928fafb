import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import CapstanTesting
import Testing
@testable import CapstanControllers

@Suite struct ReplicaSetControllerTests {
    static func replicaSet(_ name: String, replicas: Int32, minReadySeconds: Int32? = nil) -> AppsV1.ReplicaSet {
        AppsV1.ReplicaSet(
            metadata: MetaV1.ObjectMeta(name: name, namespace: "default"),
            spec: AppsV1.ReplicaSetSpec(minReadySeconds: minReadySeconds, replicas: replicas, selector: MetaV1.LabelSelector(matchLabels: ["rs": name]),
                                        template: CoreV1.PodTemplateSpec(metadata: MetaV1.ObjectMeta(labels: ["rs": name]),
                                                                         spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: "i", name: "c")]))))
    }

    static func activePods(_ client: APIClient) async throws -> [CoreV1.Pod] {
        try await client.list(CoreV1.Pod.self, namespace: "default").items.filter(\.isActive)
    }

    @Test func createsScalesAdoptsAndReleases() async throws {
        try await withControllers([ReplicaSetController()]) { client in
            // An orphan that matches is adopted instead of a new pod being created.
            let orphan = CoreV1.Pod(metadata: MetaV1.ObjectMeta(labels: ["rs": "web"], name: "orphan", namespace: "default"),
                                    spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: "i", name: "c")]))
            _ = try await client.create(orphan)
            let rs = try await client.create(Self.replicaSet("web", replicas: 3))
            #expect(try await eventually {
                let s = try await client.get(AppsV1.ReplicaSet.self, name: "web", namespace: "default").status
                return s?.replicas == 3 && s?.readyReplicas == 3 && s?.availableReplicas == 3 && s?.fullyLabeledReplicas == 3
                    && s?.observedGeneration == 1
            })
            let pods = try await Self.activePods(client)
            #expect(pods.count == 3)
            #expect(pods.allSatisfy { $0.objectMeta.controllerRef?.uid == rs.objectMeta.uid && $0.objectMeta.controllerRef?.blockOwnerDeletion == true })
            #expect(pods.contains { $0.name == "orphan" })

            // Scale down, then release a pod by changing its labels: a replacement is made.
            _ = try await client.patch(AppsV1.ReplicaSet.self, name: "web", namespace: "default", .merge(.object(["spec": .object(["replicas": .int(2)])])))
            #expect(try await eventually { try await Self.activePods(client).count == 2 })
            let victim = try await Self.activePods(client)[0]
            _ = try await client.patch(CoreV1.Pod.self, name: victim.name, namespace: "default", .merge(.object(["metadata": .object(["labels": .object(["rs": .string("gone")])])])))
            #expect(try await eventually {
                let pods = try await Self.activePods(client)
                let released = pods.first { $0.name == victim.name }
                return pods.count == 3 && released?.objectMeta.controllerRef == nil
            })
            let events = try await client.list(CoreV1.Event.self, namespace: "default").items
            #expect(events.contains { $0.reason == "SuccessfulCreate" } && events.contains { $0.reason == "SuccessfulDelete" })
        }
    }

    @Test func availabilityWaitsForMinReadySeconds() async throws {
        try await withControllers([ReplicaSetController()]) { client in
            // Long enough that a loaded machine still sees the ready-but-not-available window.
            _ = try await client.create(Self.replicaSet("slow", replicas: 1, minReadySeconds: 6))
            #expect(try await eventually {
                try await client.get(AppsV1.ReplicaSet.self, name: "slow", namespace: "default").status?.readyReplicas == 1
            })
            let early = try await client.get(AppsV1.ReplicaSet.self, name: "slow", namespace: "default").status
            #expect(early?.availableReplicas == 0)
            #expect(try await eventually(timeout: .seconds(12)) {
                try await client.get(AppsV1.ReplicaSet.self, name: "slow", namespace: "default").status?.availableReplicas == 1
            })
        }
    }
}
