import Foundation
import Testing

/// Percent-encodes a query value.
func q(_ value: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
}

@Suite("List: selectors, paging, resourceVersion", .tags(.component))
struct ListTests {
    static let pods = "/api/v1/namespaces/default/pods"

    /// Pods a..e with labels for every selector operator.
    static func seed(_ s: TestServer) async throws {
        let labels: [(String, [String: String])] = [
            ("a", ["app": "web", "tier": "frontend"]),
            ("b", ["app": "web", "tier": "backend"]),
            ("c", ["app": "db", "tier": "backend"]),
            ("d", ["app": "cache"]),
            ("e", [:]),
        ]
        for (name, l) in labels { try await s.http.create(pods, Fixtures.pod(name, labels: l)) }
    }

    @Test(arguments: [
        ("app=web", ["a", "b"]),
        ("app==web", ["a", "b"]),
        ("app!=web", ["c", "d", "e"]),
        ("app in (web,db)", ["a", "b", "c"]),
        ("app notin (web,db)", ["d", "e"]),
        ("tier", ["a", "b", "c"]),
        ("!tier", ["d", "e"]),
        ("app=web,tier=backend", ["b"]),
        ("app in (web),tier notin (frontend)", ["b"]),
        ("tier,app!=db", ["a", "b"]),
    ])
    func labelSelectors(selector: String, expected: [String]) async throws {
        try await withServer { s in
            try await Self.seed(s)
            let list = try await s.http.object(Self.pods + "?labelSelector=" + q(selector))
            #expect(list.itemNames.sorted() == expected, "labelSelector=\(selector)")
        }
    }

    @Test func fieldSelectors() async throws {
        try await withServer { s in
            try await Self.seed(s)
            try await s.http.create(Self.pods, Fixtures.pod("bound", nodeName: "node-1"))
            let byName = try await s.http.object(Self.pods + "?fieldSelector=" + q("metadata.name=c"))
            #expect(byName.itemNames == ["c"])
            let notName = try await s.http.object(Self.pods + "?fieldSelector=" + q("metadata.name!=c"))
            #expect(notName.itemNames.sorted() == ["a", "b", "bound", "d", "e"])
            let onNode = try await s.http.object(Self.pods + "?fieldSelector=" + q("spec.nodeName=node-1"))
            #expect(onNode.itemNames == ["bound"])
            let unscheduled = try await s.http.object(Self.pods + "?fieldSelector=" + q("spec.nodeName="))
            #expect(unscheduled.itemNames.sorted() == ["a", "b", "c", "d", "e"])
            let pending = try await s.http.object(Self.pods + "?fieldSelector=" + q("status.phase=Pending"))
            #expect(pending.itemNames.count == 6)
            let running = try await s.http.object(Self.pods + "?fieldSelector=" + q("status.phase=Running"))
            #expect(running.itemNames.isEmpty)
            let both = try await s.http.object(Self.pods + "?fieldSelector=" + q("metadata.name=a,status.phase=Pending") + "&labelSelector=app%3Dweb")
            #expect(both.itemNames == ["a"])
            let allNamespaces = try await s.http.object("/api/v1/pods?fieldSelector=" + q("metadata.namespace=default"))
            #expect(allNamespaces.itemNames.count == 6)
            let unsupported = try await s.http.get(Self.pods + "?fieldSelector=" + q("spec.containers=x"))
            expectStatus(unsupported, 400, "BadRequest", messageContains: "field label not supported")
            // Field selectors are per kind: ConfigMaps have no status.phase.
            let cm = try await s.http.get(CRUDTests.cms + "?fieldSelector=" + q("status.phase=Pending"))
            expectStatus(cm, 400, "BadRequest")
        }
    }

    @Test func pagingIsConsistentWhileWritesContinue() async throws {
        try await withServer { s in
            for i in 0..<25 {
                try await s.http.create(CRUDTests.cms, Fixtures.configMap(String(format: "page-%02d", i)))
            }
            let first = try await s.http.object(CRUDTests.cms + "?limit=10")
            #expect(first["items"]?.array?.count == 10)
            let token = try #require(first.at("metadata.continue")?.string)
            #expect(!token.isEmpty)
            let rv = first.at("metadata.resourceVersion")?.string
            // 15 page-* objects + kube-root-ca.crt maybe: at least 15 remain.
            let remaining = try #require(first.at("metadata.remainingItemCount")?.int)
            #expect(remaining >= 15)

            // Writes between pages are not seen by the paged read.
            try await s.http.create(CRUDTests.cms, Fixtures.configMap("page-99"))
            _ = try await s.http.delete(CRUDTests.cms + "/page-20")
            _ = try await s.http.patch(CRUDTests.cms + "/page-24", ["data": ["changed": "yes"]])

            var names = first.itemNames
            var next: String? = token
            var pages = 1
            while let t = next, !t.isEmpty {
                let page = try await s.http.object(CRUDTests.cms + "?limit=10&continue=" + q(t))
                #expect(page.at("metadata.resourceVersion")?.string == rv, "every page is read at the first page's revision")
                names += page.itemNames
                if let item = page["items"]?.array?.first(where: { $0.at("metadata.name")?.string == "page-24" }) {
                    #expect(item.at("data.changed") == nil, "page-24 as of the first page")
                }
                next = page.at("metadata.continue")?.string
                pages += 1
                if pages > 10 { break }
            }
            let pageNames = names.filter { $0.hasPrefix("page-") }
            #expect(pageNames == (0..<25).map { String(format: "page-%02d", $0) }, "\(pageNames)")
            #expect(Set(names).count == names.count, "no duplicates across pages")

            // A fresh list sees the writes.
            let now = try await s.http.object(CRUDTests.cms)
            #expect(now.itemNames.contains("page-99"))
            #expect(!now.itemNames.contains("page-20"))

            let bad = try await s.http.get(CRUDTests.cms + "?limit=10&continue=garbage")
            expectStatus(bad, 400, "BadRequest")
            let rvAndContinue = try await s.http.get(CRUDTests.cms + "?limit=10&resourceVersion=1&continue=" + q(token))
            expectStatus(rvAndContinue, 400, "BadRequest")
        }
    }

    /// Pages with no write in between come from the watch cache's snapshot: the same revision,
    /// key order, exact namespace ranges (`a-b` sorts before `a/`), counts without selectors.
    @Test func pagingWithoutWritesWalksTheNamespaceInKeyOrder() async throws {
        try await withServer { s in
            for ns in ["a", "a-b", "b"] { try await s.http.create("/api/v1/namespaces", Fixtures.namespace(ns)) }
            let names = (0..<23).map { String(format: "cm-%02d", $0) }
            for ns in ["a", "a-b", "b"] {
                for (i, name) in names.enumerated() {
                    try await s.http.create("/api/v1/namespaces/\(ns)/configmaps",
                                            Fixtures.configMap(name, labels: ["even": i % 2 == 0 ? "yes" : "no"]))
                }
            }
            for selector in ["", "&labelSelector=even%3Dyes"] {
                var seen: [String] = []
                var token = ""
                var rv: String?
                var remainingCounts: [Int?] = []
                var pageSizes: [Int] = []
                repeat {
                    let page = try await s.http.object("/api/v1/namespaces/a/configmaps?limit=5" + selector
                                                       + (token.isEmpty ? "" : "&continue=" + q(token)))
                    let names = page.itemNames.filter { $0.hasPrefix("cm-") }
                    #expect(page["items"]?.array?.allSatisfy { $0.at("metadata.namespace")?.string == "a" } == true)
                    #expect(rv == nil || page.at("metadata.resourceVersion")?.string == rv)
                    rv = page.at("metadata.resourceVersion")?.string
                    seen += names
                    token = page.at("metadata.continue")?.string ?? ""
                    remainingCounts.append(page.at("metadata.remainingItemCount")?.int)
                    pageSizes.append(page["items"]?.array?.count ?? 0)
                } while !token.isEmpty && seen.count < 100
                let expected = selector.isEmpty ? names : names.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
                #expect(seen == expected, "\(selector): \(seen)")
                if selector.isEmpty {
                    // Each page but the last counts every object after it.
                    let total = pageSizes.reduce(0, +)
                    var expected: [Int?] = pageSizes.indices.map { total - pageSizes[...$0].reduce(0, +) }
                    expected[expected.count - 1] = nil
                    #expect(remainingCounts == expected && pageSizes.dropLast().allSatisfy { $0 == 5 }, "\(remainingCounts) \(pageSizes)")
                } else {
                    #expect(remainingCounts.allSatisfy { $0 == nil }, "no counts with a selector")
                }
            }
            // Across namespaces: the whole collection in storage order.
            let all = try await s.http.object("/api/v1/configmaps?limit=1000")
            let keys = (all["items"]?.array ?? []).map {
                ($0.at("metadata.namespace")?.string ?? "") + "/" + ($0.at("metadata.name")?.string ?? "")
            }
            #expect(keys == keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
            #expect(keys.filter { $0.hasPrefix("a-b/cm-") }.count == 23)
        }
    }

    @Test func resourceVersionSemantics() async throws {
        try await withServer { s in
            let created = try await s.http.create(CRUDTests.cms, Fixtures.configMap("rv"))
            let rv = try #require(created.at("metadata.resourceVersion")?.string)
            let any = try await s.http.object(CRUDTests.cms + "?resourceVersion=0")
            #expect(any.itemNames.contains("rv"), "resourceVersion=0 lists from the cache")
            #expect((any.at("metadata.resourceVersion")?.string ?? "") != "")
            let notOlder = try await s.http.object(CRUDTests.cms + "?resourceVersion=\(rv)&resourceVersionMatch=NotOlderThan")
            #expect(notOlder.itemNames.contains("rv"))
            #expect(Int(notOlder.at("metadata.resourceVersion")?.string ?? "") ?? 0 >= Int(rv) ?? 0)
            let exact = try await s.http.object(CRUDTests.cms + "?resourceVersion=\(rv)&resourceVersionMatch=Exact")
            #expect(exact.at("metadata.resourceVersion")?.string == rv)
            _ = try await s.http.patch(CRUDTests.cms + "/rv", ["data": ["new": "1"]])
            let old = try await s.http.object(CRUDTests.cms + "/rv?resourceVersion=\(rv)&resourceVersionMatch=Exact")
            #expect(old.at("data.new") == nil, "an exact read returns the old state")
            let matchWithoutRV = try await s.http.get(CRUDTests.cms + "?resourceVersionMatch=Exact")
            expectStatus(matchWithoutRV, 400, "BadRequest")
            let badMatch = try await s.http.get(CRUDTests.cms + "?resourceVersion=1&resourceVersionMatch=Newest")
            expectStatus(badMatch, 400, "BadRequest")
            let badRV = try await s.http.get(CRUDTests.cms + "?resourceVersion=abc")
            expectStatus(badRV, 400, "BadRequest")
        }
    }
}
