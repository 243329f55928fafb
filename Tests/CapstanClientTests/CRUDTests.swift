import CapstanTesting
import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import Testing

@Suite("Typed and raw requests against a real API server", .tags(.component))
struct CRUDTests {
    @Test func configMapLifecycle() async throws {
        try await withClient { client, _ in
            let created = try await client.create(CoreV1.ConfigMap(
                metadata: MetaV1.ObjectMeta(labels: ["app": "web"], name: "settings", namespace: "default"),
                data: ["color": "blue"]))
            #expect(created.name == "settings")
            #expect(created.objectMeta.uid?.isEmpty == false)
            let rv1 = try #require(created.resourceVersion)

            var fetched = try await client.get(CoreV1.ConfigMap.self, name: "settings", namespace: "default")
            #expect(fetched.data == ["color": "blue"])
            #expect(fetched.resourceVersion == rv1)

            fetched.data?["size"] = "large"
            let updated = try await client.update(fetched)
            #expect(updated.data == ["color": "blue", "size": "large"])
            #expect(updated.resourceVersion != rv1)

            let patched = try await client.patch(CoreV1.ConfigMap.self, name: "settings", namespace: "default",
                                                 .merge(.object(["data": .object(["color": .null, "shape": .string("round")])])))
            #expect(patched.data == ["size": "large", "shape": "round"])

            let jsonPatched = try await client.patch(CoreV1.ConfigMap.self, name: "settings", namespace: "default",
                                                     .json([.object(["op": .string("add"), "path": .string("/data/extra"), "value": .string("1")])]))
            #expect(jsonPatched.data?["extra"] == "1")

            let strategic = try await client.patch(CoreV1.ConfigMap.self, name: "settings", namespace: "default",
                                                   .strategicMerge(.object(["metadata": .object(["labels": .object(["tier": .string("front")])])])))
            #expect(strategic.objectMeta.labels == ["app": "web", "tier": "front"])

            let list = try await client.list(CoreV1.ConfigMap.self, namespace: "default")
            #expect(list.items.contains { $0.name == "settings" })
            #expect(!list.resourceVersion.isEmpty)

            let deleted = try await client.delete(CoreV1.ConfigMap.self, name: "settings", namespace: "default")
            #expect(deleted == nil)  // a Status, not the object
            await #expect { try await client.get(CoreV1.ConfigMap.self, name: "settings", namespace: "default") } throws: { error in
                (error as? APIError)?.code == 404
            }
        }
    }

    @Test func defaultNamespaceComesFromTheObjectThenTheClient() async throws {
        try await withClient({ $0.namespace = "kube-system" }) { client, _ in
            _ = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: "in-client-ns")))
            _ = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: "in-object-ns", namespace: "default")))
            #expect(try await client.get(CoreV1.ConfigMap.self, name: "in-client-ns").namespace == "kube-system")
            #expect(try await client.get(CoreV1.ConfigMap.self, name: "in-object-ns", namespace: "default").namespace == "default")
            // nil lists all namespaces.
            let all = try await client.list(CoreV1.ConfigMap.self)
            #expect(Set(all.items.compactMap(\.namespace)).isSuperset(of: ["kube-system", "default"]))
        }
    }

    @Test func podsStatusAndBinding() async throws {
        try await withClient { client, _ in
            _ = try await client.create(CoreV1.Node(metadata: MetaV1.ObjectMeta(name: "node-1")))
            let pod = try await client.create(CoreV1.Pod(
                metadata: MetaV1.ObjectMeta(name: "web", namespace: "default"),
                spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: "nginx", name: "nginx")])))
            #expect(pod.spec?.nodeName == nil)

            try await client.bind(pod: "web", namespace: "default", node: "node-1")
            var bound = try await client.get(CoreV1.Pod.self, name: "web", namespace: "default")
            #expect(bound.status?.conditions?.contains { $0.type == "PodScheduled" && $0.status == "True" } == true)
            #expect(bound.spec?.nodeName == "node-1")

            bound.status = CoreV1.PodStatus(phase: "Running", podIP: "10.42.0.5")
            let withStatus = try await client.updateStatus(bound)
            #expect(withStatus.status?.phase == "Running")
            #expect(withStatus.status?.podIP == "10.42.0.5")

            // Binding an already bound pod conflicts.
            await #expect { try await client.bind(pod: "web", namespace: "default", node: "node-2") } throws: { error in
                (error as? APIError)?.code == 409
            }

            let deleted = try await client.delete(CoreV1.Pod.self, name: "web", namespace: "default",
                                                  options: DeleteOptions(gracePeriodSeconds: 0))
            #expect(deleted?.name == "web")  // pods answer with the object
        }
    }

    @Test func errorsCarryTheServersStatus() async throws {
        try await withClient { client, _ in
            // 404
            do {
                _ = try await client.get(CoreV1.ConfigMap.self, name: "missing", namespace: "default")
                Issue.record("expected 404")
            } catch let error as APIError {
                #expect(error.code == 404)
                #expect(error.reason == .notFound)
                #expect(error.message == #"configmaps "missing" not found"#)
                #expect(error.details?.name == "missing")
            }
            // 409 AlreadyExists
            let first = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: "dup", namespace: "default")))
            do {
                _ = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: "dup", namespace: "default")))
                Issue.record("expected 409")
            } catch let error as APIError {
                #expect(error.code == 409)
                #expect(error.reason == .alreadyExists)
            }
            // 409 Conflict on a stale resourceVersion
            var stale = first
            stale.data = ["a": "1"]
            _ = try await client.update(stale)
            stale.data = ["a": "2"]
            do {
                _ = try await client.update(stale)
                Issue.record("expected a conflict")
            } catch let error as APIError {
                #expect(error.code == 409)
                #expect(error.reason == .conflict)
            }
            // 422 Invalid, with causes
            do {
                _ = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: "Not_Valid", namespace: "default")))
                Issue.record("expected 422")
            } catch let error as APIError {
                #expect(error.code == 422)
                #expect(error.reason == .invalid)
                #expect(error.details?.causes.first?.field == "metadata.name")
            }
            // Delete preconditions
            let current = try await client.get(CoreV1.ConfigMap.self, name: "dup", namespace: "default")
            await #expect {
                try await client.delete(CoreV1.ConfigMap.self, name: "dup", namespace: "default",
                                        options: DeleteOptions(preconditionUID: "not-the-uid"))
            } throws: { ($0 as? APIError)?.code == 409 }
            try await client.delete(CoreV1.ConfigMap.self, name: "dup", namespace: "default",
                                    options: DeleteOptions(preconditionUID: current.objectMeta.uid))
        }
    }

    @Test func rawJSONVariants() async throws {
        try await withClient { client, _ in
            let secrets = try #require(APIResource(apiVersion: "v1", kind: "Secret"))
            let created = try await client.create(secrets, .object([
                "apiVersion": .string("v1"), "kind": .string("Secret"),
                "metadata": .object(["name": .string("token"), "namespace": .string("default")]),
                "stringData": .object(["password": .string("hunter2")]),
            ]))
            #expect(created["metadata"]?["name"] == .string("token"))
            var fetched = try await client.get(secrets, name: "token", namespace: "default")
            #expect(fetched["data"]?["password"] == .string("aHVudGVyMg=="))
            guard case .object(var o) = fetched else { Issue.record("not an object"); return }
            o["type"] = .string("Opaque")
            o["data"] = .object(["password": .string("c2VjcmV0")])
            fetched = try await client.update(secrets, .object(o))
            #expect(fetched["data"]?["password"] == .string("c2VjcmV0"))
            let patched = try await client.patch(secrets, name: "token", namespace: "default",
                                                 .merge(.object(["metadata": .object(["labels": .object(["k": .string("v")])])])))
            #expect(patched["metadata"]?["labels"]?["k"] == .string("v"))
            let list = try await client.list(secrets, namespace: "default", options: ListOptions(labelSelector: "k=v"))
            #expect(list.items.count == 1)
            let status = try await client.delete(secrets, name: "token", namespace: "default")
            #expect(status["kind"] == .string("Status"))

            // The raw request API for anything else.
            let version = try await client.request(method: .get, path: "/version")
            #expect(version.status == 200)
            #expect(version.headers["content-type"]?.hasPrefix("application/json") == true)
            #expect(try JSONValue.parse(version.body)["major"] == .string("1"))
        }
    }

    @Test func clusterScopedResources() async throws {
        try await withClient { client, _ in
            let ns = try await client.create(CoreV1.Namespace(metadata: MetaV1.ObjectMeta(name: "team-a")))
            #expect(ns.name == "team-a")
            let namespaces = try await client.list(CoreV1.Namespace.self)
            #expect(Set(namespaces.items.map(\.name)).isSuperset(of: ["default", "kube-system", "team-a"]))
        }
    }
}
