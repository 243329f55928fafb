import Testing

/// The Accept header kubectl 1.30-1.33 sends for `/api` and `/apis`.
let aggregatedAccept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    + "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
/// What kubectl 1.27-1.29 send: v2beta1 only, which 1.33 servers no longer serve.
let v2beta1Accept = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
let aggregatedContentType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

@Suite("Discovery, version and metrics", .tags(.component))
struct DiscoveryTests {
    @Test func legacyCoreDiscovery() async throws {
        try await withServer { s in
            let api = try await s.http.get("/api")
            #expect(api.status == 200)
            #expect(api.contentType.hasPrefix("application/json"))
            #expect(api.json["kind"]?.string == "APIVersions")
            #expect(api.json["versions"] == ["v1"])
            #expect(api.json["serverAddressByClientCIDRs"]?.array?.isEmpty == false)

            let v1 = try await s.http.get("/api/v1")
            #expect(v1.json["kind"]?.string == "APIResourceList")
            #expect(v1.json["groupVersion"]?.string == "v1")
            let resources = v1.json["resources"]?.array ?? []
            let byName = Dictionary(resources.compactMap { r in r["name"]?.string.map { ($0, r) } }, uniquingKeysWith: { a, _ in a })
            let pods = try #require(byName["pods"])
            #expect(pods["kind"]?.string == "Pod")
            #expect(pods["namespaced"]?.bool == true)
            #expect(pods["singularName"]?.string == "pod")
            #expect(pods["shortNames"] == ["po"])
            #expect(pods["categories"]?.array?.contains("all") == true)
            for verb in ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"] {
                #expect(pods["verbs"]?.array?.contains(.string(verb)) == true, "pods verb \(verb)")
            }
            #expect(byName["pods/status"] != nil)
            #expect(byName["pods/binding"] != nil)
            #expect(byName["namespaces"]?["namespaced"]?.bool == false)
            #expect(byName["services"]?["shortNames"] == ["svc"])
            #expect(byName["configmaps"]?["shortNames"] == ["cm"])
        }
    }

    @Test func legacyGroupDiscovery() async throws {
        try await withServer { s in
            let apis = try await s.http.get("/apis")
            #expect(apis.json["kind"]?.string == "APIGroupList")
            let groups = apis.json["groups"]?.array ?? []
            let apps = try #require(groups.first { $0["name"]?.string == "apps" })
            #expect(apps["preferredVersion"]?["groupVersion"]?.string == "apps/v1")
            #expect(apps["versions"]?.array?.contains(["groupVersion": "apps/v1", "version": "v1"]) == true)
            #expect(groups.contains { $0["name"]?.string == "batch" })

            let group = try await s.http.get("/apis/apps")
            #expect(group.status == 200)
            #expect(group.json["kind"]?.string == "APIGroup")

            let appsV1 = try await s.http.get("/apis/apps/v1")
            #expect(appsV1.json["kind"]?.string == "APIResourceList")
            #expect(appsV1.json["groupVersion"]?.string == "apps/v1")
            let resources = appsV1.json["resources"]?.array ?? []
            let deployments = try #require(resources.first { $0["name"]?.string == "deployments" })
            #expect(deployments["kind"]?.string == "Deployment")
            #expect(deployments["shortNames"] == ["deploy"])
            let scale = try #require(resources.first { $0["name"]?.string == "deployments/scale" })
            #expect(scale["group"]?.string == "autoscaling")
            #expect(scale["version"]?.string == "v1")
            #expect(scale["kind"]?.string == "Scale")

            let missing = try await s.http.get("/apis/nosuch.example.com/v1")
            expectStatus(missing, 404, "NotFound")
        }
    }

    @Test func aggregatedDiscoveryV2() async throws {
        try await withServer { s in
            let core = try await s.http.get("/api", accept: aggregatedAccept)
            #expect(core.status == 200)
            #expect(core.contentType == aggregatedContentType, "\(core.contentType)")
            #expect(core.json["kind"]?.string == "APIGroupDiscoveryList")
            #expect(core.json["apiVersion"]?.string == "apidiscovery.k8s.io/v2")
            let coreItems = core.json["items"]?.array ?? []
            #expect(coreItems.count == 1)
            #expect(coreItems.first?.at("metadata.name")?.string ?? "x" == "")
            let v1 = try #require(coreItems.first?["versions"]?[0])
            #expect(v1["version"]?.string == "v1")
            #expect(v1["freshness"]?.string == "Current")
            let pods = try #require(v1["resources"]?.array?.first { $0["resource"]?.string == "pods" })
            #expect(pods["responseKind"] == ["group": "", "version": "v1", "kind": "Pod"])
            #expect(pods["scope"]?.string == "Namespaced")
            #expect(pods["singularResource"]?.string == "pod")
            #expect(pods["shortNames"] == ["po"])
            #expect(pods["categories"]?.array?.contains("all") == true)
            let subresources = pods["subresources"]?.array?.compactMap { $0["subresource"]?.string } ?? []
            #expect(subresources.contains("status"))
            #expect(subresources.contains("binding"))

            let groups = try await s.http.get("/apis", accept: aggregatedAccept)
            #expect(groups.contentType == aggregatedContentType)
            let items = groups.json["items"]?.array ?? []
            let apps = try #require(items.first { $0.at("metadata.name")?.string == "apps" })
            let deployments = try #require(apps["versions"]?[0]?["resources"]?.array?.first { $0["resource"]?.string == "deployments" })
            #expect(deployments["scope"]?.string == "Namespaced")
            let scale = try #require(deployments["subresources"]?.array?.first { $0["subresource"]?.string == "scale" })
            #expect(scale["responseKind"] == ["group": "autoscaling", "version": "v1", "kind": "Scale"])
            #expect(scale["verbs"]?.array?.contains("patch") == true)
            // The first version listed is the preferred one.
            let autoscaling = try #require(items.first { $0.at("metadata.name")?.string == "autoscaling" })
            #expect(autoscaling["versions"]?[0]?["version"]?.string == "v2")
        }
    }

    @Test func kubectl127AcceptGetsLegacyDocuments() async throws {
        try await withServer { s in
            for path in ["/api", "/apis"] {
                let r = try await s.http.get(path, accept: v2beta1Accept)
                #expect(r.status == 200)
                #expect(r.contentType.hasPrefix("application/json"))
                #expect(!r.contentType.contains("APIGroupDiscoveryList"), "\(path): \(r.contentType)")
                #expect(r.json["kind"]?.string == (path == "/api" ? "APIVersions" : "APIGroupList"))
            }
            // Plain `application/json, */*` too.
            let plain = try await s.http.get("/apis", accept: "application/json, */*")
            #expect(plain.json["kind"]?.string == "APIGroupList")
        }
    }

    @Test func version() async throws {
        try await withServer { s in
            let r = try await s.http.get("/version")
            #expect(r.status == 200)
            let v = r.json
            for field in ["major", "minor", "gitVersion", "gitCommit", "gitTreeState", "buildDate", "goVersion", "compiler", "platform"] {
                #expect((v[field]?.string ?? "") != "", "version.\(field) missing: \(r)")
            }
            #expect(v["major"]?.string == "1")
            #expect(v["gitVersion"]?.string?.hasPrefix("v1.") == true)
        }
    }

    @Test func metricsCountRequests() async throws {
        try await withServer { s in
            _ = try await s.http.get("/api/v1/namespaces/default/configmaps")
            let r = try await s.http.get("/metrics", accept: "text/plain")
            #expect(r.status == 200)
            #expect(r.contentType.hasPrefix("text/plain"))
            #expect(r.text.contains("apiserver_request_total"), "\(r.text.prefix(400))")
            let line = r.text.split(separator: "\n").first { $0.hasPrefix("apiserver_request_total{") && $0.contains("configmaps") }
            #expect(line != nil, "no apiserver_request_total line for configmaps")
            #expect(line?.contains("LIST") == true, "\(line ?? "")")
        }
    }

    @Test func openAPIv3ListsFieldValidation() async throws {
        try await withServer { s in
            let index = try await s.http.get("/openapi/v3")
            #expect(index.status == 200)
            let url = try #require(index.json["paths"]?["apis/apps/v1"]?["serverRelativeURL"]?.string)
            let doc = try await s.http.get(url)
            #expect(doc.status == 200)
            #expect(doc.text.contains("fieldValidation"))
            #expect(doc.text.contains("x-kubernetes-group-version-kind"))
        }
    }
}
