import Testing

@Suite("Delete, finalizers, dry run, namespaces", .tags(.component))
struct DeleteTests {
    static let pods = "/api/v1/namespaces/default/pods"
    static let patchK2: JSON = ["data": ["k": "2"]]

    @Test func immediateDeleteReturnsSuccessStatus() async throws {
        try await withServer { s in
            let created = try await s.http.create(CRUDTests.cms, Fixtures.configMap("d"))
            let r = try await s.http.delete(CRUDTests.cms + "/d")
            #expect(r.status == 200)
            #expect(r.json["kind"]?.string == "Status")
            #expect(r.json["status"]?.string == "Success")
            #expect(r.json.at("details.name")?.string == "d")
            #expect(r.json.at("details.kind")?.string == "configmaps")
            #expect(r.json.at("details.uid") == created.at("metadata.uid"))
            let again = try await s.http.delete(CRUDTests.cms + "/d")
            expectStatus(again, 404, "NotFound")
        }
    }

    @Test func finalizersKeepTheObjectUntilRemoved() async throws {
        try await withServer { s in
            var cm = Fixtures.configMap("fin")
            cm["metadata"]?["finalizers"] = ["example.com/hold"]
            try await s.http.create(CRUDTests.cms, cm)
            let r = try await s.http.delete(CRUDTests.cms + "/fin")
            #expect(r.status == 200, "\(r)")
            #expect(r.json["kind"]?.string == "ConfigMap", "the object comes back while finalizers remain: \(r)")
            #expect(r.json.at("metadata.deletionTimestamp")?.string != nil)
            fixedBug("fixed: a delete held by finalizers sets no deletionGracePeriodSeconds: 0") {
                #expect(r.json.at("metadata.deletionGracePeriodSeconds")?.int == 0)
            }

            let still = try await s.http.object(CRUDTests.cms + "/fin")
            #expect(still.at("metadata.deletionTimestamp") != nil)
            #expect(still.at("metadata.finalizers") == ["example.com/hold"])

            // Adding a finalizer after deletion started is refused or dropped.
            let add = try await s.http.patch(CRUDTests.cms + "/fin", ["metadata": ["finalizers": ["example.com/hold", "example.com/new"]]])
            #expect(add.status == 200 || add.status == 422, "\(add)")
            let afterAdd = try await s.http.object(CRUDTests.cms + "/fin")
            #expect(afterAdd.at("metadata.finalizers") == ["example.com/hold"])

            // A second delete changes nothing.
            let second = try await s.http.delete(CRUDTests.cms + "/fin")
            #expect(second.status == 200)
            #expect(try await s.http.get(CRUDTests.cms + "/fin").status == 200)

            // Removing the last finalizer deletes it.
            let removed = try await s.http.patch(CRUDTests.cms + "/fin", ["metadata": ["finalizers": nil]])
            #expect(removed.status == 200, "\(removed)")
            let gone = try await s.http.get(CRUDTests.cms + "/fin")
            expectStatus(gone, 404, "NotFound")
        }
    }

    @Test func propagationPoliciesRecordFinalizers() async throws {
        try await withServer { s in
            try await s.http.create(MetadataTests.deployments, Fixtures.deployment("fg"))
            let fg = try await s.http.delete(MetadataTests.deployments + "/fg", ["propagationPolicy": "Foreground"])
            #expect(fg.status == 200, "\(fg)")
            #expect(fg.json.at("metadata.finalizers") == ["foregroundDeletion"])
            #expect(fg.json.at("metadata.deletionTimestamp") != nil)
            // Kubernetes (markAsDeleting) sets deletionGracePeriodSeconds 0 and bumps generation.
            fixedBug("fixed: a delete held by finalizers sets no deletionGracePeriodSeconds: 0 and does not bump generation") {
                #expect(fg.json.at("metadata.deletionGracePeriodSeconds")?.int == 0, "\(fg)")
                #expect(fg.json.at("metadata.generation")?.int == 2, "\(fg)")
            }

            try await s.http.create(MetadataTests.deployments, Fixtures.deployment("or"))
            let or = try await s.http.send("DELETE", MetadataTests.deployments + "/or?propagationPolicy=Orphan")
            #expect(or.json.at("metadata.finalizers") == ["orphan"])

            try await s.http.create(MetadataTests.deployments, Fixtures.deployment("bg"))
            let bg = try await s.http.delete(MetadataTests.deployments + "/bg", ["propagationPolicy": "Background"])
            #expect(bg.json["kind"]?.string == "Status")
            let bad = try await s.http.send("DELETE", MetadataTests.deployments + "/fg?propagationPolicy=Sideways")
            expectStatus(bad, 400, "BadRequest")
        }
    }

    @Test func boundPodIsDeletedGracefully() async throws {
        try await withServer { s in
            // Never scheduled: removed at once, the pod comes back as the last state.
            try await s.http.create(Self.pods, Fixtures.pod("unbound"))
            let u = try await s.http.delete(Self.pods + "/unbound")
            #expect(u.status == 200)
            #expect(try await s.http.get(Self.pods + "/unbound").status == 404)

            // Bound to a node: deletionTimestamp = now + grace; the node agent finishes it.
            try await s.http.create(Self.pods, Fixtures.pod("bound", nodeName: "node-1"))
            let r = try await s.http.delete(Self.pods + "/bound")
            #expect(r.status == 200)
            #expect(r.json["kind"]?.string == "Pod")
            #expect(r.json.at("metadata.deletionGracePeriodSeconds")?.int == 30)
            #expect(r.json.at("metadata.deletionTimestamp") != nil)
            let still = try await s.http.get(Self.pods + "/bound")
            #expect(still.status == 200)

            // A shorter grace period shortens it; a longer one does not extend it.
            let shorter = try await s.http.delete(Self.pods + "/bound", ["gracePeriodSeconds": 5])
            #expect(shorter.json.at("metadata.deletionGracePeriodSeconds")?.int == 5)
            let longer = try await s.http.delete(Self.pods + "/bound", ["gracePeriodSeconds": 60])
            #expect(longer.json.at("metadata.deletionGracePeriodSeconds")?.int == 5)

            // The node agent's final delete with grace 0 and a uid precondition removes it.
            let uid = try #require(r.json.at("metadata.uid")?.string)
            let final = try await s.http.delete(Self.pods + "/bound", ["gracePeriodSeconds": 0, "preconditions": ["uid": .string(uid)]])
            #expect(final.status == 200)
            #expect(try await s.http.get(Self.pods + "/bound").status == 404)

            // --force --grace-period=0 removes a bound pod at once.
            try await s.http.create(Self.pods, Fixtures.pod("forced", nodeName: "node-1"))
            let forced = try await s.http.send("DELETE", Self.pods + "/forced?gracePeriodSeconds=0")
            #expect(forced.status == 200)
            #expect(try await s.http.get(Self.pods + "/forced").status == 404)
        }
    }

    @Test func deleteCollectionWithLabelSelector() async throws {
        try await withServer { s in
            for i in 0..<4 {
                try await s.http.create(CRUDTests.cms, Fixtures.configMap("x\(i)", labels: ["app": i < 3 ? "gone" : "kept"]))
            }
            let r = try await s.http.send("DELETE", CRUDTests.cms + "?labelSelector=app%3Dgone")
            #expect(r.status == 200, "\(r)")
            let left = try await s.http.object(CRUDTests.cms)
            #expect(left.itemNames.filter { $0.hasPrefix("x") } == ["x3"])
            // Other namespaces are untouched.
            try await s.http.create("/api/v1/namespaces", Fixtures.namespace("other"))
            try await s.http.create("/api/v1/namespaces/other/configmaps", Fixtures.configMap("y", labels: ["app": "gone"]))
            _ = try await s.http.send("DELETE", CRUDTests.cms + "?labelSelector=app%3Dgone")
            #expect(try await s.http.get("/api/v1/namespaces/other/configmaps/y").status == 200)
        }
    }

    @Test func dryRunLeavesNothingBehind() async throws {
        try await withServer { s in
            let before = try await s.http.object(CRUDTests.cms)
            let rv = before.at("metadata.resourceVersion")?.string
            let dry = try await s.http.post(CRUDTests.cms, Fixtures.configMap("dry"), query: "?dryRun=All")
            #expect(dry.status == 201, "\(dry)")
            #expect(dry.json.at("metadata.uid") != nil)
            #expect(dry.json.at("metadata.name")?.string == "dry")
            #expect(try await s.http.get(CRUDTests.cms + "/dry").status == 404)

            // Dry-run create with generateName, of a Service (no IP kept allocated).
            let svc = try await s.http.post("/api/v1/namespaces/default/services", Fixtures.service("drysvc"), query: "?dryRun=All")
            #expect(svc.status == 201)
            #expect(try await s.http.get("/api/v1/namespaces/default/services/drysvc").status == 404)

            try await s.http.create(CRUDTests.cms, Fixtures.configMap("real", data: ["k": "1"]))
            let real = try await s.http.object(CRUDTests.cms + "/real")
            let dryPatch = try await s.http.send("PATCH", CRUDTests.cms + "/real?dryRun=All", body: Self.patchK2.data,
                                                 contentType: "application/merge-patch+json")
            #expect(dryPatch.status == 200)
            #expect(dryPatch.json.at("data.k")?.string == "2")
            var put = real
            put["data"] = ["k": "3"]
            let dryPut = try await s.http.send("PUT", CRUDTests.cms + "/real?dryRun=All", body: put.data)
            #expect(dryPut.status == 200)
            let dryDelete = try await s.http.send("DELETE", CRUDTests.cms + "/real?dryRun=All")
            #expect(dryDelete.status == 200)
            let after = try await s.http.object(CRUDTests.cms + "/real")
            #expect(after == real, "dry runs changed the object")

            let badDry = try await s.http.post(CRUDTests.cms, Fixtures.configMap("dry2"), query: "?dryRun=Some")
            expectStatus(badDry, 400, "BadRequest")
            _ = rv
        }
    }

    @Test func namespacedCreateNeedsAnActiveNamespace() async throws {
        try await withServer { s in
            let missing = try await s.http.post("/api/v1/namespaces/nowhere/configmaps", Fixtures.configMap("a"))
            expectStatus(missing, 404, "NotFound")
            #expect(missing.json.at("details.kind")?.string == "namespaces")
            #expect(missing.json.at("details.name")?.string == "nowhere")

            try await s.http.create("/api/v1/namespaces", Fixtures.namespace("ending"))
            try await s.http.create("/api/v1/namespaces/ending/configmaps", Fixtures.configMap("before"))
            _ = try await s.http.delete("/api/v1/namespaces/ending")
            let ns = try await s.http.object("/api/v1/namespaces/ending")
            #expect(ns.at("status.phase")?.string == "Terminating")
            let terminating = try await s.http.post("/api/v1/namespaces/ending/configmaps", Fixtures.configMap("after"))
            expectStatus(terminating, 403, "Forbidden", messageContains: "because it is being terminated")
            // Updates to existing content still work.
            let patch = try await s.http.patch("/api/v1/namespaces/ending/configmaps/before", ["data": ["k": "2"]])
            #expect(patch.status == 200)

            // Body namespace mismatch: 400.
            var cm = Fixtures.configMap("mismatch")
            cm["metadata"]?["namespace"] = "kube-system"
            let mismatch = try await s.http.post(CRUDTests.cms, cm)
            expectStatus(mismatch, 400, "BadRequest")
        }
    }
}
