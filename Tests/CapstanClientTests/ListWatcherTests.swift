import CapstanTesting
import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import Testing

@Suite("ListWatcher against a real API server", .tags(.component))
struct ListWatcherTests {
    private static let fastBackoff = ListWatcherBackoff(initial: .milliseconds(20), maximum: .milliseconds(300))

    @Test func listsThenStreamsChanges() async throws {
        try await withClient { client, _ in
            _ = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(labels: ["lw": "yes"], name: "old", namespace: "default")))
            _ = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: "unlabelled", namespace: "default")))
            let watcher = ListWatcher(client: client, CoreV1.ConfigMap.self, namespace: "default", labelSelector: "lw=yes",
                                      pageSize: 1, backoff: Self.fastBackoff)
            var events = watcher.makeAsyncIterator()
            guard case .replaced(let items, let resourceVersion) = try await nextElement(&events, of: ListWatcher<CoreV1.ConfigMap>.self) else {
                Issue.record("the first event is not a list")
                return
            }
            #expect(items.map(\.name) == ["old"])
            #expect(!resourceVersion.isEmpty)

            var new = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(labels: ["lw": "yes"], name: "new", namespace: "default")))
            new.data = ["k": "v"]
            new = try await client.update(new)
            try await client.delete(CoreV1.ConfigMap.self, name: "old", namespace: "default")

            var seen: [String] = []
            for _ in 0..<3 {
                switch try await nextElement(&events, of: ListWatcher<CoreV1.ConfigMap>.self) {
                case .added(let o): seen.append("added \(o.name)")
                case .modified(let o): seen.append("modified \(o.name) \(o.data?["k"] ?? "")")
                case .deleted(let o): seen.append("deleted \(o.name)")
                case .replaced(let items, _): seen.append("replaced \(items.count)")
                }
            }
            #expect(seen == ["added new", "modified new v", "deleted old"])
        }
    }

    @Test func rawObjectsOfAResource() async throws {
        try await withClient { client, _ in
            let watcher = ListWatcher(client: client, resource: CoreV1.Namespace.resource, backoff: Self.fastBackoff)
            var events = watcher.makeAsyncIterator()
            guard case .replaced(let items, _) = try await nextElement(&events, of: ListWatcher<JSONValue>.self) else {
                Issue.record("the first event is not a list")
                return
            }
            #expect(items.contains { $0["metadata"]?["name"] == .string("kube-system") })
            _ = try await client.create(CoreV1.Namespace(metadata: MetaV1.ObjectMeta(name: "fresh")))
            let event = try await nextElement(&events, of: ListWatcher<JSONValue>.self)
            guard case .added(let ns) = event else {
                Issue.record("expected ADDED, got \(event)")
                return
            }
            #expect(ns["metadata"]?["name"] == .string("fresh"))
        }
    }

    /// The server stops and starts again on the same data and port while the watcher runs; the
    /// watcher resumes (or relists) and delivers what changed after the restart.
    @Test func resumesAcrossAServerRestart() async throws {
        try await withTemporaryDirectory { directory in
            var server = try await RunningServer.start(directory: directory, storage: .sqlite)
            let port = server.port
            let client = try server.makeClient { $0.retryBackoff = .milliseconds(20) }
            do {
                _ = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: "before", namespace: "default")))
                let watcher = ListWatcher(client: client, CoreV1.ConfigMap.self, namespace: "default", backoff: Self.fastBackoff)
                var events = watcher.makeAsyncIterator()
                guard case .replaced(let items, _) = try await nextElement(&events, of: ListWatcher<CoreV1.ConfigMap>.self) else {
                    Issue.record("the first event is not a list")
                    return
                }
                #expect(items.map(\.name) == ["before"])
                _ = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: "live", namespace: "default")))
                let live = try await nextElement(&events, of: ListWatcher<CoreV1.ConfigMap>.self)
                guard case .added(let liveObject) = live, liveObject.name == "live" else {
                    Issue.record("expected ADDED live, got \(live)")
                    return
                }

                try await server.stop()
                // The store's lock file can outlive stop() by a moment under load; this test is
                // about the watcher resuming, so the restart is retried for a few seconds.
                var restarted: RunningServer?
                for attempt in 0..<50 where restarted == nil {
                    do {
                        restarted = try await RunningServer.start(directory: directory, port: port, storage: .sqlite)
                    } catch where attempt < 49 && "\(error)".contains("in use by another process") {
                        try await Task.sleep(for: .milliseconds(200))
                    }
                }
                server = try #require(restarted)
                _ = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: "after", namespace: "default")))

                // Either a resumed watch (ADDED after) or a relist that contains it.
                var sawAfter = false
                while !sawAfter {
                    switch try await nextElement(&events, of: ListWatcher<CoreV1.ConfigMap>.self) {
                    case .added(let o): sawAfter = o.name == "after"
                    case .replaced(let items, _):
                        #expect(Set(items.map(\.name)).isSuperset(of: ["before", "live"]))
                        sawAfter = items.contains { $0.name == "after" }
                    case .modified, .deleted: break
                    }
                }
                #expect(sawAfter)
            } catch {
                Issue.record(error)
            }
            await client.shutdown()
            try await server.stop()
        }
    }
}
