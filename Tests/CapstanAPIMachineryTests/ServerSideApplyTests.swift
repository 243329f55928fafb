import CapstanAPI
import CapstanAPIMachinery
import Testing

private let deployments = FieldManager(schema: ApplySchema(definition: "io.k8s.api.apps.v1.Deployment"),
                                       apiVersion: "apps/v1", hasStatus: true)
private let configMaps = FieldManager(schema: ApplySchema(definition: "io.k8s.api.core.v1.ConfigMap"),
                                      apiVersion: "v1", hasStatus: false)

private func fields(_ text: String) -> FieldSet {
    do { return try FieldSet(fieldsV1: json(text)) } catch { fatalError("\(error)") }
}

private func entry(_ entries: [ManagedFieldsEntry], _ manager: String) -> ManagedFieldsEntry? {
    entries.first { $0.manager == manager }
}

private let deployment = json("""
{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"app":"web"}},
 "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
  "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[
   {"name":"web","image":"nginx:1.27","ports":[{"containerPort":80}]}]}}}}
""")

@Suite("Server-side apply: field sets and fieldsV1")
struct ServerSideApplyFieldSetTests {
    @Test func appliedDeploymentOwnsWhatKubernetesLists() {
        let set = deployments.schema.fieldSet(of: deployment)
        // What kube-apiserver records for `kubectl apply --server-side` of this manifest (metadata
        // name and the type fields are never owned).
        let want = fields("""
        {"f:apiVersion":{},"f:kind":{},"f:metadata":{"f:name":{},"f:labels":{"f:app":{}}},
         "f:spec":{"f:replicas":{},"f:selector":{},
          "f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{
           "k:{\\"name\\":\\"web\\"}":{".":{},"f:image":{},"f:name":{},
            "f:ports":{"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:containerPort":{}}}}}}}}}
        """)
        #expect(set == want, "\(set)")
        let filtered = set.subtracting(FieldSet([ManagedFieldPath(fields: "apiVersion"), ManagedFieldPath(fields: "kind")]))
            .removingSubtrees(FieldSet([ManagedFieldPath(fields: "metadata", "name")]))
        #expect(filtered.fieldsV1 == json("""
        {"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},
         "f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{
          "k:{\\"name\\":\\"web\\"}":{".":{},"f:image":{},"f:name":{},
           "f:ports":{"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:containerPort":{}}}}}}}}}
        """))
    }

    static let elements: [(String, PathElement, String)] = [
        ("f:image", .field("image"), ".image"),
        (#"k:{"name":"web"}"#, .key([("name", .string("web"))]), #"[name="web"]"#),
        (#"k:{"containerPort":80,"protocol":"TCP"}"#, .key([("protocol", .string("TCP")), ("containerPort", .int(80))]),
         #"[containerPort=80,protocol="TCP"]"#),
        (#"v:"example.com/f""#, .value(.string("example.com/f")), #"[="example.com/f"]"#),
        ("i:3", .index(3), "[3]"),
    ]

    @Test(arguments: elements)
    func pathElementForms(_ c: (String, PathElement, String)) {
        #expect(c.1.fieldsV1Key == c.0)
        #expect(PathElement(fieldsV1Key: c.0) == c.1)
        #expect(c.1.description == c.2)
    }

    @Test(arguments: ["x:1", "k:[]", "k:{}", "i:-1", "v:{", "f"])
    func malformedMemberNamesAreRejected(_ key: String) {
        #expect(PathElement(fieldsV1Key: key) == nil)
        #expect(throws: FieldsV1Error.self) { try FieldSet(fieldsV1: .object([key: .object([:])])) }
    }

    @Test func setOperations() throws {
        let a = fields(#"{"f:a":{},"f:b":{".":{},"f:c":{}},"f:d":{"f:e":{}}}"#)
        let b = fields(#"{"f:b":{},"f:d":{"f:e":{},"f:f":{}}}"#)
        #expect(a.union(b) == fields(#"{"f:a":{},"f:b":{".":{},"f:c":{}},"f:d":{"f:e":{},"f:f":{}}}"#))
        #expect(a.subtracting(b) == fields(#"{"f:a":{},"f:b":{"f:c":{}}}"#))
        #expect(a.intersection(b) == fields(#"{"f:b":{},"f:d":{"f:e":{}}}"#))
        #expect(a.removingSubtrees(b) == fields(#"{"f:a":{}}"#))
        #expect(a.paths.map(\.description) == [".a", ".b", ".b.c", ".d.e"])
        #expect(try FieldSet(fieldsV1: a.fieldsV1) == a)
    }
}

@Suite("Server-side apply: managers, merging and conflicts")
struct ServerSideApplyManagerTests {
    @Test func createRecordsAnUpdateEntryWithDotsForNewMapsAndItems() throws {
        var created = deployment.objectValue!
        var spec = created["spec"]?.objectValue ?? [:]
        spec["strategy"] = json(#"{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%"}}"#)
        created["spec"] = .object(spec)
        let entries = deployments.update(live: nil, new: .object(created), managed: [], manager: "kubectl-create", time: "T1")
        #expect(entries.count == 1)
        let e = try #require(entries.first)
        #expect(e.operation == .update && e.apiVersion == "apps/v1" && e.time == "T1" && e.subresource == "")
        #expect(e.fields == fields("""
        {"f:metadata":{"f:labels":{".":{},"f:app":{}}},
         "f:spec":{"f:replicas":{},"f:selector":{},"f:strategy":{"f:type":{},"f:rollingUpdate":{".":{},"f:maxSurge":{}}},
          "f:template":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{
           "k:{\\"name\\":\\"web\\"}":{".":{},"f:image":{},"f:name":{},
            "f:ports":{".":{},"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:containerPort":{}}}}}}}}}
        """), "\(e.fields.fieldsV1)")
        let wire = e.json
        #expect(wire["manager"] == .string("kubectl-create") && wire["fieldsType"] == .string("FieldsV1"))
    }

    @Test func secondApplierConflictsOnADifferentValueAndSharesAnEqualOne() throws {
        let first = try configMaps.apply(live: nil, config: json(#"{"metadata":{"name":"c"},"data":{"a":"1","b":"2"}}"#),
                                         managed: [], manager: "one", force: false, time: "T1")
        // Same value: shared ownership, no conflict.
        let shared = try configMaps.apply(live: first.object, config: json(#"{"metadata":{"name":"c"},"data":{"a":"1"}}"#),
                                          managed: first.managedFields, manager: "two", force: false, time: "T2")
        #expect(entry(shared.managedFields, "one")?.fields == fields(#"{"f:data":{"f:a":{},"f:b":{}}}"#))
        #expect(entry(shared.managedFields, "two")?.fields == fields(#"{"f:data":{"f:a":{}}}"#))
        // Different values: a conflict per field, worded as Kubernetes words it.
        let config = json(#"{"metadata":{"name":"c"},"data":{"a":"9","b":"8"}}"#)
        do {
            _ = try configMaps.apply(live: shared.object, config: config, managed: shared.managedFields, manager: "two",
                                     force: false, time: "T3")
            Issue.record("expected a conflict")
        } catch {
            #expect(error.message == "Apply failed with 2 conflicts: conflicts with \"one\":\n- .data.a\n- .data.b")
            let status = error.apiError
            #expect(status.code == 409 && status.reason == .conflict)
            #expect(status.details?.causes == [
                APIError.Cause(reason: "FieldManagerConflict", message: "conflict with \"one\"", field: ".data.a"),
                APIError.Cause(reason: "FieldManagerConflict", message: "conflict with \"one\"", field: ".data.b"),
            ])
        }
        // Forced: the applier takes the fields over.
        let forced = try configMaps.apply(live: shared.object, config: config, managed: shared.managedFields, manager: "two",
                                          force: true, time: "T3")
        #expect(forced.object["data"] == json(#"{"a":"9","b":"8"}"#))
        #expect(entry(forced.managedFields, "one") == nil)
        #expect(entry(forced.managedFields, "two")?.fields == fields(#"{"f:data":{"f:a":{},"f:b":{}}}"#))
    }

    @Test func conflictWithAnUpdaterNamesItsVersion() throws {
        let live = json(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1"}}"#)
        let managed = configMaps.update(live: nil, new: live, managed: [], manager: "kubectl-edit", time: "T1")
        do {
            _ = try configMaps.apply(live: live, config: json(#"{"data":{"a":"2"}}"#), managed: managed, manager: "kubectl",
                                     force: false, time: "T2")
            Issue.record("expected a conflict")
        } catch {
            #expect(error.message == "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using v1: .data.a")
        }
    }

    @Test func droppedFieldsAreRemovedUnlessAnotherManagerOwnsThem() throws {
        let a1 = try configMaps.apply(live: nil, config: json(#"{"data":{"a":"1","b":"2","c":"3"}}"#), managed: [],
                                      manager: "one", force: false, time: "T1")
        let b1 = try configMaps.apply(live: a1.object, config: json(#"{"data":{"c":"3"}}"#), managed: a1.managedFields,
                                      manager: "two", force: false, time: "T2")
        // "one" stops applying b and c: b goes, c stays because "two" owns it too.
        let a2 = try configMaps.apply(live: b1.object, config: json(#"{"data":{"a":"1"}}"#), managed: b1.managedFields,
                                      manager: "one", force: false, time: "T3")
        #expect(a2.object["data"] == json(#"{"a":"1","c":"3"}"#))
        #expect(entry(a2.managedFields, "one")?.fields == fields(#"{"f:data":{"f:a":{}}}"#))
    }

    @Test func keyedListsMergeByKeyAndAtomicListsAreReplaced() throws {
        let live = try deployments.apply(live: nil, config: deployment, managed: [], manager: "base", force: false, time: "T1")
        let sidecar = json("""
        {"spec":{"template":{"spec":{"containers":[{"name":"log","image":"busybox","args":["-f"]}]}}}}
        """)
        let merged = try deployments.apply(live: live.object, config: sidecar, managed: live.managedFields, manager: "sidecar",
                                           force: false, time: "T2")
        let containers = merged.object["spec"]?["template"]?["spec"]?["containers"]?.arrayValue ?? []
        #expect(containers.compactMap { $0["name"]?.stringValue } == ["web", "log"])
        // The args list is atomic: a new value replaces it whole, and conflicts as one field.
        let args = json(#"{"spec":{"template":{"spec":{"containers":[{"name":"log","args":["-x","-y"]}]}}}}"#)
        do {
            _ = try deployments.apply(live: merged.object, config: args, managed: merged.managedFields, manager: "other",
                                      force: false, time: "T3")
            Issue.record("expected a conflict")
        } catch {
            #expect(error.conflicts.map(\.path.description) == [#".spec.template.spec.containers[name="log"].args"#])
        }
        let forced = try deployments.apply(live: merged.object, config: args, managed: merged.managedFields, manager: "other",
                                           force: true, time: "T3")
        let log = forced.object["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.last
        #expect(log?["args"] == json(#"["-x","-y"]"#) && log?["image"] == .string("busybox"))
    }

    @Test func listOrderFollowsTheConfigAndKeepsOthersInPlace() {
        let schema = deployments.schema
        let live = json(#"{"spec":{"template":{"spec":{"containers":[{"name":"a"},{"name":"x"},{"name":"b"},{"name":"c"}]}}}}"#)
        let config = json(#"{"spec":{"template":{"spec":{"containers":[{"name":"c"},{"name":"b"},{"name":"new"}]}}}}"#)
        let merged = schema.merge(live, config)
        let names = merged?["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        #expect(names == ["a", "x", "c", "b", "new"])
    }

    @Test func setsMergeByValue() throws {
        let pods = FieldManager(schema: ApplySchema(definition: "io.k8s.api.core.v1.Pod"), apiVersion: "v1", hasStatus: true)
        let first = try pods.apply(live: nil, config: json(#"{"metadata":{"finalizers":["a/x","b/y"]}}"#), managed: [],
                                   manager: "one", force: false, time: "T1")
        let second = try pods.apply(live: first.object, config: json(#"{"metadata":{"finalizers":["c/z"]}}"#),
                                    managed: first.managedFields, manager: "two", force: false, time: "T2")
        #expect(second.object["metadata"]?["finalizers"] == json(#"["a/x","b/y","c/z"]"#))
        #expect(entry(second.managedFields, "two")?.fields == fields(#"{"f:metadata":{"f:finalizers":{"v:\"c/z\"":{}}}}"#))
    }

    @Test func updatesTakeFieldsFromAppliersWithoutConflict() throws {
        let applied = try configMaps.apply(live: nil, config: json(#"{"data":{"a":"1","b":"2"}}"#), managed: [],
                                           manager: "kubectl", force: false, time: "T1")
        var edited = applied.object.objectValue!
        edited["data"] = json(#"{"a":"changed","b":"2"}"#)
        let entries = configMaps.update(live: applied.object, new: .object(edited), managed: applied.managedFields,
                                        manager: "kubectl-edit", time: "T2")
        #expect(entry(entries, "kubectl")?.fields == fields(#"{"f:data":{"f:b":{}}}"#))
        #expect(entry(entries, "kubectl-edit")?.fields == fields(#"{"f:data":{"f:a":{}}}"#))
        #expect(entry(entries, "kubectl-edit")?.time == "T2")
        // A no-op update adds no entry.
        let noop = configMaps.update(live: .object(edited), new: .object(edited), managed: entries, manager: "idle", time: "T3")
        #expect(entry(noop, "idle") == nil && noop.count == 2)
    }

    @Test func statusIsNotOwnedThroughTheMainResource() {
        var object = deployment.objectValue!
        object["status"] = json(#"{"replicas":2}"#)
        let main = deployments.update(live: nil, new: .object(object), managed: [], manager: "m", time: "T")
        #expect(main.first?.fields.node(at: [.field("status")]) == nil)
        let status = FieldManager(schema: deployments.schema, apiVersion: "apps/v1", subresource: "status", hasStatus: true)
        let entries = status.update(live: deployment, new: .object(object), managed: [], manager: "controller", time: "T")
        #expect(entries.first?.fields == fields(#"{"f:status":{".":{},"f:replicas":{}}}"#))
        #expect(entries.first?.json["subresource"] == .string("status"))
    }

    @Test func objectsWithoutManagedFieldsStartWithBeforeFirstApply() throws {
        let live = json(#"{"metadata":{"name":"c"},"data":{"a":"1"}}"#)
        do {
            _ = try configMaps.apply(live: live, config: json(#"{"data":{"a":"2"}}"#), managed: [], manager: "kubectl",
                                     force: false, time: "T")
            Issue.record("expected a conflict")
        } catch {
            #expect(error.message.contains("conflict with \"before-first-apply\" using v1: .data.a"))
        }
    }

    @Test func managerNamesAndBaseEntries() throws {
        #expect(FieldManager.managerName(fieldManager: nil, userAgent: "kubectl/v1.33.1 (linux/amd64) kubernetes/8adc0f0") == "kubectl")
        #expect(FieldManager.managerName(fieldManager: "helm", userAgent: "Go-http-client/1.1") == "helm")
        let live = json(#"{"metadata":{"managedFields":[{"manager":"a","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{"f:data":{}}}]}}"#)
        #expect(FieldManager.baseEntries(live: live, request: json(#"{"metadata":{}}"#)).map(\.manager) == ["a"])
        #expect(FieldManager.baseEntries(live: live, request: json(#"{"metadata":{"managedFields":[]}}"#)).isEmpty)
        #expect(FieldManager.baseEntries(live: live, request: json(#"{"metadata":{"managedFields":[{}]}}"#)).isEmpty)
        let renamed = json(#"{"metadata":{"managedFields":[{"manager":"b","operation":"Apply","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{"f:data":{}}}]}}"#)
        #expect(FieldManager.baseEntries(live: live, request: renamed).map(\.manager) == ["b"])
        let encoded = ManagedFieldsEntry.encode([
            ManagedFieldsEntry(manager: "u", operation: .update, apiVersion: "v1", time: "2026-01-01T00:00:00Z", fields: FieldSet()),
            ManagedFieldsEntry(manager: "a", operation: .apply, apiVersion: "v1", time: "2026-02-01T00:00:00Z", fields: FieldSet()),
        ])
        #expect(encoded.arrayValue?.compactMap { $0["manager"]?.stringValue } == ["a", "u"])
    }
}
