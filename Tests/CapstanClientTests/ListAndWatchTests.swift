import CapstanTesting
import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import Testing

private func configMap(_ name: String, namespace: String = "default", labels: [String: String]? = nil,
                       data: [String: String]? = nil) -> CoreV1.ConfigMap {
    CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(labels: labels, name: name, namespace: namespace), data: data)
}

@Suite("Lists", .tags(.component))
struct ListTests {
    @Test func pagingWithLimitAndContinue() async throws {
        try await withClient { client, _ in
            try await client.create(CoreV1.Namespace(metadata: MetaV1.ObjectMeta(name: "paging"))).discard()
            for i in 0..<25 {
                try await client.create(configMap(String(format: "cm-%02d", i), namespace: "paging")).discard()
            }
            var names: [String] = []
            var options = ListOptions(limit: 10)
            var pages = 0
            var firstResourceVersion: String?
            repeat {
                let page = try await client.list(CoreV1.ConfigMap.self, namespace: "paging", options: options)
                pages += 1
                #expect(page.items.count <= 10)
                names += page.items.map(\.name)
                if firstResourceVersion == nil {
                    firstResourceVersion = page.resourceVersion
                    #expect(page.remainingItemCount == 15)
                }
                options.continueToken = page.continueToken
            } while options.continueToken != nil
            #expect(pages == 3)
            #expect(names == (0..<25).map { String(format: "cm-%02d", $0) })

            let all = try await client.listAll(CoreV1.ConfigMap.self, namespace: "paging", pageSize: 7)
            #expect(all.items.count == 25)
            #expect(all.continueToken == nil)
            let raw = try await client.listAll(CoreV1.ConfigMap.resource, namespace: "paging", pageSize: 4)
            #expect(raw.items.count == 25)
        }
    }

    @Test func labelAndFieldSelectors() async throws {
        try await withClient { client, _ in
            try await client.create(configMap("a1", labels: ["app": "a", "tier": "web"])).discard()
            try await client.create(configMap("a2", labels: ["app": "a", "tier": "db"])).discard()
            try await client.create(configMap("b1", labels: ["app": "b"])).discard()
            try await client.create(configMap("c1")).discard()

            func names(_ options: ListOptions) async throws -> [String] {
                try await client.list(CoreV1.ConfigMap.self, namespace: "default", options: options).items.map(\.name).sorted()
            }
            #expect(try await names(ListOptions(labelSelector: "app=a")) == ["a1", "a2"])
            #expect(try await names(ListOptions(labelSelector: "app in (a,b),tier!=db")) == ["a1", "b1"])
            #expect(try await names(ListOptions(labelSelector: "!app")).contains("c1"))
            // `notin` also matches objects without the label, as in Kubernetes.
            #expect(try await names(ListOptions(labelSelector: "app,tier notin (web)")) == ["a2", "b1"])
            #expect(try await names(ListOptions(fieldSelector: "metadata.name=b1")) == ["b1"])
            #expect(try await names(ListOptions(labelSelector: "app=a", fieldSelector: "metadata.name!=a1")) == ["a2"])
            await #expect { try await names(ListOptions(labelSelector: "app in (")) } throws: { ($0 as? APIError)?.code == 400 }
        }
    }
}

@Suite("Watches", .tags(.component))
struct WatchTests {
    @Test func deliversAddedModifiedDeletedInOrder() async throws {
        try await withClient { client, _ in
            let start = try await client.list(CoreV1.ConfigMap.self, namespace: "default")
            var events = client.watch(CoreV1.ConfigMap.self, namespace: "default",
                                      options: WatchOptions(resourceVersion: start.resourceVersion)).makeAsyncIterator()
            var cm = try await client.create(configMap("watched", data: ["v": "1"]))
            cm.data = ["v": "2"]
            cm = try await client.update(cm)
            try await client.delete(CoreV1.ConfigMap.self, name: "watched", namespace: "default")

            let added = try await nextElement(&events, of: WatchStream<CoreV1.ConfigMap>.self)
            let modified = try await nextElement(&events, of: WatchStream<CoreV1.ConfigMap>.self)
            let deleted = try await nextElement(&events, of: WatchStream<CoreV1.ConfigMap>.self)
            guard case .added(let a) = added, case .modified(let m) = modified, case .deleted(let d) = deleted else {
                Issue.record("unexpected events \(added.type) \(modified.type) \(deleted.type)")
                return
            }
            #expect(a.name == "watched" && a.data == ["v": "1"])
            #expect(m.data == ["v": "2"] && m.resourceVersion == cm.resourceVersion)
            #expect(d.name == "watched")
        }
    }

    @Test func watchWithoutResourceVersionStartsWithCurrentObjects() async throws {
        try await withClient { client, _ in
            try await client.create(configMap("existing-1", labels: ["w": "x"])).discard()
            try await client.create(configMap("existing-2", labels: ["w": "x"])).discard()
            try await client.create(configMap("other")).discard()
            var events = client.watch(CoreV1.ConfigMap.resource, namespace: "default",
                                      options: WatchOptions(labelSelector: "w=x")).makeAsyncIterator()
            var names: Set<String> = []
            for _ in 0..<2 {
                let event = try await nextElement(&events, of: WatchStream<JSONValue>.self)
                #expect(event.type == "ADDED")
                if let name = event.object?["metadata"]?["name"]?.stringValue { names.insert(name) }
            }
            #expect(names == ["existing-1", "existing-2"])
        }
    }

    @Test func resumesFromAResourceVersion() async throws {
        try await withClient { client, _ in
            let first = try await client.create(configMap("r1"))
            try await client.create(configMap("r2")).discard()
            try await client.create(configMap("r3")).discard()
            // From r1's resourceVersion: exactly the later changes, in order.
            var events = client.watch(CoreV1.ConfigMap.self, namespace: "default",
                                      options: WatchOptions(resourceVersion: first.resourceVersion)).makeAsyncIterator()
            let e2 = try await nextElement(&events, of: WatchStream<CoreV1.ConfigMap>.self)
            let e3 = try await nextElement(&events, of: WatchStream<CoreV1.ConfigMap>.self)
            #expect(e2.object?.name == "r2" && e2.type == "ADDED")
            #expect(e3.object?.name == "r3" && e3.type == "ADDED")
        }
    }

    @Test func endsCleanlyAtTheServersTimeout() async throws {
        try await withClient { client, _ in
            let list = try await client.list(CoreV1.ConfigMap.self, namespace: "default")
            var count = 0
            for try await _ in client.watch(CoreV1.ConfigMap.self, namespace: "default",
                                            options: WatchOptions(resourceVersion: list.resourceVersion, timeoutSeconds: 1)) {
                count += 1
            }
            #expect(count == 0)
        }
    }

    @Test func tooOldResourceVersionIsExpired() async throws {
        try await withClient { client, server in
            // A server that restarted keeps no history before its start: watching from before it is 410.
            _ = server
            let list = try await client.list(CoreV1.Namespace.self)
            let current = try #require(Int(list.resourceVersion))
            try #require(current > 1, "bootstrap wrote objects")
            let stream = client.watch(CoreV1.Namespace.self, options: WatchOptions(resourceVersion: "1"))
            do {
                for try await event in stream {
                    // A server with history from revision 1 replays it; that is valid too.
                    _ = event
                    return
                }
            } catch {
                #expect(isResourceExpired(error), "\(error)")
                #expect((error as? APIClientError)?.code == .expired)
            }
        }
    }

    @Test func leavingTheLoopClosesTheConnection() async throws {
        try await withClient { client, server in
            try await client.create(configMap("x")).discard()
            for _ in 0..<5 {
                for try await _ in client.watch(CoreV1.ConfigMap.self, namespace: "default") { break }
            }
            // Closing is asynchronous (TLS close_notify first): poll with a deadline.
            let deadline = ContinuousClock.now + .seconds(10)
            while client.openStreamCount > 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(client.openStreamCount == 0)
            // The server notices a departed watcher only when a write to it fails (Kubernetes ends
            // the watch when the connection closes): make events until its count drops.
            var writes = 0
            while server.server.streams.count > 0, ContinuousClock.now < deadline {
                try await client.create(configMap("event-\(writes)")).discard()
                writes += 1
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(server.server.streams.count == 0)
        }
    }
}

extension Decodable {
    /// Ignores a created object where a test does not need it.
    func discard() {}
}
