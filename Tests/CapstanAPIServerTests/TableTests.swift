import Testing

let tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

@Suite("Server-side printing (Table)", .tags(.component))
struct TableTests {
    func table(_ s: TestServer, _ path: String) async throws -> JSON {
        let r = try await s.http.get(path, accept: tableAccept)
        #expect(r.status == 200, "\(r)")
        #expect(r.contentType == "application/json;as=Table;v=v1;g=meta.k8s.io", "\(r.contentType)")
        #expect(r.json["kind"]?.string == "Table")
        #expect(r.json["apiVersion"]?.string == "meta.k8s.io/v1")
        return r.json
    }

    func columns(_ t: JSON) -> [String] { (t["columnDefinitions"]?.array ?? []).compactMap { $0["name"]?.string } }
    func priorities(_ t: JSON) -> [Int] { (t["columnDefinitions"]?.array ?? []).map { $0["priority"]?.int ?? 0 } }

    @Test func pods() async throws {
        try await withServer { s in
            try await s.http.create(SubresourceTests.pods, Fixtures.pod("tp", nodeName: "node-1"))
            let t = try await table(s, SubresourceTests.pods)
            #expect(columns(t) == ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"])
            #expect(priorities(t) == [0, 0, 0, 0, 0, 1, 1, 1, 1])
            let row = try #require(t["rows"]?[0])
            let cells = row["cells"]?.array ?? []
            #expect(cells.count == 9)
            #expect(cells.first?.string == "tp")
            #expect(cells[safe: 1]?.string == "0/1")
            #expect(cells[safe: 2]?.string == "Pending")
            #expect(cells[safe: 3]?.string == "0")
            #expect(cells[safe: 6]?.string == "node-1")
            // includeObject defaults to metadata: a PartialObjectMetadata.
            #expect(row["object"]?["kind"]?.string == "PartialObjectMetadata")
            #expect(row["object"]?.at("metadata.name")?.string == "tp")
            #expect(t.at("metadata.resourceVersion") != nil)

            // A single object as a Table; includeObject=Object embeds the pod.
            let one = try await s.http.get(SubresourceTests.pods + "/tp?includeObject=Object", accept: tableAccept)
            #expect(one.json["rows"]?.array?.count == 1)
            #expect(one.json["rows"]?[0]?["object"]?["kind"]?.string == "Pod")
            let none = try await s.http.get(SubresourceTests.pods + "/tp?includeObject=None", accept: tableAccept)
            #expect(none.json["rows"]?[0]?["object"] == nil || none.json["rows"]?[0]?["object"] == .null)
        }
    }

    @Test func deployments() async throws {
        try await withServer { s in
            try await s.http.create(MetadataTests.deployments, Fixtures.deployment("td", replicas: 3, image: "nginx:1.27"))
            let t = try await table(s, MetadataTests.deployments)
            #expect(columns(t) == ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"])
            let cells = t["rows"]?[0]?["cells"]?.array ?? []
            #expect(cells.first?.string == "td")
            #expect(cells[safe: 1]?.string == "0/3")
            #expect(cells[safe: 5]?.string == "web")
            #expect(cells[safe: 6]?.string == "nginx:1.27")
            #expect(cells[safe: 7]?.string == "app=td")
        }
    }

    @Test func services() async throws {
        try await withServer { s in
            let svc = try await s.http.create("/api/v1/namespaces/default/services", Fixtures.service("ts", type: "NodePort"))
            let t = try await table(s, "/api/v1/namespaces/default/services?fieldSelector=" + q("metadata.name=ts"))
            #expect(columns(t) == ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"])
            let cells = t["rows"]?[0]?["cells"]?.array ?? []
            #expect(cells.first?.string == "ts")
            #expect(cells[safe: 1]?.string == "NodePort")
            #expect(cells[safe: 2] == svc.at("spec.clusterIP"))
            #expect(cells[safe: 3]?.string == "<none>")
            let nodePort = svc.at("spec.ports.0.nodePort")?.int ?? 0
            #expect(cells[safe: 4]?.string == "80:\(nodePort)/TCP")
            #expect(cells[safe: 6]?.string == "app=ts")
        }
    }

    @Test func pagedTableListKeepsContinue() async throws {
        try await withServer { s in
            for i in 0..<3 { try await s.http.create(CRUDTests.cms, Fixtures.configMap("t\(i)")) }
            let t = try await table(s, CRUDTests.cms + "?limit=2")
            #expect(t["rows"]?.array?.count == 2)
            #expect((t.at("metadata.continue")?.string ?? "") != "")
            #expect(columns(t) == ["Name", "Data", "Age"])
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
