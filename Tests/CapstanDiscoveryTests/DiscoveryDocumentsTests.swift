import CapstanAPI
import CapstanDiscovery
import Foundation
import Testing

@Suite struct LegacyDiscoveryTests {
    @Test func apiVersionsListsV1AndTheServerAddress() throws {
        let doc = try object(Built.discovery.apiVersions)
        #expect(doc.string("kind") == "APIVersions")
        #expect(doc.strings("versions") == ["v1"])
        let address = try #require(doc.array("serverAddressByClientCIDRs")?.first)
        #expect(address.string("clientCIDR") == "0.0.0.0/0")
        #expect(address.string("serverAddress") == "127.0.0.1:6443")
    }

    @Test func groupsAreInKubernetesPriorityOrderWithPreferredVersionsFirst() throws {
        let doc = try object(Built.discovery.apiGroupList)
        #expect(doc.string("kind") == "APIGroupList")
        #expect(doc.string("apiVersion") == "v1")
        let groups = try #require(doc.array("groups"))
        #expect(groups.map { $0.string("name")! } == [
            "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io",
            "autoscaling", "batch", "certificates.k8s.io", "networking.k8s.io", "policy", "rbac.authorization.k8s.io",
            "storage.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io", "scheduling.k8s.io",
            "coordination.k8s.io", "node.k8s.io", "discovery.k8s.io", "flowcontrol.apiserver.k8s.io",
        ])
        let autoscaling = try #require(groups.first { $0.string("name") == "autoscaling" })
        #expect(autoscaling.array("versions")?.map { $0.string("groupVersion")! } == ["autoscaling/v2", "autoscaling/v1"])
        #expect(autoscaling.dict("preferredVersion")?.string("groupVersion") == "autoscaling/v2")
        #expect(autoscaling.dict("preferredVersion")?.string("version") == "v2")

        let apps = try object(Built.discovery.apiGroup("apps"))
        #expect(apps.string("kind") == "APIGroup")
        #expect(apps.string("name") == "apps")
        #expect(Built.discovery.apiGroup("nope") == nil)
    }

    @Test func podsAndTheirSubresources() throws {
        let doc = try object(Built.discovery.resourceList(group: "", version: "v1"))
        #expect(doc.string("kind") == "APIResourceList")
        #expect(doc.string("groupVersion") == "v1")
        let resources = try #require(doc.array("resources"))
        let names = resources.map { $0.string("name")! }
        #expect(names == names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        func entry(_ name: String) throws -> [String: Any] { try #require(resources.first { $0.string("name") == name }) }

        let pods = try entry("pods")
        #expect(pods.string("singularName") == "pod")
        #expect(pods["namespaced"] as? Bool == true)
        #expect(pods.string("kind") == "Pod")
        #expect(pods.strings("verbs") == ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"])
        #expect(pods.strings("shortNames") == ["po"])
        #expect(pods.strings("categories") == ["all"])
        #expect(pods.string("storageVersionHash") == "xPOwRZ+Yhw8=")

        let status = try entry("pods/status")
        #expect(status.string("singularName") == "")
        #expect(status.string("kind") == "Pod")
        #expect(status.strings("verbs") == ["get", "patch", "update"])
        #expect(status["group"] == nil && status["version"] == nil && status["storageVersionHash"] == nil)
        #expect(try entry("pods/log").strings("verbs") == ["get"])
        #expect(try entry("pods/log").string("kind") == "Pod")
        #expect(try entry("pods/exec").strings("verbs") == ["create", "get"])
        #expect(try entry("pods/exec").string("kind") == "PodExecOptions")
        #expect(try entry("pods/attach").strings("verbs") == ["create", "get"])
        #expect(try entry("pods/portforward").strings("verbs") == ["create", "get"])
        #expect(try entry("pods/proxy").strings("verbs") == ["create", "delete", "get", "patch", "update"])
        #expect(try entry("nodes/proxy").string("kind") == "NodeProxyOptions")
        #expect(try entry("services/proxy").string("kind") == "ServiceProxyOptions")
        #expect(try entry("pods/ephemeralcontainers").strings("verbs") == ["get", "patch", "update"])
        #expect(try entry("pods/resize").strings("verbs") == ["get", "patch", "update"])
        let eviction = try entry("pods/eviction")
        #expect(eviction.string("group") == "policy" && eviction.string("version") == "v1")
        #expect(eviction.string("kind") == "Eviction" && eviction.strings("verbs") == ["create"])
        let binding = try entry("pods/binding")
        #expect(binding.string("kind") == "Binding" && binding["group"] == nil && binding.strings("verbs") == ["create"])
        let token = try entry("serviceaccounts/token")
        #expect(token.string("group") == "authentication.k8s.io" && token.string("kind") == "TokenRequest")
        #expect(token.strings("verbs") == ["create"])
        #expect(try entry("namespaces/finalize").strings("verbs") == ["update"])

        // Resources without storage publish no hash.
        #expect(try entry("bindings")["storageVersionHash"] == nil)
        #expect(try entry("componentstatuses")["storageVersionHash"] == nil)
        #expect(try entry("configmaps").string("storageVersionHash") == "qFsyl6wFWjQ=")
    }

    @Test func deploymentScaleSpeaksAutoscalingV1Scale() throws {
        let doc = try object(Built.discovery.resourceList(group: "apps", version: "v1"))
        #expect(doc.string("groupVersion") == "apps/v1")
        let resources = try #require(doc.array("resources"))
        let scale = try #require(resources.first { $0.string("name") == "deployments/scale" })
        #expect(scale.string("group") == "autoscaling")
        #expect(scale.string("version") == "v1")
        #expect(scale.string("kind") == "Scale")
        #expect(scale.strings("verbs") == ["get", "patch", "update"])
        let deployments = try #require(resources.first { $0.string("name") == "deployments" })
        #expect(deployments.strings("shortNames") == ["deploy"])
        #expect(deployments.string("singularName") == "deployment")

        let csr = try object(Built.discovery.resourceList(group: "certificates.k8s.io", version: "v1"))
        let approval = try #require(csr.array("resources")?.first { $0.string("name") == "certificatesigningrequests/approval" })
        #expect(approval.strings("verbs") == ["get", "patch", "update"])
    }

    @Test func versionsOfOneResourceShareTheStorageVersionHash() throws {
        func hpa(_ version: String) throws -> String? {
            let doc = try object(Built.discovery.resourceList(group: "autoscaling", version: version))
            return doc.array("resources")?.first { $0.string("name") == "horizontalpodautoscalers" }?.string("storageVersionHash")
        }
        let v2 = try hpa("v2")
        #expect(v2 != nil)
        #expect(try hpa("v1") == v2)
        #expect(v2 == DocumentHash.storageVersionHash(group: "autoscaling", version: "v2", kind: "HorizontalPodAutoscaler"))
    }

    @Test func unknownGroupVersionsHaveNoDocument() {
        #expect(Built.discovery.resourceList(group: "", version: "v2") == nil)
        #expect(Built.discovery.resourceList(group: "apps", version: "v1beta1") == nil)
        #expect(Built.discovery.resourceList(group: "apps", version: "v1") != nil)
        #expect(Built.discovery.groupVersions.first == "v1")
        #expect(Built.discovery.groupVersions.contains("autoscaling/v1"))
    }
}

@Suite struct AggregatedDiscoveryTests {
    @Test func coreDocument() throws {
        let doc = try object(Built.discovery.aggregatedCore)
        #expect(doc.string("kind") == "APIGroupDiscoveryList")
        #expect(doc.string("apiVersion") == "apidiscovery.k8s.io/v2")
        #expect(doc.dict("metadata") != nil)
        let items = try #require(doc.array("items"))
        #expect(items.count == 1)
        #expect(items[0].dict("metadata")?.string("name") == "")
        let versions = try #require(items[0].array("versions"))
        #expect(versions.map { $0.string("version")! } == ["v1"])
        #expect(versions[0].string("freshness") == "Current")
        let resources = try #require(versions[0].array("resources"))
        let pods = try #require(resources.first { $0.string("resource") == "pods" })
        #expect(pods.dict("responseKind")?.string("kind") == "Pod")
        #expect(pods.dict("responseKind")?.string("group") == "")
        #expect(pods.dict("responseKind")?.string("version") == "v1")
        #expect(pods.string("scope") == "Namespaced")
        #expect(pods.string("singularResource") == "pod")
        #expect(pods.strings("shortNames") == ["po"])
        #expect(pods.strings("categories") == ["all"])
        #expect(pods.strings("verbs")?.contains("watch") == true)
        let subresources = try #require(pods.array("subresources"))
        let exec = try #require(subresources.first { $0.string("subresource") == "exec" })
        #expect(exec.strings("verbs") == ["create", "get"])
        let eviction = try #require(subresources.first { $0.string("subresource") == "eviction" })
        #expect(eviction.dict("responseKind")?.string("group") == "policy")
        #expect(eviction.dict("responseKind")?.string("kind") == "Eviction")
        let nodes = try #require(resources.first { $0.string("resource") == "nodes" })
        #expect(nodes.string("scope") == "Cluster")
        let configmaps = try #require(resources.first { $0.string("resource") == "configmaps" })
        #expect(configmaps["subresources"] == nil && configmaps["categories"] == nil)
    }

    @Test func groupsDocument() throws {
        let doc = try object(Built.discovery.aggregatedGroups)
        #expect(doc.string("kind") == "APIGroupDiscoveryList")
        let items = try #require(doc.array("items"))
        let legacy = try #require(try object(Built.discovery.apiGroupList).array("groups"))
        #expect(items.map { $0.dict("metadata")!.string("name")! } == legacy.map { $0.string("name")! })
        let autoscaling = try #require(items.first { $0.dict("metadata")?.string("name") == "autoscaling" })
        #expect(autoscaling.array("versions")?.map { $0.string("version")! } == ["v2", "v1"])
        let apps = try #require(items.first { $0.dict("metadata")?.string("name") == "apps" })
        let deployments = try #require(apps.array("versions")?[0].array("resources")?.first { $0.string("resource") == "deployments" })
        let scale = try #require(deployments.array("subresources")?.first { $0.string("subresource") == "scale" })
        #expect(scale.dict("responseKind") as? [String: String] == ["group": "autoscaling", "version": "v1", "kind": "Scale"])
        #expect(scale.strings("verbs") == ["get", "patch", "update"])
        #expect(deployments.dict("responseKind") as? [String: String] == ["group": "apps", "version": "v1", "kind": "Deployment"])
    }

    /// kubectl expands a category by walking discovery in order and keeping each group/resource once.
    @Test func theAllCategoryExpandsInDiscoveryOrder() throws {
        var expanded: [String] = []
        for bytes in [Built.discovery.aggregatedCore, Built.discovery.aggregatedGroups] {
            for item in try #require(try object(bytes).array("items")) {
                let group = item.dict("metadata")?.string("name") ?? ""
                for version in item.array("versions") ?? [] {
                    for r in version.array("resources") ?? [] where r.strings("categories")?.contains("all") == true {
                        let name = group.isEmpty ? r.string("resource")! : "\(r.string("resource")!).\(group)"
                        if !expanded.contains(name) { expanded.append(name) }
                    }
                }
            }
        }
        #expect(expanded == [
            "pods", "replicationcontrollers", "services",
            "daemonsets.apps", "deployments.apps", "replicasets.apps", "statefulsets.apps",
            "horizontalpodautoscalers.autoscaling", "cronjobs.batch", "jobs.batch",
        ])
    }

    @Test func customResourcesJoinAfterTheBuiltInGroups() throws {
        let widget = ServedResource(
            group: "example.com", version: "v1", kind: "Widget", plural: "widgets", singular: "widget", namespaced: true,
            shortNames: ["wd"], categories: ["all"], verbs: ["get", "list", "watch", "create"],
            subresources: [.init(name: "status", responseKind: .init(group: "example.com", version: "v1", kind: "Widget"),
                                 verbs: ["get", "patch", "update"])])
        let old = ServedResource(group: "example.com", version: "v1beta1", kind: "Widget", plural: "widgets",
                                 singular: "widget", namespaced: true, verbs: ["get"])
        let docs = DiscoveryDocuments(resources: Built.resources + [old, widget], serverAddress: "h:1")
        let groups = try #require(try object(docs.apiGroupList).array("groups"))
        #expect(groups.last?.string("name") == "example.com")
        #expect(groups.last?.array("versions")?.map { $0.string("version")! } == ["v1", "v1beta1"])
        let list = try object(docs.resourceList(group: "example.com", version: "v1"))
        #expect(list.array("resources")?.map { $0.string("name")! } == ["widgets", "widgets/status"])
    }
}

@Suite struct NegotiationTests {
    @Test func kubectl133GetsAggregatedV2() {
        let accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
            + "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
        #expect(DiscoveryFormat.negotiate(accept: accept) == .aggregatedV2)
        #expect(DiscoveryFormat.aggregatedV2.contentType == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    }

    @Test func kubectl127GetsLegacy() {
        let accept = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
        #expect(DiscoveryFormat.negotiate(accept: accept) == .legacy)
        #expect(DiscoveryFormat.legacy.contentType == "application/json")
    }

    @Test func plainAndMissingHeaders() {
        #expect(DiscoveryFormat.negotiate(accept: nil) == .legacy)
        #expect(DiscoveryFormat.negotiate(accept: "") == .legacy)
        #expect(DiscoveryFormat.negotiate(accept: "application/json, */*") == .legacy)
        #expect(DiscoveryFormat.negotiate(accept: "*/*") == .legacy)
        #expect(DiscoveryFormat.negotiate(accept: "application/yaml") == nil)
        #expect(DiscoveryFormat.negotiate(accept: "application/vnd.kubernetes.protobuf") == nil)
        #expect(DiscoveryFormat.negotiate(
            accept: "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList") == nil)
    }

    @Test func qualityAndSpacing() {
        #expect(DiscoveryFormat.negotiate(
            accept: "application/json;q=0.5, application/json; g=apidiscovery.k8s.io; v=v2; as=APIGroupDiscoveryList") == .aggregatedV2)
        #expect(DiscoveryFormat.negotiate(
            accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;q=0, application/json") == .legacy)
        #expect(DiscoveryFormat.negotiate(accept: "APPLICATION/JSON") == .legacy)
    }
}

@Suite struct OrderingAndHashTests {
    @Test func kubeAwareVersionOrder() {
        let sorted = ["v1", "v2beta1", "v1alpha1", "v2", "foo", "v10", "v11beta2", "v1beta10", "v1beta2"]
            .sorted(by: APIOrdering.versionPrecedes)
        #expect(sorted == ["v10", "v2", "v1", "v11beta2", "v2beta1", "v1beta10", "v1beta2", "v1alpha1", "foo"])
    }

    @Test func hashes() {
        #expect(DocumentHash.fnv1a64Hex([]) == "CBF29CE484222325")
        #expect(DocumentHash.fnv1a64Hex(Array("a".utf8)) == "AF63DC4C8601EC8C")
        #expect(DocumentHash.storageVersionHash(group: "", version: "v1", kind: "Pod") == "xPOwRZ+Yhw8=")
        #expect(DocumentHash.storageVersionHash(group: "", version: "v1", kind: "PersistentVolume") == "HN/zwEC+JgM=")
    }

    @Test func documentsAreDeterministic() {
        let again = DiscoveryDocuments(resources: ServedResource.builtIn(), serverAddress: "127.0.0.1:6443")
        #expect(again.aggregatedGroups == Built.discovery.aggregatedGroups)
        #expect(again.apiGroupList == Built.discovery.apiGroupList)
        let openAPI = OpenAPIDocuments(resources: ServedResource.builtIn())
        #expect(openAPI.index == Built.openAPI.index)
        #expect(openAPI.v2 == Built.openAPI.v2)
    }
}
