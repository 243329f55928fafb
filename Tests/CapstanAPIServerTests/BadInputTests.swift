import Foundation
import Testing

@Suite("Bad input: every error is a Status, nothing is written", .tags(.component))
struct BadInputTests {
    static let cms = CRUDTests.cms

    /// Asserts that nothing new appeared in the ConfigMaps of `default`.
    func expectNoWrite(_ s: TestServer, since before: JSON, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let after = try await s.http.object(Self.cms)
        #expect(after.itemNames == before.itemNames, "a rejected request wrote something", sourceLocation: sourceLocation)
    }

    @Test func malformedBodies() async throws {
        try await withServer { s in
            let before = try await s.http.object(Self.cms)
            for body in ["{", "{\"apiVersion\":\"v1\",", "not json", "[1,2]", "\"string\"", "null", "{\"metadata\":5}"] {
                let r = try await s.http.send("POST", Self.cms, body: Data(body.utf8))
                expectStatus(r, 400, "BadRequest")
            }
            // Type errors are 400 too.
            let typed = try await s.http.post(Self.cms, ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "t"], "data": ["k": 5]])
            expectStatus(typed, 400, "BadRequest")
            let empty = try await s.http.send("POST", Self.cms, body: Data())
            #expect(empty.status == 400, "\(empty)")
            try await expectNoWrite(s, since: before)
        }
    }

    /// kube-apiserver decodes `application/yaml` request bodies as well as JSON.
    @Test func yamlBodies() async throws {
        try await withServer { s in
          try await fixedBug("application/yaml request bodies were refused with 415 (kube-apiserver accepts YAML)") {
            let before = try await s.http.object(Self.cms)
            let malformed = try await s.http.send("POST", Self.cms, body: Data("a: [\n".utf8), contentType: "application/yaml")
            expectStatus(malformed, 400, "BadRequest")
            try await expectNoWrite(s, since: before)
            let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n"
            let r = try await s.http.send("POST", Self.cms, body: Data(yaml.utf8), contentType: "application/yaml")
            #expect(r.status == 201, "\(r)")
            #expect(r.json.at("data.k")?.string == "v")
          }
        }
    }

    @Test func wrongKindOrAPIVersion() async throws {
        try await withServer { s in
            var wrongKind = Fixtures.configMap("k")
            wrongKind["kind"] = "Secret"
            expectStatus(try await s.http.post(Self.cms, wrongKind), 400, "BadRequest")
            var wrongVersion = Fixtures.configMap("v")
            wrongVersion["apiVersion"] = "apps/v1"
            expectStatus(try await s.http.post(Self.cms, wrongVersion), 400, "BadRequest")
            var deployment = Fixtures.deployment("d")
            deployment["apiVersion"] = "v1"
            expectStatus(try await s.http.post(MetadataTests.deployments, deployment), 400, "BadRequest")
            #expect(try await s.http.get(Self.cms + "/k").status == 404)
        }
    }

    @Test func oversizedBody() async throws {
        try await withServer { s in
            let big = String(repeating: "x", count: 3 * 1024 * 1024 + 100)
            let r = try await s.http.post(Self.cms, ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "big"], "data": ["k": .string(big)]])
            expectStatus(r, 413, "RequestEntityTooLarge")
            // The server still works afterwards.
            #expect(try await s.http.get(Self.cms).status == 200)
            #expect(try await s.http.get(Self.cms + "/big").status == 404)
            // Just under the body limit but over the 1 MiB object limit: 422 or 413, never stored.
            let large = String(repeating: "y", count: 1024 * 1024 + 10)
            let l = try await s.http.post(Self.cms, ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "large"], "data": ["k": .string(large)]])
            let stored = try await s.http.get(Self.cms + "/large").status
            fixedBug("fixed: a ConfigMap whose data exceeds 1 MiB is stored (Kubernetes: 422 Too long: must have at most 1048576 bytes)") {
                #expect([413, 422].contains(l.status), "ConfigMap data over 1 MiB: \(l)")
                #expect(stored == 404)
            }
        }
    }

    @Test(arguments: ["Bad_Name", "-leading", "trailing-", "UPPER", "has space", String(repeating: "a", count: 254), "a..b"])
    func invalidNames(name: String) async throws {
        try await withServer { s in
            let r = try await s.http.post(Self.cms, Fixtures.configMap(name))
            expectStatus(r, 422, "Invalid")
            let causes = r.json.at("details.causes")?.array ?? []
            #expect(causes.contains { $0["field"]?.string == "metadata.name" && $0["reason"]?.string == "FieldValueInvalid" }, "\(r)")
            #expect(r.json.at("details.kind")?.string == "ConfigMap")
            #expect(r.json["message"]?.string?.hasPrefix("ConfigMap \"") == true, "\(r)")
        }
    }

    @Test func labelNamesAreDNSLabelsForServicesAndNamespaces() async throws {
        try await withServer { s in
            // Dots are fine in a ConfigMap name (subdomain), not in a Namespace or Service (label).
            try await s.http.create(Self.cms, Fixtures.configMap("a.b"))
            expectStatus(try await s.http.post("/api/v1/namespaces", Fixtures.namespace("a.b")), 422, "Invalid")
            expectStatus(try await s.http.post("/api/v1/namespaces/default/services", Fixtures.service("a.b")), 422, "Invalid")
            expectStatus(try await s.http.post("/api/v1/namespaces/default/services", Fixtures.service("1abc")), 422, "Invalid")
        }
    }

    @Test func invalidSpecsListFieldPaths() async throws {
        try await withServer { s in
            var pod = Fixtures.pod("np")
            pod["spec"]?["containers"] = []
            let r = try await s.http.post(SubresourceTests.pods, pod)
            expectStatus(r, 422, "Invalid")
            #expect(r.json.at("details.causes")?.array?.contains { $0["field"]?.string == "spec.containers" } == true, "\(r)")

            var noImage = Fixtures.pod("ni")
            noImage["spec"]?["containers"] = [["name": "c"]]
            let ni = try await s.http.post(SubresourceTests.pods, noImage)
            expectStatus(ni, 422, "Invalid")
            #expect(ni.json.at("details.causes")?.array?.contains { $0["field"]?.string == "spec.containers[0].image" } == true, "\(ni)")

            var d = Fixtures.deployment("mismatch")
            d["spec"]?["selector"] = ["matchLabels": ["app": "other"]]
            let dr = try await s.http.post(MetadataTests.deployments, d)
            expectStatus(dr, 422, "Invalid")
            #expect(dr.json.at("details.causes")?.array?.contains { $0["field"]?.string == "spec.template.metadata.labels" } == true, "\(dr)")

            // Immutable: a Deployment's selector.
            try await s.http.create(MetadataTests.deployments, Fixtures.deployment("imm"))
            let sel = try await s.http.patch(MetadataTests.deployments + "/imm",
                                             ["spec": ["selector": ["matchLabels": ["app": "imm", "x": "y"]],
                                                       "template": ["metadata": ["labels": ["app": "imm", "x": "y"]]]]])
            expectStatus(sel, 422, "Invalid")
            #expect(sel.json.at("details.causes")?.array?.contains { $0["field"]?.string == "spec.selector" } == true, "\(sel)")

            // Immutable ConfigMap data.
            var immutable = Fixtures.configMap("frozen")
            immutable["immutable"] = true
            try await s.http.create(Self.cms, immutable)
            let frozen = try await s.http.patch(Self.cms + "/frozen", ["data": ["k": "changed"]])
            expectStatus(frozen, 422, "Invalid")
        }
    }

    @Test func unknownResourcesAndVersions() async throws {
        try await withServer { s in
            for path in ["/api/v1/namespaces/default/widgets", "/api/v2/pods", "/apis/apps/v2/deployments",
                         "/apis/nosuch.io/v1/things", "/nothing/here", "/api/v1/namespaces/default/configmaps/x/unknownsub"] {
                let r = try await s.http.get(path)
                expectStatus(r, 404, "NotFound")
            }
            let post = try await s.http.post("/api/v1/namespaces/default/widgets", ["kind": "Widget"])
            expectStatus(post, 404, "NotFound")
            let method = try await s.http.send("POST", Self.cms + "/x", body: Fixtures.configMap("x").data)
            expectStatus(method, 405, "MethodNotAllowed")
        }
    }

    @Test func mediaTypes() async throws {
        try await withServer { s in
            // A malformed protobuf body: 400 with a Status (well-formed ones decode).
            var proto = Data([0x6b, 0x38, 0x73, 0x00])
            proto.append(contentsOf: [0x0a, 0x02, 0x76, 0x31])
            let p = try await s.http.send("POST", Self.cms, body: proto, contentType: "application/vnd.kubernetes.protobuf")
            expectStatus(p, 400, "BadRequest")
            let xml = try await s.http.send("POST", Self.cms, body: Data("<x/>".utf8), contentType: "application/xml")
            expectStatus(xml, 415, "UnsupportedMediaType")
            // Only protobuf acceptable: 406.
            let n = try await s.http.get(Self.cms, accept: "application/vnd.kubernetes.protobuf")
            expectStatus(n, 406, "NotAcceptable")
            let n2 = try await s.http.get(Self.cms + "/kube-root-ca.crt", accept: "application/vnd.kubernetes.protobuf")
            #expect(n2.status == 406 || n2.status == 404)
            // kubectl's usual header (protobuf first, then JSON) gets JSON.
            let ok = try await s.http.get(Self.cms, accept: "application/vnd.kubernetes.protobuf,application/json")
            #expect(ok.status == 200)
            #expect(ok.contentType.hasPrefix("application/json"))
            // A patch with an unknown patch type: 415.
            try await s.http.create(Self.cms, Fixtures.configMap("pt"))
            let badType = try await s.http.patch(Self.cms + "/pt", ["data": ["a": "b"]], type: "text/plain")
            expectStatus(badType, 415, "UnsupportedMediaType")
        }
    }

    @Test(arguments: ["app in (web", "app=(x)", "=value", "app notin web", "a=b=c", "!", "app in (a b)", "bad key!=x"])
    func badLabelSelectors(selector: String) async throws {
        try await withServer { s in
            let r = try await s.http.get(Self.cms + "?labelSelector=" + q(selector))
            expectStatus(r, 400, "BadRequest")
        }
    }

    @Test func badFieldSelectorsAndListParameters() async throws {
        try await withServer { s in
            for selector in ["metadata.name", "metadata.name~x", "=x"] {
                let r = try await s.http.get(Self.cms + "?fieldSelector=" + q(selector))
                expectStatus(r, 400, "BadRequest")
            }
            expectStatus(try await s.http.get(Self.cms + "?limit=abc"), 400, "BadRequest")
            expectStatus(try await s.http.get(Self.cms + "?watch=true&timeoutSeconds=abc"), 400, "BadRequest")
        }
    }

    @Test func badPatches() async throws {
        try await withServer { s in
            let original = try await s.http.create(Self.cms, Fixtures.configMap("p", data: ["k": "v"]))
            let path = Self.cms + "/p"
            // Malformed patch documents.
            let m1 = try await s.http.send("PATCH", path, body: Data("{".utf8), contentType: "application/merge-patch+json")
            expectStatus(m1, 400, "BadRequest")
            let m2 = try await s.http.send("PATCH", path, body: Data("{\"op\":\"add\"}".utf8), contentType: "application/json-patch+json")
            expectStatus(m2, 400, "BadRequest")
            // Unknown op, bad path.
            let op = try await s.http.patch(path, [["op": "frobnicate", "path": "/data/k"]], type: "application/json-patch+json")
            #expect([400, 422].contains(op.status), "\(op)")
            #expect(op.json["kind"]?.string == "Status")
            let missing = try await s.http.patch(path, [["op": "replace", "path": "/data/nope", "value": "x"]], type: "application/json-patch+json")
            #expect([400, 422].contains(missing.status), "\(missing)")
            #expect(missing.json["kind"]?.string == "Status")
            // A failed test op.
            let test = try await s.http.patch(path, [["op": "test", "path": "/data/k", "value": "other"],
                                                     ["op": "replace", "path": "/data/k", "value": "changed"]],
                                              type: "application/json-patch+json")
            #expect([409, 422].contains(test.status), "\(test)")
            // A patch that produces an invalid object.
            let invalid = try await s.http.patch(path, ["metadata": ["labels": ["bad key!": "x"]]])
            expectStatus(invalid, 422, "Invalid")
            // Patching the name.
            let rename = try await s.http.patch(path, [["op": "replace", "path": "/metadata/name", "value": "other"]],
                                                type: "application/json-patch+json")
            #expect([400, 409, 422].contains(rename.status), "\(rename)")
            // Patching a missing object: 404.
            expectStatus(try await s.http.patch(Self.cms + "/ghost", ["data": ["a": "b"]]), 404, "NotFound")
            // JSON patches work when valid.
            let ok = try await s.http.patch(path, [["op": "add", "path": "/data/new", "value": "1"]], type: "application/json-patch+json")
            #expect(ok.status == 200)
            #expect(ok.json.at("data.new")?.string == "1")
            #expect(ok.json.at("data.k") == original.at("data.k"))
        }
    }

    @Test func fieldValidation() async throws {
        try await withServer { s in
            var cm = Fixtures.configMap("fv")
            cm["spec"] = ["unknownThing": 1]
            cm["metadata"]?["bogus"] = "x"
            let strict = try await s.http.post(Self.cms + "?fieldValidation=Strict", cm)
            expectStatus(strict, 400, "BadRequest", messageContains: "unknown field \"spec\"")
            #expect(strict.json["message"]?.string?.contains("metadata.bogus") == true, "\(strict)")
            #expect(try await s.http.get(Self.cms + "/fv").status == 404)

            // Duplicate fields fail strict validation too.
            let dup = #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup"},"data":{"a":"1"},"data":{"b":"2"}}"#
            let d = try await s.http.send("POST", Self.cms + "?fieldValidation=Strict", body: Data(dup.utf8))
            expectStatus(d, 400, "BadRequest", messageContains: "duplicate field")

            let warn = try await s.http.post(Self.cms + "?fieldValidation=Warn", cm)
            #expect(warn.status == 201, "\(warn)")
            let warning = warn.headers["warning"] ?? ""
            #expect(warning.hasPrefix("299 - "), "Warning header: \(warn.headers)")
            #expect(warning.contains("unknown field \\\"spec\\\"") || warning.contains("unknown field \"spec\""), "\(warning)")
            #expect(warn.json["spec"] == nil, "unknown fields are pruned")
            #expect(warn.json.at("metadata.bogus") == nil)

            var ignore = cm
            ignore["metadata"]?["name"] = "fv2"
            let ign = try await s.http.post(Self.cms + "?fieldValidation=Ignore", ignore)
            #expect(ign.status == 201)
            #expect(ign.headers["warning"] == nil)

            let bad = try await s.http.post(Self.cms + "?fieldValidation=Sometimes", Fixtures.configMap("fv3"))
            expectStatus(bad, 400, "BadRequest")
        }
    }

    /// A merge patch walks only the members it names (the rest is stored, already pruned), so
    /// what it brings is still pruned, reported and refused as a whole-object walk would.
    @Test func mergePatchMembersArePrunedAndReported() async throws {
        try await withServer { s in
            let pods = "/api/v1/namespaces/default/pods"
            _ = try await s.http.create(pods, Fixtures.pod("pp"))
            let patch: JSON = ["bogusTop": 1, "status": ["phase": "Running", "bogusStatus": "x",
                                                        "conditions": [["type": "Ready", "status": "True", "bogusCondition": 1]]]]
            let strict = try await s.http.patch(pods + "/pp/status?fieldValidation=Strict", patch)
            expectStatus(strict, 400, "BadRequest", messageContains: "unknown field \"bogusTop\"")
            #expect(strict.json["message"]?.string?.contains("status.bogusStatus") == true, "\(strict)")
            #expect(strict.json["message"]?.string?.contains("status.conditions[0].bogusCondition") == true, "\(strict)")

            let warn = try await s.http.patch(pods + "/pp/status", patch)
            #expect(warn.status == 200, "\(warn)")
            let warning = warn.headers["warning"] ?? ""
            #expect(warning.contains("status.bogusStatus") && warning.contains("bogusTop"), "\(warning)")
            #expect(warn.json.at("status.phase")?.string == "Running")
            #expect(warn.json.at("status.bogusStatus") == nil && warn.json["bogusTop"] == nil)
            #expect(warn.json.at("status.conditions.0.bogusCondition") == nil)

            // A type error inside the named member is still a 400.
            let typed = try await s.http.patch(pods + "/pp", ["spec": ["activeDeadlineSeconds": "soon"]])
            expectStatus(typed, 400, "BadRequest", messageContains: "spec.activeDeadlineSeconds")

            // The status write is owned by its manager alone; the creator's entry is kept as it was.
            let managed = warn.json.at("metadata.managedFields")?.array ?? []
            let created = try await s.http.get(pods + "/pp")
            #expect(managed.count == 2, "\(managed)")
            let main = managed.first { $0["subresource"] == nil }
            let status = managed.first { $0["subresource"]?.string == "status" }
            #expect(main?["fieldsV1"]?["f:spec"] != nil && main?["fieldsV1"]?["f:status"] == nil, "\(managed)")
            #expect(status?["fieldsV1"]?["f:status"]?["f:phase"] != nil, "\(managed)")
            #expect(status?["fieldsV1"]?.object.map { Array($0.keys) } == ["f:status"], "\(managed)")
            #expect(created.json.at("metadata.managedFields") == warn.json.at("metadata.managedFields"))
        }
    }

    @Test func nameAndURLMustAgree() async throws {
        try await withServer { s in
            let created = try await s.http.create(Self.cms, Fixtures.configMap("n1"))
            var renamed = created
            renamed["metadata"]?["name"] = "n2"
            let r = try await s.http.put(Self.cms + "/n1", renamed)
            expectStatus(r, 400, "BadRequest")
            var wrongNS = created
            wrongNS["metadata"]?["namespace"] = "kube-system"
            expectStatus(try await s.http.put(Self.cms + "/n1", wrongNS), 400, "BadRequest")
            var staleRV = created
            staleRV["metadata"]?["resourceVersion"] = "not-a-number"
            let rv = try await s.http.put(Self.cms + "/n1", staleRV)
            #expect([400, 409].contains(rv.status), "\(rv)")
            #expect(rv.json["kind"]?.string == "Status")
        }
    }
}
