import Testing

@Suite("Watch", .tags(.component))
struct WatchTests {
    static let cms = CRUDTests.cms

    /// Opens a watch, runs `body`, and always cancels the stream.
    func watching<T>(_ s: TestServer, _ path: String, accept: String = "application/json",
                     _ body: (LineStream) async throws -> T) async throws -> T {
        let stream = s.http.stream(path, accept: accept)
        defer { stream.cancel() }
        return try await body(stream)
    }

    @Test func eventsArriveInOrderFromAResourceVersion() async throws {
        try await withServer { s in
            let before = try await s.http.create(Self.cms, Fixtures.configMap("old"))
            let rv = try #require(before.at("metadata.resourceVersion")?.string)
            try await watching(s, Self.cms + "?watch=true&resourceVersion=\(rv)") { w in
                try await s.http.create(Self.cms, Fixtures.configMap("w"))
                _ = try await s.http.patch(Self.cms + "/w", ["data": ["k": "2"]])
                _ = try await s.http.delete(Self.cms + "/w")
                let events = await w.waitForEvents(3)
                #expect(w.statusCode == 200)
                #expect(w.response?.value(forHTTPHeaderField: "Content-Type")?.hasPrefix("application/json") == true)
                #expect(events.map(\.type) == ["ADDED", "MODIFIED", "DELETED"], "\(w.receivedLines)")
                #expect(events.allSatisfy { $0.object.at("metadata.name")?.string == "w" })
                #expect(events.dropFirst().first?.object.at("data.k")?.string == "2")
                // Each event carries a newer resourceVersion; DELETED has a new one too.
                let rvs = events.compactMap { Int($0.object.at("metadata.resourceVersion")?.string ?? "") }
                #expect(rvs.count == 3 && rvs == rvs.sorted() && Set(rvs).count == 3, "\(rvs)")
                #expect(events.first?.object["kind"]?.string == "ConfigMap")
                #expect(events.first?.object["apiVersion"]?.string == "v1")
            }
        }
    }

    @Test func watchWithoutResourceVersionStartsWithExistingObjects() async throws {
        try await withServer { s in
            try await s.http.create(Self.cms, Fixtures.configMap("existing"))
            try await watching(s, Self.cms + "?watch=true") { w in
                let events = await w.waitForEvents(1)
                #expect(events.first?.type == "ADDED")
                #expect(events.contains { $0.object.at("metadata.name")?.string == "existing" })
            }
        }
    }

    @Test func labelSelectorTurnsLabelChangesIntoAddedAndDeleted() async throws {
        try await withServer { s in
            let list = try await s.http.object(Self.cms)
            let rv = try #require(list.at("metadata.resourceVersion")?.string)
            try await watching(s, Self.cms + "?watch=1&labelSelector=app%3Dweb&resourceVersion=\(rv)") { w in
                try await s.http.create(Self.cms, Fixtures.configMap("other", labels: ["app": "db"]))
                try await s.http.create(Self.cms, Fixtures.configMap("x", labels: ["app": "web"]))
                _ = try await s.http.patch(Self.cms + "/x", ["metadata": ["labels": ["app": "db"]]])  // leaves: DELETED
                _ = try await s.http.patch(Self.cms + "/other", ["metadata": ["labels": ["app": "web"]]])  // enters: ADDED
                _ = try await s.http.patch(Self.cms + "/other", ["data": ["k": "changed"]])  // MODIFIED
                let events = await w.waitForEvents(4)
                let summary = events.map { "\($0.type) \($0.object.at("metadata.name")?.string ?? "?")" }
                #expect(summary == ["ADDED x", "DELETED x", "ADDED other", "MODIFIED other"], "\(summary)")
            }
        }
    }

    @Test func fieldSelectorOnASingleObjectWatch() async throws {
        try await withServer { s in
            try await s.http.create(Self.cms, Fixtures.configMap("one"))
            try await s.http.create(Self.cms, Fixtures.configMap("two"))
            try await watching(s, Self.cms + "?watch=true&fieldSelector=" + q("metadata.name=two")) { w in
                // Without a resourceVersion the watch starts from the current state: change the
                // objects only once it has (its synthetic ADDED arrived), or the MODIFIED is folded in.
                #expect(await w.waitForEvents(1).map(\.type) == ["ADDED"])
                _ = try await s.http.patch(Self.cms + "/one", ["data": ["k": "1"]])
                _ = try await s.http.patch(Self.cms + "/two", ["data": ["k": "2"]])
                let events = await w.waitForEvents(2)
                #expect(events.map(\.type) == ["ADDED", "MODIFIED"])
                #expect(events.allSatisfy { $0.object.at("metadata.name")?.string == "two" })
            }
        }
    }

    @Test func sendInitialEventsEndsWithAnnotatedBookmark() async throws {
        try await withServer { s in
            for name in ["i1", "i2", "i3"] { try await s.http.create(Self.cms, Fixtures.configMap(name)) }
            let path = Self.cms + "?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&resourceVersion=0"
            try await watching(s, path) { w in
                var events = await w.waitForEvents(4)
                #expect(events.prefix(3).allSatisfy { $0.type == "ADDED" }, "\(w.receivedLines)")
                let initialNames = Set(events.prefix(3).compactMap { $0.object.at("metadata.name")?.string })
                #expect(initialNames.isSuperset(of: ["i1", "i2", "i3"]), "\(initialNames)")
                let bookmark = try #require(events.first { $0.type == "BOOKMARK" }, "\(w.receivedLines)")
                #expect(bookmark.object["kind"]?.string == "ConfigMap")
                #expect(bookmark.object["metadata"]?["annotations"]?["k8s.io/initial-events-end"]?.string == "true")
                #expect((bookmark.object.at("metadata.resourceVersion")?.string ?? "") != "")
                // Live events follow.
                try await s.http.create(Self.cms, Fixtures.configMap("live"))
                events = await w.waitForEvents(events.count + 1)
                #expect(events.last?.type == "ADDED")
                #expect(events.last?.object.at("metadata.name")?.string == "live")
            }
            // Without resourceVersionMatch=NotOlderThan: 400.
            let bad = try await s.http.get(Self.cms + "?watch=true&sendInitialEvents=true")
            expectStatus(bad, 400, "BadRequest")
        }
    }

    /// client-go's watch-list request: no resourceVersion at all on the first start.
    @Test func watchListWithoutResourceVersion() async throws {
        try await withServer { s in
            try await s.http.create(Self.cms, Fixtures.configMap("wl"))
            let path = Self.cms + "?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
            try await watching(s, path) { w in
                let events = await w.waitForEvents(2)
                fixedBug("fixed: sendInitialEvents=true&resourceVersionMatch=NotOlderThan without resourceVersion is rejected (400 'resourceVersionMatch is forbidden unless resourceVersion is provided')") {
                    #expect(events.first?.type == "ADDED", "\(w.receivedLines)")
                    #expect(events.contains { $0.type == "BOOKMARK" }, "\(w.receivedLines)")
                }
            }
        }
    }

    @Test func timeoutSecondsEndsTheStreamWithABookmarkFirst() async throws {
        try await withServer { s in
            let list = try await s.http.object(Self.cms)
            let rv = try #require(list.at("metadata.resourceVersion")?.string)
            let start = ContinuousClock.now
            try await watching(s, Self.cms + "?watch=true&timeoutSeconds=3&allowWatchBookmarks=true&resourceVersion=\(rv)") { w in
                let ended = await w.waitForEnd(timeout: .seconds(10))
                #expect(ended, "the watch should end after timeoutSeconds")
                let elapsed = ContinuousClock.now - start
                #expect(elapsed >= .seconds(2) && elapsed < .seconds(8), "\(elapsed)")
                #expect(w.error == nil, "ended cleanly: \(String(describing: w.error))")
                // kube-apiserver sends a bookmark shortly before the watch times out.
                let lines = w.receivedLines
                fixedBug("fixed: with allowWatchBookmarks no BOOKMARK is sent before timeoutSeconds ends the watch (kube-apiserver sends one ~2 s before)") {
                    #expect(w.events.contains { $0.type == "BOOKMARK" }, "no BOOKMARK before the timeout: \(lines)")
                }
            }
        }
    }

    @Test func tableWatch() async throws {
        try await withServer { s in
            try await watching(s, Self.cms + "?watch=true", accept: "application/json;as=Table;v=v1;g=meta.k8s.io") { w in
                try await s.http.create(Self.cms, Fixtures.configMap("tw"))
                let events = await w.waitForEvents(2)
                let added = try #require(events.first { $0.object["rows"]?[0]?.at("cells.0")?.string == "tw" }, "\(w.receivedLines)")
                #expect(added.object["kind"]?.string == "Table")
            }
        }
    }
}
