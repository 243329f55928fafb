import Testing

/// ClusterIPs and NodePorts are allocated only for Services that are actually stored.
@Suite("Service IP and port allocation", .tags(.component))
struct ServiceAllocationTests {
    static let services = "/api/v1/namespaces/default/services"

    func service(_ name: String, clusterIP: String, nodePort: Int64? = nil) -> JSON {
        var port: JSON = ["port": 80]
        if let nodePort { port["nodePort"] = .int(nodePort) }
        return ["apiVersion": "v1", "kind": "Service", "metadata": ["name": .string(name)],
                "spec": ["type": nodePort == nil ? "ClusterIP" : "NodePort", "clusterIP": .string(clusterIP), "ports": [port]]]
    }

    @Test func requestedClusterIPAlreadyTakenIsInvalid() async throws {
        try await withServer { s in
            try await s.http.create(Self.services, service("first", clusterIP: "10.43.9.9"))
            let r = try await s.http.post(Self.services, service("second", clusterIP: "10.43.9.9"))
            expectStatus(r, 422, "Invalid")
            #expect(r.json.at("details.causes")?.array?.contains { $0["field"]?.string?.hasPrefix("spec.clusterIP") == true } == true, "\(r)")
            #expect(r.json.at("details.name")?.string == "second", "the Status names the Service: \(r)")
            #expect(r.json["message"]?.string?.hasPrefix("Service \"second\" is invalid") == true, "\(r)")
            let outside = try await s.http.post(Self.services, service("outside", clusterIP: "192.168.1.1"))
            expectStatus(outside, 422, "Invalid")
        }
    }

    @Test func dryRunAllocatesNothing() async throws {
        try await withServer { s in
            let dry = try await s.http.post(Self.services, service("dry", clusterIP: "10.43.9.10", nodePort: 31010), query: "?dryRun=All")
            #expect(dry.status == 201, "\(dry)")
            let real = try await s.http.post(Self.services, service("real", clusterIP: "10.43.9.10", nodePort: 31010))
            fixedBug("fixed: dryRun=All Service create keeps its ClusterIP/NodePort allocated") {
                #expect(real.status == 201, "a dry run must not keep 10.43.9.10 / 31010 allocated: \(real)")
            }
        }
    }

    @Test func failedCreatesReleaseTheirAllocations() async throws {
        try await withServer { s in
            // Invalid name (422), missing namespace (404), duplicate name (409): nothing is stored,
            // so the requested IPs stay free.
            let invalid = try await s.http.post(Self.services, service("Bad_Name", clusterIP: "10.43.9.20"))
            expectStatus(invalid, 422, "Invalid")
            let missingNS = try await s.http.post("/api/v1/namespaces/nowhere/services", service("x", clusterIP: "10.43.9.21"))
            expectStatus(missingNS, 404, "NotFound")
            try await s.http.create(Self.services, service("taken", clusterIP: "10.43.9.22"))
            let duplicate = try await s.http.post(Self.services, service("taken", clusterIP: "10.43.9.23"))
            expectStatus(duplicate, 409, "AlreadyExists")

            for (i, ip) in ["10.43.9.20", "10.43.9.21", "10.43.9.23"].enumerated() {
                let r = try await s.http.post(Self.services, service("retry\(i)", clusterIP: ip))
                fixedBug("fixed: a Service create that fails (422/404/409) keeps its ClusterIP allocated") {
                    #expect(r.status == 201, "\(ip) leaked by a failed create: \(r)")
                }
            }
        }
    }

    @Test func deleteReleasesIPAndNodePort() async throws {
        try await withServer { s in
            try await s.http.create(Self.services, service("a", clusterIP: "10.43.9.30", nodePort: 31030))
            _ = try await s.http.delete(Self.services + "/a")
            let again = try await s.http.post(Self.services, service("b", clusterIP: "10.43.9.30", nodePort: 31030))
            #expect(again.status == 201, "\(again)")
        }
    }
}
