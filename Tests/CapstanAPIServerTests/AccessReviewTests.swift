import Foundation
import Testing

@Suite("Access reviews, SelfSubjectReview and TokenReview over HTTP", .tags(.component))
struct AccessReviewTests {
    static let authz = "/apis/authorization.k8s.io/v1"
    static let authn = "/apis/authentication.k8s.io/v1"

    @Test func selfSubjectReviewReportsTheCaller() async throws {
        try await withServer { s in
            let r = try await s.http.post(Self.authn + "/selfsubjectreviews",
                                          ["apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"])
            #expect(r.status == 201, "\(r)")
            #expect(r.json["kind"]?.string == "SelfSubjectReview")
            #expect(r.json.at("status.userInfo.username")?.string == "system:admin")
            #expect(r.json.at("status.userInfo.groups") == ["system:masters", "system:authenticated"])
            // Never stored.
            #expect(try await s.http.get(Self.authn + "/selfsubjectreviews").json["items"]?.array?.isEmpty ?? true)
        }
    }

    static let accessCases: [(String, JSON, Int)] = [
        ("selfsubjectaccessreviews", ["spec": ["resourceAttributes": ["verb": "create", "resource": "pods", "namespace": "default"]]], 201),
        ("selfsubjectaccessreviews", ["spec": ["nonResourceAttributes": ["verb": "get", "path": "/healthz"]]], 201),
        ("selfsubjectaccessreviews", ["spec": [:]], 422),
        ("selfsubjectaccessreviews", ["spec": ["resourceAttributes": ["verb": "get"], "nonResourceAttributes": ["verb": "get", "path": "/"]]], 422),
        ("subjectaccessreviews", ["spec": ["user": "bob", "resourceAttributes": ["verb": "list", "resource": "secrets"]]], 201),
        ("subjectaccessreviews", ["spec": ["resourceAttributes": ["verb": "list", "resource": "secrets"]]], 422),
        ("namespaces/default/localsubjectaccessreviews",
         ["spec": ["groups": ["dev"], "resourceAttributes": ["verb": "get", "resource": "pods", "namespace": "default"]]], 201),
        ("namespaces/default/localsubjectaccessreviews",
         ["spec": ["groups": ["dev"], "resourceAttributes": ["verb": "get", "resource": "pods", "namespace": "other"]]], 422),
    ]

    @Test(arguments: accessCases)
    func accessReviewsAllowEverythingValid(_ c: (String, JSON, Int)) async throws {
        try await withServer { s in
            let r = try await s.http.post(Self.authz + "/" + c.0, c.1)
            if c.2 == 201 {
                #expect(r.status == 201, "\(r)")
                #expect(r.json.at("status.allowed") == true)
                #expect(r.json.at("status.reason")?.string?.isEmpty == false)
                #expect(r.json["apiVersion"]?.string == "authorization.k8s.io/v1")
            } else {
                expectStatus(r, c.2, "Invalid")
            }
        }
    }

    @Test func rulesReviewAcceptsNullListsAndListsWildcards() async throws {
        try await withServer { s in
            let body = #"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectRulesReview","spec":{"namespace":"default"},"status":{"resourceRules":null,"nonResourceRules":null,"incomplete":false}}"#
            let r = try await s.http.send("POST", Self.authz + "/selfsubjectrulesreviews", body: Data(body.utf8))
            #expect(r.status == 201, "\(r)")
            #expect(r.json.at("status.resourceRules")?.array?.first?["verbs"] == ["*"])
            #expect(r.json.at("status.nonResourceRules")?.array?.first?["nonResourceURLs"] == ["*"])
            #expect(r.json.at("status.incomplete") == false)
        }
    }

    @Test func tokenReviewChecksTheTokenFile() async throws {
        let dir = try TestServer.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tokenFile = dir + "/tokens.csv"
        try "good-token,carol,carol-uid,\"dev,ops\"\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try await withServer(tokenFile: tokenFile) { s in
            let good = try await s.http.send("POST", Self.authn + "/tokenreviews", body: Data(
                #"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"good-token","audiences":null}}"#.utf8))
            #expect(good.status == 201, "\(good)")
            #expect(good.json.at("status.authenticated") == true)
            #expect(good.json.at("status.user.username")?.string == "carol")
            #expect(good.json.at("status.user.uid")?.string == "carol-uid")
            #expect(good.json.at("status.user.groups") == ["dev", "ops", "system:authenticated"])
            let bad = try await s.http.post(Self.authn + "/tokenreviews", ["spec": ["token": "nope"]])
            #expect(bad.status == 201 && bad.json.at("status.authenticated") == false, "\(bad)")
            let empty = try await s.http.post(Self.authn + "/tokenreviews", ["spec": [:]])
            expectStatus(empty, 422, "Invalid", messageContains: "spec.token: Required value")
        }
    }

    @Test func malformedReviewsAreBadRequests() async throws {
        try await withServer { s in
            let r = try await s.http.send("POST", Self.authz + "/selfsubjectaccessreviews", body: Data("[1]".utf8))
            expectStatus(r, 400, "BadRequest")
            let wrongKind = try await s.http.post(Self.authz + "/selfsubjectaccessreviews", ["kind": "Pod", "spec": [:]])
            expectStatus(wrongKind, 400, "BadRequest", messageContains: "does not match the expected kind")
        }
    }
}
