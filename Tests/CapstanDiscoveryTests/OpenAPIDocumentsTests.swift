import CapstanAPI
import CapstanDiscovery
import Foundation
import Testing

@Suite struct OpenAPIV3Tests {
    static let prefix = "#/components/schemas/"

    func document(_ path: String) throws -> (doc: [String: Any], schemas: [String: Any], paths: [String: Any]) {
        let doc = try object(Built.openAPI.document(forPath: path))
        let schemas = try #require(doc.dict("components")?.dict("schemas"))
        let paths = try #require(doc.dict("paths"))
        return (doc, schemas, paths)
    }

    @Test func indexListsEveryDocumentWithItsHash() throws {
        let index = try object(Built.openAPI.index)
        let paths = try #require(index.dict("paths"))
        for key in ["api", "apis", "api/v1", "apis/apps/v1", "apis/autoscaling/v1", "apis/autoscaling/v2", "apis/apps"] {
            let entry = try #require(paths.dict(key), "\(key)")
            let hash = try #require(Built.openAPI.hash(forPath: key))
            #expect(entry.string("serverRelativeURL") == "/openapi/v3/\(key)?hash=\(hash)")
        }
        #expect(Set(paths.keys) == Set(Built.openAPI.paths))
        #expect(Built.openAPI.document(forPath: "/openapi/v3/apis/apps/v1") == Built.openAPI.document(forPath: "apis/apps/v1"))
        #expect(Built.openAPI.document(forPath: "apis/apps/v9") == nil)
    }

    @Test func everyDocumentIsSelfContained() throws {
        for path in Built.openAPI.paths {
            let (doc, schemas, _) = try document(path)
            #expect(doc.string("openapi") == "3.0.0")
            #expect(doc.dict("info")?.string("title") == "Kubernetes")
            #expect(doc.dict("info")?.string("version") == "v1.33.0")
            for ref in references(in: doc) {
                #expect(ref.hasPrefix(Self.prefix), "\(path): \(ref)")
                #expect(schemas[String(ref.dropFirst(Self.prefix.count))] != nil, "\(path): \(ref) does not resolve")
            }
        }
    }

    @Test func deploymentSchema() throws {
        let (_, schemas, _) = try document("apis/apps/v1")
        let deployment = try #require(schemas["io.k8s.api.apps.v1.Deployment"] as? [String: Any])
        #expect(deployment.string("type") == "object")
        #expect(deployment.array("x-kubernetes-group-version-kind")?.first as? [String: String]
            == ["group": "apps", "version": "v1", "kind": "Deployment"])
        let properties = try #require(deployment.dict("properties"))
        #expect(properties.dict("apiVersion") as? [String: String] == ["type": "string"])
        let spec = try #require(properties.dict("spec"))
        #expect(spec.array("allOf")?.first?.string("$ref") == Self.prefix + "io.k8s.api.apps.v1.DeploymentSpec")
        #expect(schemas["io.k8s.api.apps.v1.DeploymentList"] != nil)
        #expect(schemas["io.k8s.api.autoscaling.v1.Scale"] != nil)
        #expect(schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"] != nil)
        #expect(schemas["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"] != nil)
        // Nothing of other groups beyond what apps reaches.
        #expect(schemas["io.k8s.api.batch.v1.Job"] == nil)

        // spec.template.spec.containers carries the list and patch semantics.
        let deploymentSpec = try #require(resolve(spec, in: schemas))
        let templateField = try #require(deploymentSpec.dict("properties")?.dict("template"))
        let template = try #require(resolve(templateField, in: schemas))
        let podSpecField = try #require(template.dict("properties")?.dict("spec"))
        let podSpec = try #require(resolve(podSpecField, in: schemas))
        let containers = try #require(podSpec.dict("properties")?.dict("containers"))
        #expect(containers.string("type") == "array")
        #expect(containers.string("x-kubernetes-list-type") == "map")
        #expect(containers.strings("x-kubernetes-list-map-keys") == ["name"])
        #expect(containers.string("x-kubernetes-patch-merge-key") == "name")
        #expect(containers.string("x-kubernetes-patch-strategy") == "merge")
        #expect(containers.dict("items")?.array("allOf")?.first?.string("$ref") == Self.prefix + "io.k8s.api.core.v1.Container")
        #expect(podSpec.strings("required") == ["containers"])
        let nodeSelector = try #require(podSpec.dict("properties")?.dict("nodeSelector"))
        #expect(nodeSelector.string("type") == "object")
        #expect(nodeSelector.dict("additionalProperties")?.string("type") == "string")
        #expect(nodeSelector.string("x-kubernetes-map-type") == "atomic")
        let priority = try #require(podSpec.dict("properties")?.dict("priority"))
        #expect(priority as? [String: String] == ["format": "int32", "type": "integer"])
    }

    @Test func specialTypes() throws {
        let (_, schemas, _) = try document("api/v1")
        let quantity = try #require(schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"] as? [String: Any])
        #expect(quantity.array("oneOf")?.map { $0.string("type")! } == ["string", "number"])
        let intOrString = try #require(schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] as? [String: Any])
        #expect(intOrString.string("format") == "int-or-string")
        #expect(intOrString.array("oneOf")?.map { $0.string("type")! } == ["integer", "string"])
        let time = try #require(schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"] as? [String: String])
        #expect(time == ["type": "string", "format": "date-time"])
        let meta = try #require(schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"] as? [String: Any])
        #expect(meta.dict("properties")?.dict("creationTimestamp")?.array("allOf")?.first?.string("$ref")
            == Self.prefix + "io.k8s.apimachinery.pkg.apis.meta.v1.Time")
        // The generated schema keeps no definition name for free-form fields: they are open objects.
        let managedFields = try #require(schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry"] as? [String: Any])
        let fieldsV1 = try #require(managedFields.dict("properties")?.dict("fieldsV1"))
        #expect(fieldsV1.string("type") == "object" || fieldsV1.array("allOf") != nil)
        let requirements = try #require(schemas["io.k8s.api.core.v1.ResourceRequirements"] as? [String: Any])
        #expect(requirements.dict("properties")?.dict("limits")?.dict("additionalProperties")?.array("allOf")?.first?.string("$ref")
            == Self.prefix + "io.k8s.apimachinery.pkg.api.resource.Quantity")
        let port = try #require(schemas["io.k8s.api.core.v1.ServicePort"] as? [String: Any])
        #expect(port.dict("properties")?.dict("targetPort")?.array("allOf")?.first?.string("$ref")
            == Self.prefix + "io.k8s.apimachinery.pkg.util.intstr.IntOrString")
    }

    @Test func writeOperationsListTheParametersKubectlLooksFor() throws {
        let (_, _, paths) = try document("apis/apps/v1")
        let collection = try #require(paths.dict("/apis/apps/v1/namespaces/{namespace}/deployments"))
        let item = try #require(paths.dict("/apis/apps/v1/namespaces/{namespace}/deployments/{name}"))
        func query(_ op: [String: Any]?) -> Set<String> {
            Set((op?.array("parameters") ?? []).filter { $0.string("in") == "query" }.map { $0.string("name")! })
        }
        for op in [collection.dict("post"), item.dict("put"), item.dict("patch")] {
            #expect(query(op).isSuperset(of: ["fieldValidation", "dryRun", "fieldManager"]))
            #expect(op?.dict("x-kubernetes-group-version-kind") as? [String: String]
                == ["group": "apps", "version": "v1", "kind": "Deployment"])
        }
        #expect(query(item.dict("patch")).contains("force"))
        #expect(!query(item.dict("put")).contains("force"))
        #expect(collection.dict("get")?.string("x-kubernetes-action") == "list")
        #expect(query(collection.dict("get")).isSuperset(of: ["watch", "labelSelector", "limit", "continue"]))
        #expect(collection.dict("delete")?.string("x-kubernetes-action") == "deletecollection")
        #expect(item.dict("get")?.string("x-kubernetes-action") == "get")
        #expect(item.dict("delete")?.string("x-kubernetes-action") == "delete")
        let pathParameters = Set((item.array("parameters") ?? []).filter { $0.string("in") == "path" }.map { $0.string("name")! })
        #expect(pathParameters == ["name", "namespace"])
        let patchBody = try #require(item.dict("patch")?.dict("requestBody")?.dict("content"))
        #expect(Set(patchBody.keys) == [
            "application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json",
            "application/strategic-merge-patch+json",
        ])
        #expect(paths.dict("/apis/apps/v1/deployments")?.dict("get")?.string("operationId") == "listAppsV1DeploymentForAllNamespaces")
        let scale = try #require(paths.dict("/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"))
        #expect(scale.dict("patch")?.dict("x-kubernetes-group-version-kind") as? [String: String]
            == ["group": "autoscaling", "version": "v1", "kind": "Scale"])
        #expect(paths.dict("/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status")?.dict("put") != nil)
    }

    /// kubectl sends fieldValidation=Strict only if the PATCH operation it finds first for the
    /// kind lists the parameter; it walks paths in map order, so every one must.
    @Test func everyPatchOperationListsFieldValidation() throws {
        for path in Built.openAPI.paths {
            let (_, _, paths) = try document(path)
            for (name, item) in paths {
                guard let patch = (item as? [String: Any])?.dict("patch") else { continue }
                #expect(patch.dict("x-kubernetes-group-version-kind") != nil, "\(name)")
                let parameters = (patch.array("parameters") ?? []).filter { $0.string("in") == "query" }.map { $0.string("name")! }
                #expect(parameters.contains("fieldValidation"), "\(name)")
            }
        }
    }

    @Test func coreResourcesAreNamespacedOrNot() throws {
        let (_, schemas, paths) = try document("api/v1")
        #expect(paths.dict("/api/v1/namespaces/{namespace}/pods")?.dict("post") != nil)
        #expect(paths.dict("/api/v1/namespaces/{namespace}/pods/{name}")?.dict("patch") != nil)
        #expect(paths.dict("/api/v1/pods")?.dict("get") != nil)
        #expect(paths.dict("/api/v1/nodes/{name}")?.dict("get") != nil)
        #expect(paths.dict("/api/v1/namespaces/{name}")?.dict("put") != nil)
        #expect(paths.dict("/api/v1/namespaces")?.dict("delete") == nil)  // no deletecollection for namespaces
        #expect(paths.dict("/api/v1/namespaces/{namespace}/pods/{name}/log")?.dict("get") != nil)
        #expect(paths.dict("/api/v1/namespaces/{namespace}/pods/{name}/eviction")?.dict("post")?
            .dict("x-kubernetes-group-version-kind")?.string("kind") == "Eviction")
        #expect(paths.dict("/api/v1/namespaces/{namespace}/pods/{name}/exec") == nil)
        #expect(paths.dict("/api/v1/namespaces/{namespace}/bindings")?.dict("post") != nil)
        #expect(schemas["io.k8s.api.policy.v1.Eviction"] != nil)
        #expect(schemas["io.k8s.api.authentication.v1.TokenRequest"] != nil)
    }

    /// What `kubectl explain deployment.spec` does: find the GVK on the resource's paths, then the
    /// schema that carries it, then follow the field path.
    @Test func explainCanFindTheKindAndItsFields() throws {
        for (gv, resource, kind) in [("apis/apps/v1", "deployments", "Deployment"), ("api/v1", "pods", "Pod"),
                                     ("api/v1", "nodes", "Node"), ("apis/batch/v1", "cronjobs", "CronJob")] {
            let (_, schemas, paths) = try document(gv)
            let prefix = "/" + gv
            var gvk: [String: String]?
            for p in ["\(prefix)/\(resource)", "\(prefix)/\(resource)/{name}", "\(prefix)/namespaces/{namespace}/\(resource)",
                      "\(prefix)/namespaces/{namespace}/\(resource)/{name}"] {
                guard let item = paths.dict(p) else { continue }
                for method in ["get", "post", "put", "patch", "delete"] {
                    if let found = item.dict(method)?.dict("x-kubernetes-group-version-kind") as? [String: String] {
                        gvk = found
                        break
                    }
                }
                if gvk != nil { break }
            }
            let found = try #require(gvk, "\(resource)")
            #expect(found["kind"] == kind)
            let matching = schemas.values.compactMap { $0 as? [String: Any] }.filter {
                ($0["x-kubernetes-group-version-kind"] as? [[String: String]])?.contains(found) == true
            }
            #expect(matching.count == 1, "\(resource)")
            let spec = try #require(matching.first?.dict("properties")?.dict("spec"))
            #expect(resolve(spec, in: schemas)?.dict("properties")?.isEmpty == false)
        }
    }
}

@Suite struct OpenAPIV2Tests {
    @Test func swaggerDocument() throws {
        let doc = try object(Built.openAPI.v2)
        #expect(doc.string("swagger") == "2.0")
        let definitions = try #require(doc.dict("definitions"))
        let deployment = try #require(definitions["io.k8s.api.apps.v1.Deployment"] as? [String: Any])
        #expect(deployment.dict("properties")?.dict("spec")?.string("$ref") == "#/definitions/io.k8s.api.apps.v1.DeploymentSpec")
        #expect((definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] as? [String: String])
            == ["type": "string", "format": "int-or-string"])
        for ref in references(in: doc) {
            #expect(ref.hasPrefix("#/definitions/"), "\(ref)")
            #expect(definitions[String(ref.dropFirst("#/definitions/".count))] != nil, "\(ref)")
        }
        let paths = try #require(doc.dict("paths"))
        let post = try #require(paths.dict("/apis/apps/v1/namespaces/{namespace}/deployments")?.dict("post"))
        let parameters = try #require(post.array("parameters"))
        #expect(parameters.contains { $0.string("name") == "fieldValidation" && $0.string("in") == "query" })
        #expect(parameters.first { $0.string("in") == "body" }?.dict("schema")?.string("$ref")
            == "#/definitions/io.k8s.api.apps.v1.Deployment")
        #expect(paths.dict("/api/v1/namespaces/{namespace}/pods/{name}")?.dict("patch")?.strings("consumes")?
            .contains("application/strategic-merge-patch+json") == true)
    }
}

@Suite struct CustomResourceOpenAPITests {
    @Test func additionalSchemasArePublishedWithTheirReferences() throws {
        let widget = ServedResource(
            group: "example.com", version: "v1", kind: "Widget", plural: "widgets", singular: "widget", namespaced: true,
            verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
            definition: "com.example.v1.Widget")
        let schema: JSONValue = .object([
            "type": .string("object"),
            "x-kubernetes-group-version-kind": .array([.object([
                "group": .string("example.com"), "version": .string("v1"), "kind": .string("Widget"),
            ])]),
            "properties": .object([
                "metadata": .object(["allOf": .array([.object([
                    "$ref": .string("#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
                ])])]),
                "spec": .object(["type": .string("object"), "x-kubernetes-preserve-unknown-fields": .bool(true)]),
            ]),
        ])
        let docs = OpenAPIDocuments(resources: Built.resources + [widget], additionalSchemas: ["com.example.v1.Widget": schema])
        let doc = try object(docs.document(forPath: "apis/example.com/v1"))
        let schemas = try #require(doc.dict("components")?.dict("schemas"))
        #expect(schemas["com.example.v1.Widget"] != nil)
        #expect(schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"] != nil)
        #expect(schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"] != nil)
        let patch = try #require(doc.dict("paths")?.dict("/apis/example.com/v1/namespaces/{namespace}/widgets/{name}")?.dict("patch"))
        #expect(patch.array("parameters")?.contains { $0.string("name") == "fieldValidation" } == true)
        let v2 = try object(docs.v2)
        let v2Widget = try #require(v2.dict("definitions")?.dict("com.example.v1.Widget"))
        #expect(references(in: v2Widget) == ["#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"])
    }
}
