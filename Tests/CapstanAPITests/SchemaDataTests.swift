import CapstanAPI
import Testing

@Suite("Generated schema metadata")
struct SchemaDataTests {
    let schema = APISchema.builtIn

    @Test func resourcesResolve() throws {
        #expect(schema.resources.count >= 60)
        for r in schema.resources {
            let t = try #require(schema.type(r.definition), "\(r.kind) has no schema")
            #expect(t.gvk?.kind == r.kind || r.group == "autoscaling", "\(r.definition)")
            #expect(!r.verbs.isEmpty)
        }
        let pods = try #require(schema.resource(group: "", version: "v1", plural: "pods"))
        #expect(pods.namespaced && pods.shortNames == ["po"] && pods.categories == ["all"])
        #expect(pods.subresources.contains { $0.name == "binding" && $0.kind == "Binding" })
        let deploy = try #require(schema.resource(for: GroupVersionKind(group: "apps", version: "v1", kind: "Deployment")))
        #expect(deploy.plural == "deployments")
        #expect(deploy.subresources.first { $0.name == "scale" }?.group == "autoscaling")
        let nodes = try #require(schema.resource(group: "", version: "v1", plural: "nodes"))
        #expect(!nodes.namespaced)
    }

    @Test func patchAndListMetadata() throws {
        let podSpec = try #require(schema.type("io.k8s.api.core.v1.PodSpec")?.fields)
        let containers = try #require(podSpec["containers"])
        #expect(containers.kind == .array)
        #expect(containers.patchMergeKey == "name")
        #expect(containers.patchStrategy == "merge")
        #expect(containers.listType == "map")
        #expect(containers.listMapKeys == ["name"])
        #expect(containers.items?.ref == "io.k8s.api.core.v1.Container")
        let strategy = try #require(schema.type("io.k8s.api.apps.v1.DeploymentSpec")?.fields?["strategy"])
        #expect(strategy.patchStrategy == "retainKeys")
        let finalizers = try #require(schema.type("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")?.fields?["finalizers"])
        #expect(finalizers.listType == "set")
        let limits = try #require(schema.type("io.k8s.api.core.v1.ResourceRequirements")?.fields?["limits"])
        #expect(limits.kind == .map && limits.values?.kind == .quantity)
        #expect(schema.type("io.k8s.api.core.v1.Container")?.required == ["name"])
    }
}
