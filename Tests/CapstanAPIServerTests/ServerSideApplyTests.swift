import Foundation
import Testing

@Suite("Server-side apply and managed fields over HTTP", .tags(.component))
struct ServerSideApplyHTTPTests {
    static let cms = "/api/v1/namespaces/default/configmaps"
    static let deployments = "/apis/apps/v1/namespaces/default/deployments"
    static let applyType = "application/apply-patch+yaml"

    static func apply(_ s: TestServer, _ path: String, _ body: String, manager: String?, force: Bool = false,
                      extra: String = "") async throws -> HTTPResult {
        var query: [String] = []
        if let manager { query.append("fieldManager=\(manager)") }
        if force { query.append("force=true") }
        if !extra.isEmpty { query.append(extra) }
        return try await s.http.send("PATCH", path + (query.isEmpty ? "" : "?" + query.joined(separator: "&")),
                                     body: Data(body.utf8), contentType: applyType)
    }

    static func managers(_ object: JSON) -> [String: JSON] {
        var out: [String: JSON] = [:]
        for case let entry in object.at("metadata.managedFields")?.array ?? [] {
            let key = (entry["manager"]?.string ?? "") + "/" + (entry["operation"]?.string ?? "")
            out[key] = entry
        }
        return out
    }

    @Test func applyCreatesThenConflictsThenForceTakesOver() async throws {
        try await withServer { s in
            let yaml = """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: ssa
              labels:
                team: a
            data:
              color: blue   # a comment
              size: |
                large
            """
            let created = try await Self.apply(s, Self.cms + "/ssa", yaml, manager: "alice")
            #expect(created.status == 201, "\(created)")
            #expect(created.json.at("data.size")?.string == "large\n")
            let entry = try #require(Self.managers(created.json)["alice/Apply"], "\(created.json)")
            #expect(entry["apiVersion"]?.string == "v1" && entry["fieldsType"]?.string == "FieldsV1")
            #expect(entry["time"]?.string?.hasSuffix("Z") == true)
            #expect(entry["fieldsV1"] == ["f:data": ["f:color": [:], "f:size": [:]], "f:metadata": ["f:labels": ["f:team": [:]]]])

            // Another manager changing an owned field: 409 with a cause per field.
            let conflict = try await Self.apply(s, Self.cms + "/ssa",
                                                #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ssa"},"data":{"color":"red"}}"#,
                                                manager: "bob")
            expectStatus(conflict, 409, "Conflict", messageContains: #"Apply failed with 1 conflict: conflict with "alice": .data.color"#)
            let cause = conflict.json.at("details.causes")?.array?.first
            #expect(cause?["reason"]?.string == "FieldManagerConflict")
            #expect(cause?["field"]?.string == ".data.color")
            #expect(cause?["message"]?.string == #"conflict with "alice""#)
            let unchanged = try await s.http.object(Self.cms + "/ssa")
            #expect(unchanged.at("data.color")?.string == "blue")

            // Forced: bob owns color, alice keeps size.
            let forced = try await Self.apply(s, Self.cms + "/ssa",
                                              #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ssa"},"data":{"color":"red"}}"#,
                                              manager: "bob", force: true)
            #expect(forced.status == 200, "\(forced)")
            #expect(forced.json.at("data.color")?.string == "red")
            let m = Self.managers(forced.json)
            #expect(m["bob/Apply"]?["fieldsV1"] == ["f:data": ["f:color": [:]]])
            #expect(m["alice/Apply"]?["fieldsV1"] == ["f:data": ["f:size": [:]], "f:metadata": ["f:labels": ["f:team": [:]]]])

            // Alice drops the label from her configuration: nobody else owns it, so it goes.
            let dropped = try await Self.apply(s, Self.cms + "/ssa",
                                               "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  size: large\n",
                                               manager: "alice")
            #expect(dropped.status == 200, "\(dropped)")
            #expect(dropped.json.at("metadata.labels.team") == nil, "\(dropped.json)")
            #expect(dropped.json.at("data.color")?.string == "red")
            #expect(dropped.json.at("data.size")?.string == "large")
        }
    }

    @Test func updatesRecordManagersFromTheQueryOrTheUserAgent() async throws {
        try await withServer { s in
            let created = try await s.http.send("POST", Self.deployments + "?fieldManager=kubectl-create",
                                                body: Fixtures.deployment("mf", replicas: 2).data)
            #expect(created.status == 201)
            let entry = try #require(Self.managers(created.json)["kubectl-create/Update"], "\(created.json)")
            #expect(entry["apiVersion"]?.string == "apps/v1")
            #expect(entry.at("fieldsV1.f:spec.f:replicas") == [:])
            #expect(entry["fieldsV1"]?["f:metadata"]?["f:labels"]?["."] == [:])

            // A merge patch without fieldManager: the User-Agent's first segment manages.
            let patched = try await s.http.send("PATCH", Self.deployments + "/mf",
                                                body: Data(#"{"spec":{"replicas":3}}"#.utf8),
                                                contentType: "application/merge-patch+json",
                                                headers: ["User-Agent": "kubectl/v1.33.1 (linux/amd64) kubernetes/8adc0f0"])
            #expect(patched.status == 200, "\(patched)")
            let m = Self.managers(patched.json)
            #expect(m["kubectl/Update"]?["fieldsV1"] == ["f:spec": ["f:replicas": [:]]])
            #expect(m["kubectl-create/Update"]?.at("fieldsV1.f:spec.f:replicas") == nil)

            // An applier now conflicts with the updater, named with its version.
            let conflict = try await Self.apply(s, Self.deployments + "/mf",
                                                #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"mf"},"spec":{"replicas":5}}"#,
                                                manager: "ci")
            expectStatus(conflict, 409, "Conflict",
                         messageContains: #"conflict with "kubectl" using apps/v1: .spec.replicas"#)

            // Status writes are recorded against the status subresource.
            var status = patched.json
            status["status"] = ["replicas": 3]
            let st = try await s.http.send("PUT", Self.deployments + "/mf/status?fieldManager=controller", body: status.data)
            #expect(st.status == 200, "\(st)")
            let statusEntry = Self.managers(st.json)["controller/Update"]
            #expect(statusEntry?["subresource"]?.string == "status")
            #expect(statusEntry?["fieldsV1"] == ["f:status": [".": [:], "f:replicas": [:]]])

            // Resetting managedFields with [{}] strips them.
            let reset = try await s.http.send("PATCH", Self.deployments + "/mf",
                                              body: Data(#"[{"op":"replace","path":"/metadata/managedFields","value":[{}]}]"#.utf8),
                                              contentType: "application/json-patch+json")
            #expect(reset.status == 200, "\(reset)")
            #expect(reset.json.at("metadata.managedFields") == nil, "\(reset.json)")
        }
    }

    @Test func applyMergesKeyedListsAndHonoursDryRunAndValidation() async throws {
        try await withServer { s in
            let base = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: lists}
            spec:
              replicas: 1
              selector: {matchLabels: {app: lists}}
              template:
                metadata: {labels: {app: lists}}
                spec:
                  containers:
                  - name: web
                    image: nginx:1.27
                    ports: [{containerPort: 80}]
            """
            let created = try await Self.apply(s, Self.deployments + "/lists", base, manager: "base")
            #expect(created.status == 201, "\(created)")
            let sidecar = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: lists}
            spec:
              template:
                spec:
                  containers:
                  - name: log
                    image: busybox
            """
            let merged = try await Self.apply(s, Self.deployments + "/lists", sidecar, manager: "sidecar")
            #expect(merged.status == 200, "\(merged)")
            let names = merged.json.at("spec.template.spec.containers")?.array?.compactMap { $0["name"]?.string }
            #expect(names == ["web", "log"])
            let key = #"k:{"name":"log"}"#
            #expect(Self.managers(merged.json)["sidecar/Apply"]?.at("fieldsV1.f:spec.f:template.f:spec.f:containers")?[key]
                    == [".": [:], "f:image": [:], "f:name": [:]])

            // Dry run: the answer shows the result, storage keeps the old object.
            let dry = try await Self.apply(s, Self.deployments + "/lists",
                                           "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: lists}\nspec: {replicas: 7}\n",
                                           manager: "scaler", force: true, extra: "dryRun=All")
            #expect(dry.status == 200 && dry.json.at("spec.replicas")?.int == 7, "\(dry)")
            #expect(try await s.http.object(Self.deployments + "/lists").at("spec.replicas")?.int == 1)

            // Strict validation names the unknown field; Warn answers with a Warning header.
            let typo = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: lists}\nspec: {replicass: 2}\n"
            let strict = try await Self.apply(s, Self.deployments + "/lists", typo, manager: "typo", extra: "fieldValidation=Strict")
            expectStatus(strict, 400, "BadRequest", messageContains: #"strict decoding error: unknown field "spec.replicass""#)
            let warn = try await Self.apply(s, Self.deployments + "/lists", typo, manager: "typo", extra: "fieldValidation=Warn")
            #expect(warn.status == 200, "\(warn)")
            #expect(warn.headers["warning"]?.contains(#"unknown field \"spec.replicass\""#) == true, "\(warn.headers)")

            // A manager that stops applying fields others need leaves an invalid object: 422, nothing stored.
            let shrunk = try await Self.apply(s, Self.deployments + "/lists",
                                              "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: lists}\nspec: {replicas: 1}\n",
                                              manager: "base")
            expectStatus(shrunk, 422, "Invalid")
            #expect(try await s.http.object(Self.deployments + "/lists").at("spec.template") != nil)
        }
    }

    @Test func badApplyRequestsAreClearErrors() async throws {
        try await withServer { s in
            let ok = #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bad"}}"#
            expectStatus(try await Self.apply(s, Self.cms + "/bad", ok, manager: nil), 422, "Invalid",
                         messageContains: "fieldManager: Required value")
            expectStatus(try await Self.apply(s, Self.cms + "/bad", "[1, 2]", manager: "m"), 400, "BadRequest",
                         messageContains: "must be a YAML or JSON object")
            expectStatus(try await Self.apply(s, Self.cms + "/bad", "a: [unclosed", manager: "m"), 400, "BadRequest",
                         messageContains: "error decoding YAML")
            expectStatus(try await Self.apply(s, Self.cms + "/bad", #"{"metadata":{"name":"bad"}}"#, manager: "m"), 400, "BadRequest",
                         messageContains: "apiVersion and kind must be set")
            expectStatus(try await Self.apply(s, Self.cms + "/bad", #"{"apiVersion":"v1","kind":"Secret"}"#, manager: "m"), 400, "BadRequest",
                         messageContains: "does not match the expected kind")
            expectStatus(try await Self.apply(s, Self.cms + "/bad", #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"other"}}"#,
                                              manager: "m"), 400, "BadRequest", messageContains: "does not match the name on the URL")
            expectStatus(try await Self.apply(s, Self.cms + "/bad", #"{"apiVersion":"v1","kind":"ConfigMap","data":{"a":1}}"#,
                                              manager: "m"), 400, "BadRequest", messageContains: "data[a]")
            let duplicate = try await Self.apply(s, Self.cms + "/bad", "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: x\n  a: y\n",
                                                 manager: "m", extra: "fieldValidation=Strict")
            expectStatus(duplicate, 400, "BadRequest", messageContains: #"strict decoding error: duplicate field "data.a""#)
            let force = try await s.http.send("PATCH", Self.cms + "/bad?force=true", body: Data("{}".utf8),
                                              contentType: "application/merge-patch+json")
            expectStatus(force, 422, "Invalid", messageContains: "force: Forbidden: may not be specified for non-apply patch")
            #expect(try await s.http.get(Self.cms + "/bad").status == 404, "nothing was created")
        }
    }
}
