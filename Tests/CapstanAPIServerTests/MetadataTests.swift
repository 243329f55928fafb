import Foundation
import Testing

@Suite("Object metadata and optimistic concurrency", .tags(.component))
struct MetadataTests {
    static let deployments = "/apis/apps/v1/namespaces/default/deployments"

    @Test func systemFieldsAreSetByTheServer() async throws {
        try await withServer { s in
            var cm = Fixtures.configMap("m")
            cm["metadata"]?["uid"] = "client-chosen"
            cm["metadata"]?["resourceVersion"] = "12345"
            cm["metadata"]?["creationTimestamp"] = "2001-01-01T00:00:00Z"
            let created = try await s.http.create(CRUDTests.cms, cm)
            let meta = try #require(created["metadata"])
            let uid = try #require(meta["uid"]?.string)
            #expect(uid != "client-chosen")
            #expect(UUID(uuidString: uid) != nil, "uid is a UUID: \(uid)")
            #expect(uid == uid.lowercased())
            #expect(meta["resourceVersion"]?.string != "12345")
            let ts = try #require(meta["creationTimestamp"]?.string)
            #expect(ts != "2001-01-01T00:00:00Z")
            // RFC 3339, UTC, second precision.
            #expect(ts.count == 20 && ts.hasSuffix("Z"), "\(ts)")
            let date = try #require(ISO8601DateFormatter().date(from: ts))
            #expect(abs(date.timeIntervalSinceNow) < 60)
            // ConfigMaps have no spec: no generation.
            #expect(meta["generation"] == nil)
            #expect(meta["selfLink"] == nil)
        }
    }

    @Test func generationIsBumpedOnlyBySpecChanges() async throws {
        try await withServer { s in
            let path = Self.deployments + "/web"
            let created = try await s.http.create(Self.deployments, Fixtures.deployment("web"))
            #expect(created.at("metadata.generation")?.int == 1)
            let rv1 = try #require(created.at("metadata.resourceVersion")?.string)

            // A metadata-only change: generation stays, resourceVersion moves.
            let labeled = try await s.http.patch(path, ["metadata": ["labels": ["tier": "frontend"]]])
            #expect(labeled.json.at("metadata.generation")?.int == 1)
            let rv2 = try #require(labeled.json.at("metadata.resourceVersion")?.string)
            #expect(rv2 != rv1)

            // A status change (through the subresource): generation stays.
            let status = try await s.http.patch(path + "/status", ["status": ["replicas": 1, "observedGeneration": 1]])
            #expect(status.status == 200, "\(status)")
            #expect(status.json.at("metadata.generation")?.int == 1)
            let rv3 = try #require(status.json.at("metadata.resourceVersion")?.string)
            #expect(rv3 != rv2)

            // A spec change: generation 2.
            let scaled = try await s.http.patch(path, ["spec": ["replicas": 3]])
            #expect(scaled.json.at("metadata.generation")?.int == 2)
            let rv4 = try #require(scaled.json.at("metadata.resourceVersion")?.string)
            #expect(rv4 != rv3)

            // PUT of the same object is a no-op and keeps the resourceVersion.
            let same = try await s.http.put(path, scaled.json)
            #expect(same.status == 200)
            #expect(same.json.at("metadata.resourceVersion")?.string == rv4)
            #expect(same.json.at("metadata.generation")?.int == 2)

            // A PUT changing the spec bumps again.
            var changed = scaled.json
            changed["spec"]?["template"]?["spec"]?["containers"] = [["name": "web", "image": "nginx:2"]]
            let put = try await s.http.put(path, changed)
            #expect(put.status == 200, "\(put)")
            #expect(put.json.at("metadata.generation")?.int == 3)

            // Clients cannot set generation.
            let forced = try await s.http.patch(path, ["metadata": ["generation": 42]])
            #expect(forced.json.at("metadata.generation")?.int == 3)
        }
    }

    @Test func generateName() async throws {
        try await withServer { s in
            var names: Set<String> = []
            try await fixedBug("fixed: POST with metadata.generateName and no name is rejected with 422 'name or generateName is required'") {
            for _ in 0..<5 {
                let cm: JSON = ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["generateName": "job-"]]
                let created = try await s.http.create(CRUDTests.cms, cm)
                let name = try #require(created.at("metadata.name")?.string)
                #expect(name.hasPrefix("job-"))
                #expect(name.count == "job-".count + 5, "\(name)")
                let suffix = name.dropFirst(4)
                #expect(suffix.allSatisfy { "bcdfghjklmnpqrstvwxz2456789".contains($0) }, "\(name)")
                #expect(created.at("metadata.generateName")?.string == "job-")
                names.insert(name)
            }
            #expect(names.count == 5)
            }
            // Neither name nor generateName: 422 naming metadata.name.
            let none = try await s.http.post(CRUDTests.cms, ["apiVersion": "v1", "kind": "ConfigMap", "metadata": [:]])
            expectStatus(none, 422, "Invalid")
            #expect(none.json.at("details.causes")?.array?.contains { $0["field"]?.string == "metadata.name" } == true, "\(none)")
        }
    }

    @Test func staleResourceVersionConflicts() async throws {
        try await withServer { s in
            let path = CRUDTests.cms + "/occ"
            let v1 = try await s.http.create(CRUDTests.cms, Fixtures.configMap("occ"))
            var a = v1
            a["data"] = ["k": "a"]
            let first = try await s.http.put(path, a)
            #expect(first.status == 200)
            // The same, now stale, resourceVersion again.
            var b = v1
            b["data"] = ["k": "b"]
            let second = try await s.http.put(path, b)
            expectStatus(second, 409, "Conflict")
            #expect(second.json["message"]?.string
                == "Operation cannot be fulfilled on configmaps \"occ\": the object has been modified; please apply your changes to the latest version and try again",
                "\(second)")
            #expect(second.json.at("details.name")?.string == "occ")
            #expect(second.json.at("details.kind")?.string == "configmaps")
            let current = try await s.http.object(path)
            #expect(current.at("data.k")?.string == "a")

            // A merge patch with a stale resourceVersion is a precondition too.
            let patch = try await s.http.patch(path, ["metadata": ["resourceVersion": v1.at("metadata.resourceVersion")!], "data": ["k": "c"]])
            expectStatus(patch, 409, "Conflict")

            // PUT without a resourceVersion is unconditional.
            var c = current
            c["metadata"]?["resourceVersion"] = nil
            c["data"] = ["k": "c"]
            let unconditional = try await s.http.put(path, c)
            #expect(unconditional.status == 200, "\(unconditional)")

            // Delete preconditions.
            let stale = try await s.http.delete(path, ["kind": "DeleteOptions", "apiVersion": "v1",
                                                       "preconditions": ["resourceVersion": v1.at("metadata.resourceVersion")!]])
            expectStatus(stale, 409, "Conflict")
            let wrongUID = try await s.http.delete(path, ["preconditions": ["uid": "00000000-0000-0000-0000-000000000000"]])
            expectStatus(wrongUID, 409, "Conflict")
            let ok = try await s.http.delete(path, ["preconditions": ["uid": v1.at("metadata.uid")!]])
            #expect(ok.status == 200)
        }
    }

    @Test func putCreatesNothingAndUIDIsImmutable() async throws {
        try await withServer { s in
            // PUT to a missing ConfigMap: 404 (no create-on-update for ConfigMaps).
            let missing = try await s.http.put(CRUDTests.cms + "/nope", Fixtures.configMap("nope"))
            expectStatus(missing, 404, "NotFound")
            let created = try await s.http.create(CRUDTests.cms, Fixtures.configMap("u"))
            var changed = created
            changed["metadata"]?["uid"] = "11111111-1111-1111-1111-111111111111"
            let r = try await s.http.put(CRUDTests.cms + "/u", changed)
            // Kubernetes rejects a changed uid (422) or ignores it; either way the uid stays.
            #expect(r.status == 200 || r.status == 422 || r.status == 409, "\(r)")
            let now = try await s.http.object(CRUDTests.cms + "/u")
            #expect(now.at("metadata.uid") == created.at("metadata.uid"))
        }
    }

    @Test func labelAndAnnotationValidation() async throws {
        try await withServer { s in
            var bad = Fixtures.configMap("l")
            bad["metadata"]?["labels"] = ["bad key!": "v", "ok": "not valid value!"]
            let r = try await s.http.post(CRUDTests.cms, bad)
            expectStatus(r, 422, "Invalid")
            let fields = r.json.at("details.causes")?.array?.compactMap { $0["field"]?.string } ?? []
            #expect(fields.contains("metadata.labels"), "\(r)")
            var bigAnnotation = Fixtures.configMap("a")
            bigAnnotation["metadata"]?["annotations"] = ["big": .string(String(repeating: "x", count: 300 * 1024))]
            let a = try await s.http.post(CRUDTests.cms, bigAnnotation)
            expectStatus(a, 422, "Invalid")
        }
    }
}
