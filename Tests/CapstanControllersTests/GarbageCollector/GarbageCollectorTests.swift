import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import CapstanTesting
import Testing
@testable import CapstanControllers

@Suite struct GarbageCollectorCoreTests {
    static func ref(_ uid: String, block: Bool = false) -> MetaV1.OwnerReference {
        MetaV1.OwnerReference(apiVersion: "v1", kind: "ConfigMap", blockOwnerDeletion: block, name: uid, uid: uid)
    }

    @Test(arguments: [
        ("no owners", [], [], GarbageCollectorCore.Action.none),
        ("solid owner", [(ref("a"), .solid)], [], .none),
        ("one owner gone, one left: drop the reference", [(ref("a"), .solid), (ref("b"), .dangling)], [], .removeOwnerReferences(["b"])),
        ("all owners gone: background", [(ref("a"), .dangling)], [], .delete(propagation: "Background")),
        ("owner in foreground, blocking: foreground", [(ref("a", block: true), .waitingForDependents)], [], .delete(propagation: "Foreground")),
        ("owner in foreground, not blocking", [(ref("a"), .waitingForDependents)], [], .delete(propagation: "Background")),
        ("own orphan finalizer kept", [(ref("a"), .dangling)], ["orphan"], .delete(propagation: "Orphan")),
        ("solid plus waiting: drop the waiting one", [(ref("a"), .solid), (ref("b", block: true), .waitingForDependents)], [], .removeOwnerReferences(["b"])),
    ] as [(String, [(MetaV1.OwnerReference, GarbageCollectorCore.OwnerState)], [String], GarbageCollectorCore.Action)])
    func decisions(_ row: String, owners: [(MetaV1.OwnerReference, GarbageCollectorCore.OwnerState)], finalizers: [String],
                   expected: GarbageCollectorCore.Action) {
        #expect(GarbageCollectorCore.decide(owners: owners.map { (ref: $0.0, state: $0.1) }, ownFinalizers: finalizers) == expected, "\(row)")
    }
}

@Suite struct GarbageCollectorTests {
    static func owned(_ name: String, by owner: CoreV1.ConfigMap, block: Bool = true) -> CoreV1.Secret {
        CoreV1.Secret(metadata: MetaV1.ObjectMeta(name: name, namespace: "default", ownerReferences: [
            MetaV1.OwnerReference(apiVersion: "v1", kind: "ConfigMap", blockOwnerDeletion: block, controller: true, name: owner.name,
                                  uid: owner.objectMeta.uid ?? ""),
        ]))
    }

    static func exists<T: APIObject>(_ client: APIClient, _ type: T.Type, _ name: String) async throws -> Bool {
        do {
            _ = try await client.get(T.self, name: name, namespace: "default")
            return true
        } catch where APIErrors.isNotFound(error) {
            return false
        }
    }

    @Test func backgroundForegroundAndOrphanPropagation() async throws {
        try await withControllers([GarbageCollectorController()], readier: nil) { client in
            // Background: the owner goes at once, then its dependents.
            let bg = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: "bg", namespace: "default")))
            _ = try await client.create(Self.owned("bg-child", by: bg))
            try await client.delete(CoreV1.ConfigMap.self, name: "bg", namespace: "default", options: DeleteOptions(propagationPolicy: .background))
            #expect(try await eventually { try await !Self.exists(client, CoreV1.Secret.self, "bg-child") })

            // Foreground: dependents first, the owner (held by foregroundDeletion) after.
            let fg = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: "fg", namespace: "default")))
            _ = try await client.create(Self.owned("fg-child", by: fg))
            var held = Self.owned("fg-held", by: fg)
            held.objectMeta.finalizers = ["example.com/hold"]
            _ = try await client.create(held)
            try await client.delete(CoreV1.ConfigMap.self, name: "fg", namespace: "default", options: DeleteOptions(propagationPolicy: .foreground))
            #expect(try await eventually { try await !Self.exists(client, CoreV1.Secret.self, "fg-child") })
            // The dependents were created just before the owner's deletion, maybe before the
            // collector's informers saw them: the collector checks the API server before letting go.
            let waiting = try await client.get(CoreV1.ConfigMap.self, name: "fg", namespace: "default")
            #expect(waiting.objectMeta.finalizers == ["foregroundDeletion"], "a blocking dependent remains")
            // The collector is writing this dependent too (it deletes it in the foreground): retry on conflicts.
            #expect(try await eventually {
                var release = try await client.get(CoreV1.Secret.self, name: "fg-held", namespace: "default")
                release.objectMeta.finalizers = release.objectMeta.finalizers?.filter { $0 != "example.com/hold" }
                do {
                    _ = try await client.update(release)
                    return true
                } catch where APIErrors.isConflict(error) {
                    return false
                }
            })
            #expect(try await eventually { try await !Self.exists(client, CoreV1.ConfigMap.self, "fg") })

            // Orphan: dependents stay, without the owner reference.
            let orphan = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: "or", namespace: "default")))
            _ = try await client.create(Self.owned("or-child", by: orphan))
            try await client.delete(CoreV1.ConfigMap.self, name: "or", namespace: "default", options: DeleteOptions(propagationPolicy: .orphan))
            #expect(try await eventually { try await !Self.exists(client, CoreV1.ConfigMap.self, "or") })
            let child = try await client.get(CoreV1.Secret.self, name: "or-child", namespace: "default")
            #expect(child.objectMeta.ownerReferences == nil)
        }
    }

    /// The race of a dependent created just before its owner's foreground deletion, many times
    /// over: the owner must wait for every one of them, whether or not the collector's informers
    /// had seen it when the deletion arrived.
    @Test func foregroundDeletionWaitsForDependentsCreatedJustBefore() async throws {
        try await withControllers([GarbageCollectorController()], readier: nil) { client in
            let names = (0..<10).map { "race-\($0)" }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for name in names {
                    group.addTask {
                        let owner = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: name, namespace: "default")))
                        var held = Self.owned(name + "-held", by: owner)
                        held.objectMeta.finalizers = ["example.com/hold"]
                        _ = try await client.create(held)
                        try await client.delete(CoreV1.ConfigMap.self, name: name, namespace: "default",
                                                options: DeleteOptions(propagationPolicy: .foreground))
                    }
                }
                try await group.waitForAll()
            }
            // Once the collector has deleted a dependent it has seen it; its owner must still be waiting.
            for name in names {
                #expect(try await eventually {
                    try await client.get(CoreV1.Secret.self, name: name + "-held", namespace: "default").metadata?.deletionTimestamp != nil
                })
                let owner = try await client.get(CoreV1.ConfigMap.self, name: name, namespace: "default")
                #expect(owner.objectMeta.finalizers == ["foregroundDeletion"], "\(name) waits for its dependent")
            }
            // Release the dependents: the owners go.
            for name in names {
                #expect(try await eventually {
                    var release = try await client.get(CoreV1.Secret.self, name: name + "-held", namespace: "default")
                    release.objectMeta.finalizers = nil
                    do {
                        _ = try await client.update(release)
                        return true
                    } catch where APIErrors.isConflict(error) {
                        return false
                    }
                })
            }
            #expect(try await eventually { try await client.list(CoreV1.ConfigMap.self, namespace: "default").items.allSatisfy { !names.contains($0.name) } })
        }
    }

    @Test func danglingOwnersAreCollectedAndSurvivingOwnersKept() async throws {
        try await withControllers([GarbageCollectorController()], readier: nil) { client in
            let a = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: "a", namespace: "default")))
            var both = Self.owned("both", by: a)
            both.objectMeta.ownerReferences?.append(MetaV1.OwnerReference(apiVersion: "v1", kind: "ConfigMap", name: "ghost", uid: "no-such-uid"))
            _ = try await client.create(both)
            var lonely = Self.owned("lonely", by: a)
            lonely.objectMeta.ownerReferences = [MetaV1.OwnerReference(apiVersion: "v1", kind: "ConfigMap", name: "ghost", uid: "no-such-uid")]
            _ = try await client.create(lonely)
            #expect(try await eventually { try await !Self.exists(client, CoreV1.Secret.self, "lonely") })
            #expect(try await eventually {
                try await client.get(CoreV1.Secret.self, name: "both", namespace: "default").objectMeta.ownerReferences?.map(\.name) == ["a"]
            })
        }
    }

    @Test func deletingADeploymentRemovesItsReplicaSetsAndPods() async throws {
        try await withControllers([ReplicaSetController(), DeploymentController(), GarbageCollectorController()]) { client in
            _ = try await client.create(DeploymentControllerTests.deployment("gone", replicas: 2, image: "i"))
            #expect(try await eventually { try await client.list(CoreV1.Pod.self, namespace: "default").items.count == 2 })
            try await client.delete(AppsV1.Deployment.self, name: "gone", namespace: "default")
            #expect(try await eventually {
                let pods = try await client.list(CoreV1.Pod.self, namespace: "default").items
                let sets = try await client.list(AppsV1.ReplicaSet.self, namespace: "default").items
                return pods.isEmpty && sets.isEmpty
            })
        }
    }
}
