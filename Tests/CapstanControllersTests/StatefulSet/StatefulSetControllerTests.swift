import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import CapstanControllers
import CapstanNodeSimulator
import CapstanScheduler
import CapstanTesting
import Foundation
import Testing

/// The StatefulSet controller against a real in-process API server: pods made ready by the
/// test (to check ordering), by simulated nodes, and driven with the real kubectl.
@Suite struct StatefulSetControllerTests {
    static func set(_ name: String = "web", replicas: Int32, parallel: Bool = false, image: String = "db:1", claims: Bool = false,
                    partition: Int32? = nil) -> AppsV1.StatefulSet {
        var spec = AppsV1.StatefulSetSpec(selector: MetaV1.LabelSelector(matchLabels: ["app": name]),
                                          template: CoreV1.PodTemplateSpec(metadata: MetaV1.ObjectMeta(labels: ["app": name]),
                                                                           spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: image, name: "db")])))
        spec.replicas = replicas
        spec.serviceName = name
        if parallel { spec.podManagementPolicy = "Parallel" }
        if let partition { spec.updateStrategy = AppsV1.StatefulSetUpdateStrategy(rollingUpdate: AppsV1.RollingUpdateStatefulSetStrategy(partition: partition), type: "RollingUpdate") }
        if claims {
            spec.volumeClaimTemplates = [CoreV1.PersistentVolumeClaim(
                metadata: MetaV1.ObjectMeta(name: "data"),
                spec: CoreV1.PersistentVolumeClaimSpec(accessModes: ["ReadWriteOnce"],
                                                       resources: CoreV1.VolumeResourceRequirements(requests: ["storage": "1Gi"])))]
        }
        return AppsV1.StatefulSet(metadata: MetaV1.ObjectMeta(name: name, namespace: "default"), spec: spec)
    }

    static func podNames(_ client: APIClient) async throws -> [String] {
        try await client.list(CoreV1.Pod.self, namespace: "default").items.filter { $0.metadata?.deletionTimestamp == nil }
            .compactMap { $0.metadata?.name }.sorted()
    }

    static func pod(_ client: APIClient, _ name: String) async throws -> CoreV1.Pod? {
        try? await client.get(CoreV1.Pod.self, name: name, namespace: "default")
    }

    static func statefulSet(_ client: APIClient, _ name: String = "web") async throws -> AppsV1.StatefulSet {
        try await client.get(AppsV1.StatefulSet.self, name: name, namespace: "default")
    }

    /// Marks the pod Running and Ready, as a kubelet would.
    static func ready(_ client: APIClient, _ name: String) async throws {
        try await PodWrites.setStatus(client, name, phase: "Running", ready: true)
    }

    @Test func orderedReadyComesUpInOrderWithClaimsAndScalesDownInReverse() async throws {
        try await withWorkloadControllers([StatefulSetController()]) { client, _ in
            _ = try await client.create(Self.set(replicas: 3, claims: true))
            for ordinal in 0..<3 {
                let name = "web-\(ordinal)"
                #expect(try await eventually { try await Self.pod(client, name) != nil }, "\(name) is created")
                // The next pod waits for this one to be Running and Ready.
                #expect(try await Self.podNames(client) == (0...ordinal).map { "web-\($0)" })
                let pod = try #require(try await Self.pod(client, name))
                #expect(pod.metadata?.labels?[StatefulSetCore.podNameLabel] == name)
                #expect(pod.metadata?.labels?[StatefulSetCore.podIndexLabel] == String(ordinal))
                #expect(pod.metadata?.labels?[StatefulSetCore.revisionLabel]?.hasPrefix("web-") == true)
                #expect(pod.spec?.hostname == name && pod.spec?.subdomain == "web")
                #expect(pod.spec?.volumes?.first { $0.name == "data" }?.persistentVolumeClaim?.claimName == "data-\(name)")
                let claim = try await client.get(CoreV1.PersistentVolumeClaim.self, name: "data-\(name)", namespace: "default")
                #expect(claim.metadata?.labels?["app"] == "web")
                try await Self.ready(client, name)
            }
            let up = try await eventually {
                let s = try await Self.statefulSet(client).status
                return s?.readyReplicas == 3 && s?.availableReplicas == 3 && s?.updatedReplicas == 3 && s?.currentReplicas == 3
            }
            #expect(up)
            let set = try await Self.statefulSet(client)
            #expect(set.status?.currentRevision == set.status?.updateRevision && set.status?.observedGeneration == set.metadata?.generation)
            let revisions = try await client.list(AppsV1.ControllerRevision.self, namespace: "default").items
            #expect(revisions.count == 1 && revisions.first?.metadata?.name == set.status?.updateRevision && revisions.first?.revision == 1)

            // Scale down: web-2 goes first, then web-1; the claims stay (Retain).
            _ = try await client.patch(AppsV1.StatefulSet.self, name: "web", namespace: "default",
                                       Patch(type: .merge, body: Array(#"{"spec":{"replicas":1}}"#.utf8)))
            #expect(try await eventually { try await Self.podNames(client).count < 3 })
            let afterFirst = try await Self.podNames(client)
            #expect(afterFirst.first == "web-0" && !afterFirst.contains("web-2"), "\(afterFirst)")
            #expect(try await eventually { try await Self.podNames(client) == ["web-0"] })
            let claims = try await client.list(CoreV1.PersistentVolumeClaim.self, namespace: "default").items.compactMap { $0.metadata?.name }.sorted()
            #expect(claims == ["data-web-0", "data-web-1", "data-web-2"])
            #expect(try await eventually { try await Self.statefulSet(client).status?.replicas == 1 })

            let events = try await client.list(CoreV1.Event.self, namespace: "default").items
            let messages = Set(events.compactMap(\.message))
            #expect(messages.contains("create Pod web-0 in StatefulSet web successful"), "\(messages)")
            #expect(messages.contains("create Claim data-web-0 Pod web-0 in StatefulSet web success"), "\(messages)")
            #expect(messages.contains("delete Pod web-2 in StatefulSet web successful"), "\(messages)")
        }
    }

    @Test func parallelCreatesAndDeletesWithoutWaiting() async throws {
        try await withWorkloadControllers([StatefulSetController()]) { client, _ in
            _ = try await client.create(Self.set(replicas: 3, parallel: true))
            // No pod is ever made ready: all three come anyway.
            #expect(try await eventually { try await Self.podNames(client) == ["web-0", "web-1", "web-2"] })
            #expect(try await eventually { try await Self.statefulSet(client).status?.replicas == 3 })
            _ = try await client.patch(AppsV1.StatefulSet.self, name: "web", namespace: "default",
                                       Patch(type: .merge, body: Array(#"{"spec":{"replicas":1}}"#.utf8)))
            #expect(try await eventually { try await Self.podNames(client) == ["web-0"] })
        }
    }

    @Test func adoptsOrphansAndRecreatesFailedPods() async throws {
        try await withWorkloadControllers([StatefulSetController()]) { client, _ in
            // An orphan named after the set, matching its selector, is adopted; another name is not.
            try await PodWrites.create(client, "web-0", labels: ["app": "web"])
            try await PodWrites.create(client, "web-x", labels: ["app": "web"])
            try await Self.ready(client, "web-0")
            // OnDelete: the adopted pod (of no revision) is not replaced.
            var set = Self.set(replicas: 2)
            set.spec?.updateStrategy = AppsV1.StatefulSetUpdateStrategy(type: "OnDelete")
            _ = try await client.create(set)
            let adopted = try await eventually {
                let pod = try await Self.pod(client, "web-0")
                return pod?.metadata?.ownerReferences?.first?.kind == "StatefulSet"
                    && pod?.metadata?.labels?[StatefulSetCore.podNameLabel] == "web-0"
            }
            #expect(adopted)
            #expect(try await eventually { try await Self.pod(client, "web-1") != nil })
            #expect(try await Self.pod(client, "web-x")?.metadata?.ownerReferences == nil)
            try await Self.ready(client, "web-1")
            // A failed pod is deleted and made again.
            let failedUID = try await Self.pod(client, "web-1")?.metadata?.uid
            try await PodWrites.setStatus(client, "web-1", phase: "Failed")
            let recreated = try await eventually {
                guard let pod = try await Self.pod(client, "web-1") else { return false }
                return pod.metadata?.uid != failedUID
            }
            let events = try await client.list(CoreV1.Event.self, namespace: "default").items.compactMap(\.message)
            let pods = try await client.list(CoreV1.Pod.self, namespace: "default").items.map { "\($0.metadata?.name ?? "") \($0.status?.phase ?? "")" }
            #expect(recreated, "\(events) \(pods)")
        }
    }

    static func claimNames(_ client: APIClient) async throws -> [String] {
        try await client.list(CoreV1.PersistentVolumeClaim.self, namespace: "default").items
            .filter { $0.metadata?.deletionTimestamp == nil }.compactMap { $0.metadata?.name }.sorted()
    }

    @Test func claimRetentionPolicyDeletesClaimsWithScaleDownAndSet() async throws {
        try await withWorkloadControllers([StatefulSetController(), GarbageCollectorController()]) { client, _ in
            var set = Self.set(replicas: 2, parallel: true, claims: true)
            set.spec?.persistentVolumeClaimRetentionPolicy = AppsV1.StatefulSetPersistentVolumeClaimRetentionPolicy(whenDeleted: "Delete", whenScaled: "Delete")
            _ = try await client.create(set)
            #expect(try await eventually { try await Self.claimNames(client) == ["data-web-0", "data-web-1"] })
            let owner = try await client.get(CoreV1.PersistentVolumeClaim.self, name: "data-web-0", namespace: "default").metadata?.ownerReferences
            #expect(owner?.map(\.kind) == ["StatefulSet"])
            // whenScaled: Delete — the claim of the removed pod goes with it.
            _ = try await client.patch(AppsV1.StatefulSet.self, name: "web", namespace: "default",
                                       Patch(type: .merge, body: Array(#"{"spec":{"replicas":1}}"#.utf8)))
            let scaled = try await eventually { try await Self.claimNames(client) == ["data-web-0"] }
            if !scaled {
                let claims = try await client.list(CoreV1.PersistentVolumeClaim.self, namespace: "default").items.map {
                    "\($0.metadata?.name ?? "") owners=\(($0.metadata?.ownerReferences ?? []).map { "\($0.kind)/\($0.name)" }) deleting=\($0.metadata?.deletionTimestamp != nil) finalizers=\($0.metadata?.finalizers ?? [])"
                }
                Issue.record("claims after scale down: \(claims) pods: \(try await Self.podNames(client))")
            }
            // whenDeleted: Delete — the rest go with the set.
            try await client.delete(AppsV1.StatefulSet.self, name: "web", namespace: "default")
            let gone = try await eventually { try await Self.claimNames(client).isEmpty }
            let left = try await Self.claimNames(client)
            #expect(gone, "claims after the set's deletion: \(left)")
        }
    }

    /// Runs `body` with the StatefulSet controller, simulated nodes and the scheduler.
    static func withSimulatedNodes(_ body: (APIClient, RunningServer) async throws -> Void) async throws {
        try await withSimulatedCluster([StatefulSetController()], body)
    }

    static func image(_ pod: CoreV1.Pod?) -> String? { pod?.spec?.containers.first?.image }

    @Test func partitionedRollingUpdateOnSimulatedNodes() async throws {
        try await Self.withSimulatedNodes { client, _ in
            _ = try await client.create(Self.set(replicas: 3, claims: true, partition: 2))
            let up = try await eventually(timeout: .seconds(30)) { try await Self.statefulSet(client).status?.readyReplicas == 3 }
            #expect(up)
            let before = try await Self.statefulSet(client)
            let oldRevision = try #require(before.status?.currentRevision)

            _ = try await client.patch(AppsV1.StatefulSet.self, name: "web", namespace: "default",
                                       Patch(type: .strategicMerge, body: Array(#"{"spec":{"template":{"spec":{"containers":[{"name":"db","image":"db:2"}]}}}}"#.utf8)))
            // Only web-2 (ordinal >= partition 2) moves to the new revision.
            let partial = try await eventually(timeout: .seconds(30)) {
                let s = try await Self.statefulSet(client).status
                return s?.updatedReplicas == 1 && s?.readyReplicas == 3 && s?.updateRevision != oldRevision
            }
            if !partial {
                let events = try await client.list(CoreV1.Event.self, namespace: "default").items.compactMap(\.message)
                let pods = try await client.list(CoreV1.Pod.self, namespace: "default").items.map {
                    "\($0.metadata?.name ?? "") \($0.status?.phase ?? "") deleting=\($0.metadata?.deletionTimestamp != nil) node=\($0.spec?.nodeName ?? "-") \($0.metadata?.labels?[StatefulSetCore.revisionLabel] ?? "")"
                }
                Issue.record("not partially rolled: \(try await Self.statefulSet(client).status.debugDescription) \(pods) \(events)")
            }
            #expect(Self.image(try await Self.pod(client, "web-2")) == "db:2")
            #expect(Self.image(try await Self.pod(client, "web-1")) == "db:1")
            #expect(Self.image(try await Self.pod(client, "web-0")) == "db:1")
            let mid = try await Self.statefulSet(client)
            #expect(mid.status?.currentRevision == oldRevision && mid.status?.currentReplicas == 2)
            #expect(try await Self.pod(client, "web-2")?.metadata?.labels?[StatefulSetCore.revisionLabel] == mid.status?.updateRevision)

            // Partition 0: the rest roll, and the update revision becomes current.
            _ = try await client.patch(AppsV1.StatefulSet.self, name: "web", namespace: "default",
                                       Patch(type: .merge, body: Array(#"{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}"#.utf8)))
            let done = try await eventually(timeout: .seconds(40)) {
                let s = try await Self.statefulSet(client).status
                return s?.updatedReplicas == 3 && s?.readyReplicas == 3 && s?.currentRevision == s?.updateRevision
            }
            #expect(done)
            for ordinal in 0..<3 { #expect(Self.image(try await Self.pod(client, "web-\(ordinal)")) == "db:2") }
            let revisions = try await client.list(AppsV1.ControllerRevision.self, namespace: "default").items
            #expect(revisions.map(\.revision).sorted() == [1, 2])
            // The claims outlive the pods they were made for.
            let claims = try await client.list(CoreV1.PersistentVolumeClaim.self, namespace: "default").items.compactMap { $0.metadata?.name }.sorted()
            #expect(claims == ["data-web-0", "data-web-1", "data-web-2"])
        }
    }

    @Test(.enabled(if: Kubectl.available, "kubectl 1.33 is not installed"))
    func kubectlRolloutStatusHistoryAndUndo() async throws {
        try await Self.withSimulatedNodes { client, server in
            try await withTemporaryDirectory { dir in
                let kubectl = Kubectl(kubeconfig: server.kubeconfigPath, workDir: dir)
                _ = try await client.create(Self.set(replicas: 2))
                let status = try await kubectl.run("rollout", "status", "statefulset/web", "--timeout=60s")
                #expect(status.succeeded && status.stdout.contains("roll out complete: 2 new pods have been updated"), "\(status)")

                let setImage = try await kubectl.run("set", "image", "statefulset/web", "db=db:2")
                #expect(setImage.succeeded, "\(setImage)")
                let rolled = try await kubectl.run("rollout", "status", "statefulset/web", "--timeout=60s")
                #expect(rolled.succeeded, "\(rolled)")
                #expect(try await eventually(timeout: .seconds(30)) {
                    let s = try await Self.statefulSet(client).status
                    return s?.updatedReplicas == 2 && s?.currentRevision == s?.updateRevision
                })
                for ordinal in 0..<2 { #expect(Self.image(try await Self.pod(client, "web-\(ordinal)")) == "db:2") }

                let history = try await kubectl.run("rollout", "history", "statefulset/web")
                let rows = history.stdout.split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) ?? "" }
                #expect(history.succeeded && rows.contains("1") && rows.contains("2"), "\(history)")
                let second = try await kubectl.run("rollout", "history", "statefulset/web", "--revision=1")
                #expect(second.succeeded && second.stdout.contains("db:1"), "\(second)")

                let undo = try await kubectl.run("rollout", "undo", "statefulset/web")
                #expect(undo.succeeded && undo.stdout.contains("rolled back"), "\(undo)")
                let back = try await eventually(timeout: .seconds(40)) {
                    let set = try await Self.statefulSet(client)
                    guard set.spec?.template.spec?.containers.first?.image == "db:1", set.status?.updatedReplicas == 2,
                          set.status?.currentRevision == set.status?.updateRevision else { return false }
                    let first = try await Self.pod(client, "web-0"), second = try await Self.pod(client, "web-1")
                    return Self.image(first) == "db:1" && Self.image(second) == "db:1"
                }
                #expect(back)
                // The rollback reused the first revision under a new number.
                let revisions = try await client.list(AppsV1.ControllerRevision.self, namespace: "default").items
                #expect(revisions.map(\.revision).sorted() == [2, 3])
                let after = try await kubectl.run("rollout", "history", "statefulset/web")
                #expect(after.succeeded && after.stdout.contains("3"), "\(after)")
            }
        }
    }
}
