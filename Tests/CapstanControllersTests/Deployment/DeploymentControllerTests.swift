import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import CapstanTesting
import Synchronization
import Testing
@testable import CapstanControllers

@Suite struct DeploymentControllerTests {
    static func deployment(_ name: String, replicas: Int32, image: String, strategy: AppsV1.DeploymentStrategy? = nil) -> AppsV1.Deployment {
        AppsV1.Deployment(
            metadata: MetaV1.ObjectMeta(name: name, namespace: "default"),
            spec: AppsV1.DeploymentSpec(replicas: replicas, selector: MetaV1.LabelSelector(matchLabels: ["app": name]), strategy: strategy,
                                        template: CoreV1.PodTemplateSpec(metadata: MetaV1.ObjectMeta(labels: ["app": name]),
                                                                         spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: image, name: "c")]))))
    }

    static func condition(_ d: AppsV1.Deployment, _ type: String) -> AppsV1.DeploymentCondition? {
        d.status?.conditions?.first(where: { $0.type == type })
    }

    static func isRolledOut(_ d: AppsV1.Deployment, replicas: Int32) -> Bool {
        d.status?.observedGeneration == d.objectMeta.generation && d.status?.updatedReplicas == replicas
            && d.status?.availableReplicas == replicas && d.status?.replicas == replicas
            && condition(d, "Available")?.status == "True" && condition(d, "Progressing")?.reason == "NewReplicaSetAvailable"
    }

    /// Pod counts seen by a watcher during a rollout: the most pods at once, the fewest ready ones.
    final class Bounds: Sendable {
        let state = Mutex((maxPods: 0, minReady: Int.max, images: Set<String>()))
    }

    @Test func rollingUpdateKeepsSurgeAndUnavailableBoundsThenScales() async throws {
        try await withControllers([ReplicaSetController(), DeploymentController()]) { client in
            let strategy = AppsV1.DeploymentStrategy(rollingUpdate: AppsV1.RollingUpdateDeployment(maxSurge: .int(1), maxUnavailable: .int(1)),
                                                     type: "RollingUpdate")
            _ = try await client.create(Self.deployment("web", replicas: 4, image: "nginx:1", strategy: strategy))
            #expect(try await eventually {
                Self.isRolledOut(try await client.get(AppsV1.Deployment.self, name: "web", namespace: "default"), replicas: 4)
            })
            let rs1 = try await client.list(AppsV1.ReplicaSet.self, namespace: "default").items
            #expect(rs1.count == 1 && rs1[0].objectMeta.annotations?[DeploymentCore.revisionAnnotation] == "1")
            #expect(rs1[0].objectMeta.labels?[DeploymentCore.podTemplateHashLabel] != nil)
            #expect(rs1[0].objectMeta.controllerRef?.kind == "Deployment")

            // Watch every pod change during the rollout.
            let bounds = Bounds()
            let informer = Informer(source: ListWatcher(client: client, CoreV1.Pod.self, namespace: "default"), accessor: .typed, indexers: [])
            informer.addEventHandler { _ in
                // The first list arrives as adds one at a time; count from the synced state on.
                guard informer.hasSynced else { return }
                let pods = informer.store.list().filter { !$0.isTerminating }
                let ready = pods.filter(\.isReady).count
                bounds.state.withLock { s in
                    s.maxPods = max(s.maxPods, pods.count)
                    s.minReady = min(s.minReady, ready)
                }
            }
            let watching = Task { await informer.run() }
            try await informer.waitForSync()

            var d = try await client.get(AppsV1.Deployment.self, name: "web", namespace: "default")
            d.spec?.template.spec?.containers[0].image = "nginx:2"
            _ = try await client.update(d)
            #expect(try await eventually(timeout: .seconds(8)) {
                let d = try await client.get(AppsV1.Deployment.self, name: "web", namespace: "default")
                return Self.isRolledOut(d, replicas: 4) && d.objectMeta.annotations?[DeploymentCore.revisionAnnotation] == "2"
            })
            let seen = bounds.state.withLock { $0 }
            #expect(seen.maxPods <= 5, "maxSurge 1 over 4 replicas")
            #expect(seen.minReady >= 3, "maxUnavailable 1 under 4 replicas")
            watching.cancel()
            await watching.value

            let sets = try await client.list(AppsV1.ReplicaSet.self, namespace: "default").items
            #expect(sets.count == 2)
            #expect(sets.first(where: { $0.spec?.template?.spec?.containers.first?.image == "nginx:1" })?.spec?.replicas == 0)

            // Scale.
            _ = try await client.patch(AppsV1.Deployment.self, name: "web", namespace: "default", .merge(.object(["spec": .object(["replicas": .int(6)])])))
            #expect(try await eventually {
                Self.isRolledOut(try await client.get(AppsV1.Deployment.self, name: "web", namespace: "default"), replicas: 6)
            })
            let events = try await client.list(CoreV1.Event.self, namespace: "default").items
            #expect(events.contains { $0.reason == "ScalingReplicaSet" && $0.involvedObject.name == "web" })
        }
    }

    @Test func rollbackMakesTheOldReplicaSetCurrentWithANewRevision() async throws {
        try await withControllers([ReplicaSetController(), DeploymentController()]) { client in
            _ = try await client.create(Self.deployment("app", replicas: 2, image: "img:1"))
            var d = try await client.get(AppsV1.Deployment.self, name: "app", namespace: "default")
            #expect(try await eventually { Self.isRolledOut(try await client.get(AppsV1.Deployment.self, name: "app", namespace: "default"), replicas: 2) })
            d = try await client.get(AppsV1.Deployment.self, name: "app", namespace: "default")
            let original = d.spec!.template
            d.spec?.template.spec?.containers[0].image = "img:2"
            _ = try await client.update(d)
            #expect(try await eventually {
                let d = try await client.get(AppsV1.Deployment.self, name: "app", namespace: "default")
                return Self.isRolledOut(d, replicas: 2) && d.objectMeta.annotations?[DeploymentCore.revisionAnnotation] == "2"
            })
            // kubectl rollout undo: the old ReplicaSet's template (hash label removed) goes back into the Deployment.
            d = try await client.get(AppsV1.Deployment.self, name: "app", namespace: "default")
            d.spec?.template = original
            _ = try await client.update(d)
            #expect(try await eventually {
                let d = try await client.get(AppsV1.Deployment.self, name: "app", namespace: "default")
                return Self.isRolledOut(d, replicas: 2) && d.objectMeta.annotations?[DeploymentCore.revisionAnnotation] == "3"
            })
            let sets = try await client.list(AppsV1.ReplicaSet.self, namespace: "default").items
            #expect(sets.count == 2, "the old ReplicaSet is reused, not duplicated")
            let current = sets.first { $0.spec?.template?.spec?.containers.first?.image == "img:1" }
            #expect(current?.objectMeta.annotations?[DeploymentCore.revisionAnnotation] == "3" && current?.spec?.replicas == 2)
        }
    }

    @Test func recreateAndPausedDeployments() async throws {
        try await withControllers([ReplicaSetController(), DeploymentController()]) { client in
            var d = Self.deployment("batch", replicas: 2, image: "img:1", strategy: AppsV1.DeploymentStrategy(type: "Recreate"))
            d.spec?.paused = true
            _ = try await client.create(d)
            #expect(try await eventually {
                let d = try await client.get(AppsV1.Deployment.self, name: "batch", namespace: "default")
                return Self.condition(d, "Progressing")?.reason == "DeploymentPaused"
            })
            #expect(try await client.list(AppsV1.ReplicaSet.self, namespace: "default").items.isEmpty, "paused: no rollout")
            _ = try await client.patch(AppsV1.Deployment.self, name: "batch", namespace: "default", .merge(.object(["spec": .object(["paused": .bool(false)])])))
            #expect(try await eventually { Self.isRolledOut(try await client.get(AppsV1.Deployment.self, name: "batch", namespace: "default"), replicas: 2) })
            _ = try await client.patch(AppsV1.Deployment.self, name: "batch", namespace: "default",
                                       .strategicMerge(.object(["spec": .object(["template": .object(["spec": .object(["containers": .array([.object(["name": .string("c"), "image": .string("img:2")])])])])])])))
            #expect(try await eventually {
                let d = try await client.get(AppsV1.Deployment.self, name: "batch", namespace: "default")
                return Self.isRolledOut(d, replicas: 2) && d.objectMeta.annotations?[DeploymentCore.revisionAnnotation] == "2"
            })
        }
    }
}
