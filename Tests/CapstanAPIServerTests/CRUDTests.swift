import Foundation
import Testing

@Suite("CRUD and defaults", .tags(.component))
struct CRUDTests {
    static let cms = "/api/v1/namespaces/default/configmaps"

    @Test func configMapLifecycle() async throws {
        try await withServer { s in
            let created = try await s.http.create(Self.cms, Fixtures.configMap("cfg", data: ["a": "1"]))
            #expect(created["kind"]?.string == "ConfigMap")
            #expect(created["apiVersion"]?.string == "v1")
            #expect(created.at("metadata.namespace")?.string == "default")
            #expect(created.at("data.a")?.string == "1")

            let got = try await s.http.object(Self.cms + "/cfg")
            #expect(got == created)

            var updated = got
            updated["data"] = ["a": "2", "b": "3"]
            let put = try await s.http.put(Self.cms + "/cfg", updated)
            #expect(put.status == 200, "\(put)")
            #expect(put.json["data"] == ["a": "2", "b": "3"])

            let patched = try await s.http.patch(Self.cms + "/cfg", ["data": ["b": nil, "c": "4"]])
            #expect(patched.status == 200)
            #expect(patched.json["data"] == ["a": "2", "c": "4"])

            let list = try await s.http.object(Self.cms)
            #expect(list["kind"]?.string == "ConfigMapList")
            #expect(list["apiVersion"]?.string == "v1")
            #expect(list.itemNames.contains("cfg"))
            #expect((list.at("metadata.resourceVersion")?.string ?? "") != "")

            let dup = try await s.http.post(Self.cms, Fixtures.configMap("cfg"))
            expectStatus(dup, 409, "AlreadyExists")
            #expect(dup.json.at("details.name")?.string == "cfg")
            #expect(dup.json.at("details.kind")?.string == "configmaps")

            let del = try await s.http.delete(Self.cms + "/cfg")
            #expect(del.status == 200)
            let gone = try await s.http.get(Self.cms + "/cfg")
            expectStatus(gone, 404, "NotFound")
            #expect(gone.json.at("details.name")?.string == "cfg")
            #expect(gone.json["message"]?.string == "configmaps \"cfg\" not found")
        }
    }

    @Test func secretStringDataIsEncoded() async throws {
        try await withServer { s in
            let secret: JSON = ["apiVersion": "v1", "kind": "Secret", "metadata": ["name": "creds"],
                                "stringData": ["user": "admin"], "data": ["pass": .string(Data("pw".utf8).base64EncodedString())]]
            let created = try await s.http.create("/api/v1/namespaces/default/secrets", secret)
            #expect(created["stringData"] == nil)
            #expect(created.at("data.user")?.string == Data("admin".utf8).base64EncodedString())
            #expect(created.at("data.pass")?.string == Data("pw".utf8).base64EncodedString())
            #expect(created["type"]?.string == "Opaque")
        }
    }

    @Test func podDefaults() async throws {
        try await withServer { s in
            let pod = try await s.http.create("/api/v1/namespaces/default/pods", Fixtures.pod("p", image: "nginx"))
            let spec = try #require(pod["spec"])
            #expect(spec["restartPolicy"]?.string == "Always")
            #expect(spec["dnsPolicy"]?.string == "ClusterFirst")
            #expect(spec["terminationGracePeriodSeconds"]?.int == 30)
            #expect(spec["schedulerName"]?.string == "default-scheduler")
            #expect(spec["serviceAccountName"]?.string == "default")
            #expect(spec["securityContext"] == [:])
            let c = try #require(spec["containers"]?[0])
            #expect(c["terminationMessagePath"]?.string == "/dev/termination-log")
            #expect(c["terminationMessagePolicy"]?.string == "File")
            #expect(c["imagePullPolicy"]?.string == "Always", "nginx has no tag: Always")
            #expect(pod.at("status.phase")?.string == "Pending")
            #expect(pod.at("status.qosClass")?.string == "BestEffort")

            let tagged = try await s.http.create("/api/v1/namespaces/default/pods", Fixtures.pod("q", image: "nginx:1.27"))
            #expect(tagged.at("spec.containers.0.imagePullPolicy")?.string == "IfNotPresent")

            var guaranteed = Fixtures.pod("g", image: "nginx:latest")
            guaranteed["spec"]?["containers"] = [["name": "c", "image": "nginx:latest",
                                                  "resources": ["limits": ["cpu": "100m", "memory": "64Mi"]]]]
            let g = try await s.http.create("/api/v1/namespaces/default/pods", guaranteed)
            #expect(g.at("spec.containers.0.imagePullPolicy")?.string == "Always")
            #expect(g.at("status.qosClass")?.string == "Guaranteed")
            // Requests default to the limits.
            fixedBug("fixed: container resources.requests are not defaulted from resources.limits") {
                #expect(g.at("spec.containers.0.resources.requests.cpu")?.string == "100m")
            }

            var burstable = Fixtures.pod("b")
            burstable["spec"]?["containers"] = [["name": "c", "image": "nginx", "resources": ["requests": ["cpu": "50m"]]]]
            let b = try await s.http.create("/api/v1/namespaces/default/pods", burstable)
            #expect(b.at("status.qosClass")?.string == "Burstable")
        }
    }

    @Test func deploymentDefaults() async throws {
        try await withServer { s in
            var d = Fixtures.deployment("web")
            d["spec"]?["replicas"] = nil
            let created = try await s.http.create("/apis/apps/v1/namespaces/default/deployments", d)
            let spec = try #require(created["spec"])
            #expect(spec["replicas"]?.int == 1)
            #expect(spec["strategy"] == ["type": "RollingUpdate", "rollingUpdate": ["maxUnavailable": "25%", "maxSurge": "25%"]])
            #expect(spec["revisionHistoryLimit"]?.int == 10)
            #expect(spec["progressDeadlineSeconds"]?.int == 600)
            #expect(spec.at("template.spec.restartPolicy")?.string == "Always")
            #expect(spec.at("template.spec.containers.0.terminationMessagePath")?.string == "/dev/termination-log")
            #expect(created.at("metadata.generation")?.int == 1)
        }
    }

    @Test func serviceAllocation() async throws {
        try await withServer { s in
            let svc = try await s.http.create("/api/v1/namespaces/default/services", Fixtures.service("web"))
            let ip = try #require(svc.at("spec.clusterIP")?.string)
            #expect(ip.hasPrefix("10.43."), "\(ip)")
            #expect(ip != "10.43.0.1", "10.43.0.1 belongs to the kubernetes Service")
            #expect(svc.at("spec.clusterIPs") == .array([.string(ip)]))
            #expect(svc.at("spec.sessionAffinity")?.string == "None")
            #expect(svc.at("spec.ports.0.protocol")?.string == "TCP")
            #expect(svc.at("spec.ipFamilies") == ["IPv4"])

            let np = try await s.http.create("/api/v1/namespaces/default/services", Fixtures.service("np", type: "NodePort"))
            let nodePort = try #require(np.at("spec.ports.0.nodePort")?.int)
            #expect((30000...32767).contains(nodePort), "\(nodePort)")
            #expect(np.at("spec.clusterIP")?.string != ip)
            #expect(np.at("spec.externalTrafficPolicy")?.string == "Cluster")

            // A requested nodePort already taken is 422.
            var clash = Fixtures.service("clash", type: "NodePort")
            clash["spec"]?["ports"] = [["port": 80, "nodePort": .int(Int64(nodePort))]]
            let r = try await s.http.post("/api/v1/namespaces/default/services", clash)
            expectStatus(r, 422, "Invalid")

            let kubernetes = try await s.http.object("/api/v1/namespaces/default/services/kubernetes")
            #expect(kubernetes.at("spec.clusterIP")?.string == "10.43.0.1")

            // Deleting a Service releases its IP for reuse (no error on re-create with it).
            _ = try await s.http.delete("/api/v1/namespaces/default/services/web")
            var again = Fixtures.service("web2")
            again["spec"]?["clusterIP"] = .string(ip)
            let reuse = try await s.http.post("/api/v1/namespaces/default/services", again)
            #expect(reuse.status == 201, "\(reuse)")
        }
    }

    @Test func namespaceLifecycle() async throws {
        try await withServer { s in
            let ns = try await s.http.create("/api/v1/namespaces", Fixtures.namespace("team-a"))
            #expect(ns.at("status.phase")?.string == "Active")
            #expect(ns.at("spec.finalizers") == ["kubernetes"])
            #expect(ns["metadata"]?["labels"]?["kubernetes.io/metadata.name"]?.string == "team-a")
            let list = try await s.http.object("/api/v1/namespaces")
            for name in ["default", "kube-system", "kube-public", "kube-node-lease", "team-a"] {
                #expect(list.itemNames.contains(name), "namespace \(name)")
            }
            let del = try await s.http.delete("/api/v1/namespaces/team-a")
            #expect(del.status == 200)
            #expect(del.json.at("status.phase")?.string == "Terminating")
            #expect(del.json.at("metadata.deletionTimestamp") != nil)
            let forbidden = try await s.http.delete("/api/v1/namespaces/default")
            expectStatus(forbidden, 403, "Forbidden")
        }
    }

    @Test func clusterScopedObjectIgnoresNamespace() async throws {
        try await withServer { s in
            var ns = Fixtures.namespace("x1")
            ns["metadata"]?["namespace"] = "default"
            let created = try await s.http.create("/api/v1/namespaces", ns)
            #expect(created.at("metadata.namespace") == nil)
            // Cluster-scoped resources have no namespaced path.
            let r = try await s.http.get("/api/v1/namespaces/default/nodes")
            expectStatus(r, 404, "NotFound")
        }
    }

    @Test func sqliteStoragePersistsAcrossRestart() async throws {
        let first = try await TestServer.start(store: .sqlite)
        let dir = first.directory
        do {
            try await first.http.create(Self.cms, Fixtures.configMap("kept", data: ["x": "y"]))
            let ns = try await first.http.create("/api/v1/namespaces", Fixtures.namespace("durable"))
            #expect(ns.at("status.phase")?.string == "Active")
        } catch {
            await first.stop()
            throw error
        }
        await first.stop(keepDirectory: true)
        var restarted: TestServer?
        try await fixedBug("fixed: a server restarted on its data directory fails: bootstrap re-allocates 10.43.0.1 for the existing kubernetes Service (422)") {
            restarted = try await TestServer.start(store: .sqlite, directory: dir)
        }
        guard let second = restarted else {
            try? FileManager.default.removeItem(atPath: dir)
            return
        }
        do {
            let cm = try await second.http.object(Self.cms + "/kept")
            #expect(cm.at("data.x")?.string == "y")
            let ns = try await second.http.get("/api/v1/namespaces/durable")
            #expect(ns.status == 200)
            // Bootstrap is idempotent: one kubernetes Service, still 10.43.0.1.
            let svc = try await second.http.object("/api/v1/namespaces/default/services/kubernetes")
            #expect(svc.at("spec.clusterIP")?.string == "10.43.0.1")
            // A new Service does not reuse an allocated IP after restart.
            let a = try await second.http.create("/api/v1/namespaces/default/services", Fixtures.service("a"))
            let b = try await second.http.create("/api/v1/namespaces/default/services", Fixtures.service("b"))
            #expect(a.at("spec.clusterIP") != b.at("spec.clusterIP"))
        } catch {
            await second.stop()
            throw error
        }
        await second.stop()
    }
}
