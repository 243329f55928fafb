import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import CapstanTesting
import Testing
@testable import CapstanControllers

/// Deployments on simulated nodes, driven with real kubectl: rollouts within their surge and
/// unavailability bounds, undo, scale, and deletion with each propagation policy.
@Suite(.enabled(if: Kubectl.available, "needs \(Kubectl.binary)"))
struct DeploymentEndToEndTests {
    static func deployment(_ name: String, replicas: Int32, maxSurge: Int32, maxUnavailable: Int32) -> AppsV1.Deployment {
        let strategy = AppsV1.DeploymentStrategy(rollingUpdate: AppsV1.RollingUpdateDeployment(maxSurge: .int(maxSurge), maxUnavailable: .int(maxUnavailable)),
                                                 type: "RollingUpdate")
        return DeploymentControllerTests.deployment(name, replicas: replicas, image: "nginx:1", strategy: strategy)
    }

    static func rolledOut(_ client: APIClient, _ name: String, replicas: Int32) async throws -> Bool {
        try await eventually(timeout: .seconds(30)) {
            DeploymentControllerTests.isRolledOut(try await client.get(AppsV1.Deployment.self, name: name, namespace: "default"), replicas: replicas)
        }
    }

    @Test func rollingUpdateKeepsItsBoundsAtEveryStepThenUndoAndScale() async throws {
        // Pods take a moment to start, so the rollouts go in observable steps.
        try await withSimulatedCluster(nodes: 4, podStartup: .milliseconds(150)) { cluster in
            let client = cluster.client
            _ = try await client.create(Self.deployment("web", replicas: 10, maxSurge: 3, maxUnavailable: 2))
            #expect(try await Self.rolledOut(client, "web", replicas: 10))

            // From here on, every pod change must keep 10+3 pods at most and 10-2 Ready at least.
            let watcher = PodCountWatcher(client: client, labelSelector: "app=web", maxPods: 13, minReady: 8)
            try await watcher.start()

            let set = try await cluster.kubectl.run("set", "image", "deployment/web", "c=nginx:2")
            #expect(set.succeeded, "\(set)")
            let status = try await cluster.kubectl.run("rollout", "status", "deployment/web", "--timeout=60s")
            #expect(status.succeeded && status.stdout.contains("successfully rolled out"), "\(status)")
            #expect(try await Self.rolledOut(client, "web", replicas: 10))
            var d = try await client.get(AppsV1.Deployment.self, name: "web", namespace: "default")
            #expect(d.objectMeta.annotations?[DeploymentCore.revisionAnnotation] == "2")
            #expect(try await cluster.pods(["app": "web"]).allSatisfy { $0.spec?.containers.first?.image == "nginx:2" && $0.isReady })

            // kubectl rollout undo puts revision 1's template back (as revision 3).
            let undo = try await cluster.kubectl.run("rollout", "undo", "deployment/web")
            #expect(undo.succeeded && undo.stdout.contains("rolled back"), "\(undo)")
            let undone = try await cluster.kubectl.run("rollout", "status", "deployment/web", "--timeout=60s")
            #expect(undone.succeeded, "\(undone)")
            #expect(try await Self.rolledOut(client, "web", replicas: 10))
            d = try await client.get(AppsV1.Deployment.self, name: "web", namespace: "default")
            #expect(d.spec?.template.spec?.containers.first?.image == "nginx:1")
            #expect(d.objectMeta.annotations?[DeploymentCore.revisionAnnotation] == "3")
            let pods = try await cluster.pods(["app": "web"])
            #expect(pods.count == 10 && pods.allSatisfy { $0.spec?.containers.first?.image == "nginx:1" && $0.isReady })
            let sets = try await client.list(AppsV1.ReplicaSet.self, namespace: "default").items
            #expect(sets.count == 2, "the first ReplicaSet is reused")
            let history = try await cluster.kubectl.run("rollout", "history", "deployment/web")
            #expect(history.succeeded && history.stdout.contains("2 ") && history.stdout.contains("3 "), "\(history)")

            let seen = await watcher.stop()
            #expect(seen.violations.isEmpty, "\(seen.violations)")
            #expect(seen.steps >= 20, "the watcher saw the rollouts (\(seen.steps) steps)")
            #expect(seen.maxPods > 10, "the rollouts surged (max \(seen.maxPods) pods)")

            // Scale down, then up.
            let down = try await cluster.kubectl.run("scale", "deployment/web", "--replicas=4")
            #expect(down.succeeded, "\(down)")
            #expect(try await Self.rolledOut(client, "web", replicas: 4))
            #expect(try await eventually { try await cluster.pods(["app": "web"]).count == 4 })
            let up = try await cluster.kubectl.run("scale", "deployment/web", "--replicas=7")
            #expect(up.succeeded, "\(up)")
            #expect(try await Self.rolledOut(client, "web", replicas: 7))
            let scaled = try await cluster.pods(["app": "web"])
            #expect(scaled.count == 7 && scaled.allSatisfy { $0.isReady && $0.spec?.nodeName?.hasPrefix("sim-") == true })
        }
    }

    static func dependents(_ cluster: SimulatedCluster, of name: String) async throws -> (sets: [AppsV1.ReplicaSet], pods: [CoreV1.Pod]) {
        let sets = try await cluster.client.list(AppsV1.ReplicaSet.self, namespace: "default", options: ListOptions(labelSelector: "app=\(name)")).items
        let pods = try await cluster.client.list(CoreV1.Pod.self, namespace: "default", options: ListOptions(labelSelector: "app=\(name)")).items
        return (sets, pods)
    }

    static func gone(_ client: APIClient, deployment name: String) async throws -> Bool {
        do {
            _ = try await client.get(AppsV1.Deployment.self, name: name, namespace: "default")
            return false
        } catch where APIErrors.isNotFound(error) {
            return true
        }
    }

    @Test func deleteWithEachPropagationPolicy() async throws {
        try await withSimulatedCluster(nodes: 2) { cluster in
            let client = cluster.client
            for name in ["bg", "fg", "or"] {
                _ = try await client.create(Self.deployment(name, replicas: 3, maxSurge: 1, maxUnavailable: 0))
            }
            for name in ["bg", "fg", "or"] { #expect(try await Self.rolledOut(client, name, replicas: 3)) }

            // Background: the Deployment goes at once, its ReplicaSet and pods after it.
            let bg = try await cluster.kubectl.run("delete", "deployment", "bg", "--cascade=background")
            #expect(bg.succeeded, "\(bg)")
            #expect(try await Self.gone(client, deployment: "bg"))
            #expect(try await eventually {
                let (sets, pods) = try await Self.dependents(cluster, of: "bg")
                return sets.isEmpty && pods.isEmpty
            })

            // Foreground: the Deployment is kept (deletionTimestamp, foregroundDeletion) until its
            // ReplicaSet is gone, which waits for its pods; so once it is gone, they are.
            let deleting = try await client.request(method: .delete, path: AppsV1.Deployment.resource.path(namespace: "default", name: "fg"),
                                                    body: JSONValue.object(["propagationPolicy": .string("Foreground")]).serialized())
            let held = try JSONValue.parse(deleting.body)
            #expect(held["metadata"]?["deletionTimestamp"] != nil)
            #expect(held["metadata"]?["finalizers"] == .array([.string("foregroundDeletion")]))
            #expect(try await eventually { try await Self.gone(client, deployment: "fg") })
            let (fgSets, fgPods) = try await Self.dependents(cluster, of: "fg")
            #expect(fgSets.isEmpty && fgPods.isEmpty, "dependents went before their owner: \(fgSets.map(\.name)) \(fgPods.map(\.name))")

            // Orphan: the Deployment goes; its ReplicaSet stays, without the owner reference, and keeps its pods.
            let before = try await Self.dependents(cluster, of: "or")
            let orphan = try await cluster.kubectl.run("delete", "deployment", "or", "--cascade=orphan")
            #expect(orphan.succeeded, "\(orphan)")
            #expect(try await Self.gone(client, deployment: "or"))
            let (orSets, orPods) = try await Self.dependents(cluster, of: "or")
            #expect(orSets.count == 1 && orSets.first?.objectMeta.ownerReferences == nil)
            #expect(Set(orPods.map(\.name)) == Set(before.pods.map(\.name)), "the pods are untouched")
            #expect(orPods.allSatisfy { $0.objectMeta.controllerRef?.name == orSets.first?.name && !$0.isTerminating })
            // The orphaned ReplicaSet still keeps its replicas.
            let victim = try #require(orPods.first)
            try await client.delete(CoreV1.Pod.self, name: victim.name, namespace: "default")
            #expect(try await eventually {
                let pods = try await cluster.pods(["app": "or"])
                return pods.count == 3 && pods.allSatisfy(\.isReady) && !pods.contains { $0.name == victim.name }
            })
        }
    }
}
