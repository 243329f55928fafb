import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import CapstanTesting
import Foundation
import Testing
@testable import CapstanControllers

@Suite struct NamespaceControllerTests {
    @Test func conditionsReportRemainingContentAndFinalizers() {
        var remaining = NamespaceCore.Remaining()
        remaining.resources = ["pods": 2, "configmaps": 1]
        remaining.finalizers = ["example.com/hold": 1]
        let now = Date(timeIntervalSince1970: 1_000)
        let conditions = NamespaceCore.conditions(remaining, previous: nil, now: now)
        let byType = Dictionary(uniqueKeysWithValues: conditions.map { ($0.type, $0) })
        #expect(conditions.count == 5)
        #expect(byType["NamespaceContentRemaining"]?.status == "True" && byType["NamespaceContentRemaining"]?.reason == "SomeResourcesRemain")
        #expect(byType["NamespaceContentRemaining"]?.message == "Some resources are remaining: configmaps has 1 resource instances, pods has 2 resource instances")
        #expect(byType["NamespaceFinalizersRemaining"]?.reason == "SomeFinalizersRemain")
        #expect(byType["NamespaceDeletionDiscoveryFailure"]?.status == "False" && byType["NamespaceDeletionDiscoveryFailure"]?.reason == "ResourcesDiscovered")
        #expect(byType["NamespaceDeletionContentFailure"]?.reason == "ContentDeleted")
        let later = NamespaceCore.conditions(remaining, previous: conditions, now: now + 60)
        #expect(later.first { $0.type == "NamespaceContentRemaining" }?.lastTransitionTime == MetaV1.Time(now), "unchanged status keeps its time")
        #expect(NamespaceCore.finalizersAfterEmptying(["kubernetes", "other"]) == ["other"])
    }

    @Test func newNamespacesGetTheDefaultServiceAccountAndRootCA() async throws {
        let controllers: [any Controller] = [ServiceAccountController(), RootCACertPublisher()]
        try await withClient { client, _ in
            let manager = try ControllerManager(client: client, controllers: controllers, clusterCAPEM: "-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n",
                                                leaderElection: nil)
            let run = Task { try await manager.run() }
            _ = try await client.create(CoreV1.Namespace(metadata: MetaV1.ObjectMeta(name: "team")))
            #expect(try await eventually {
                let sa = try? await client.get(CoreV1.ServiceAccount.self, name: "default", namespace: "team")
                let cm = try? await client.get(CoreV1.ConfigMap.self, name: "kube-root-ca.crt", namespace: "team")
                return sa != nil && cm?.data?["ca.crt"]?.contains("TEST") == true
            })
            // Tampering is undone.
            var cm = try await client.get(CoreV1.ConfigMap.self, name: "kube-root-ca.crt", namespace: "team")
            cm.data = ["ca.crt": "forged"]
            _ = try await client.update(cm)
            try await client.delete(CoreV1.ServiceAccount.self, name: "default", namespace: "team")
            #expect(try await eventually {
                let sa = try? await client.get(CoreV1.ServiceAccount.self, name: "default", namespace: "team")
                let cm = try? await client.get(CoreV1.ConfigMap.self, name: "kube-root-ca.crt", namespace: "team")
                return sa != nil && cm?.data?["ca.crt"]?.contains("TEST") == true
            })
            run.cancel()
            try await run.value
        }
    }

    @Test func deletingANamespaceEmptiesItThenRemovesIt() async throws {
        try await withControllers([NamespaceController(recheck: .milliseconds(100))], readier: nil) { client in
            _ = try await client.create(CoreV1.Namespace(metadata: MetaV1.ObjectMeta(name: "doomed")))
            _ = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: "a", namespace: "doomed"), data: ["k": "v"]))
            _ = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(finalizers: ["example.com/hold"], name: "held", namespace: "doomed")))
            _ = try await client.create(CoreV1.Secret(metadata: MetaV1.ObjectMeta(name: "s", namespace: "doomed")))
            let ns = try await client.get(CoreV1.Namespace.self, name: "doomed")
            #expect(ns.spec?.finalizers == ["kubernetes"], "the API server adds the kubernetes finalizer")
            try await client.delete(CoreV1.Namespace.self, name: "doomed")
            #expect(try await eventually {
                let secrets = try await client.list(CoreV1.Secret.self, namespace: "doomed").items
                let configMaps = try await client.list(CoreV1.ConfigMap.self, namespace: "doomed").items
                return secrets.isEmpty && configMaps.map(\.name) == ["held"]
            })
            let terminating = try await client.get(CoreV1.Namespace.self, name: "doomed")
            #expect(terminating.status?.phase == "Terminating", "held back by the finalizer of its last object")
            var held = try await client.get(CoreV1.ConfigMap.self, name: "held", namespace: "doomed")
            held.objectMeta.finalizers = nil
            _ = try await client.update(held)
            #expect(try await eventually {
                do {
                    _ = try await client.get(CoreV1.Namespace.self, name: "doomed")
                    return false
                } catch {
                    return APIErrors.isNotFound(error)
                }
            })
        }
    }
}

@Suite struct NamespaceConditionsTests {
    /// A terminating namespace stays (its spec.finalizers remain) while the controller reports
    /// what holds it up.
    @Test func conditionsAreReportedWhileContentRemains() async throws {
        try await withControllers([NamespaceController(recheck: .milliseconds(100))], readier: nil) { client in
            _ = try await client.create(CoreV1.Namespace(metadata: MetaV1.ObjectMeta(name: "held-ns")))
            _ = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(finalizers: ["example.com/hold"], name: "held", namespace: "held-ns")))
            try await client.delete(CoreV1.Namespace.self, name: "held-ns")
            #expect(try await eventually {
                let ns = try await client.get(CoreV1.Namespace.self, name: "held-ns")
                let remaining = ns.status?.conditions?.first { $0.type == "NamespaceContentRemaining" }
                return ns.status?.conditions?.first { $0.type == "NamespaceFinalizersRemaining" }?.status == "True"
                    && remaining?.reason == "SomeResourcesRemain" && ns.status?.phase == "Terminating"
            })
        }
    }
}
