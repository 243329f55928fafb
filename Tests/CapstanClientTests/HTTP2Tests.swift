import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import CapstanTesting
import Synchronization
import Testing

private func configMap(_ name: String, namespace: String = "default", labels: [String: String]? = nil,
                       data: [String: String]? = nil) -> CoreV1.ConfigMap {
    CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(labels: labels, name: name, namespace: namespace), data: data)
}

/// Lists, creates the ConfigMap `name`, and opens `count` watches from before it, each read up
/// to its ADDED event.
private func watchesSeeing(_ name: String, count: Int, on client: APIClient) async throws -> [WatchStream<CoreV1.ConfigMap>.AsyncIterator] {
    let start = try await client.list(CoreV1.ConfigMap.self, namespace: "default").resourceVersion
    try await client.create(configMap(name)).discard()
    var watches: [WatchStream<CoreV1.ConfigMap>.AsyncIterator] = []
    for _ in 0..<count {
        watches.append(client.watch(CoreV1.ConfigMap.self, namespace: "default",
                                    options: WatchOptions(resourceVersion: start)).makeAsyncIterator())
    }
    for i in watches.indices {
        #expect(try await nextElement(&watches[i], of: WatchStream<CoreV1.ConfigMap>.self).object?.name == name)
    }
    return watches
}

/// Runs `body` with a server `start` opened in a temporary directory and a client of it; stops both.
private func withServer(_ start: @escaping (String) async throws -> RunningServer,
                        client configure: (inout ClientConfiguration) -> Void = { _ in },
                        _ body: (APIClient, RunningServer) async throws -> Void) async throws {
    try await withTemporaryDirectory { directory in
        let server = try await start(directory)
        let client = try server.makeClient(configure)
        do {
            try await body(client, server)
            await client.shutdown()
            try await server.stop()
        } catch {
            await client.shutdown()
            try? await server.stop()
            throw error
        }
    }
}

@Suite("HTTP/2 connections", .tags(.component))
struct HTTP2Tests {
    @Test func watchesShareOneConnectionAndRequestsUseThePool() async throws {
        try await withClient({ $0.maxIdleConnections = 2 }) { client, server in
            let watchers = 30
            var iterators: [WatchStream<CoreV1.ConfigMap>.AsyncIterator] = []
            for _ in 0..<watchers {
                iterators.append(client.watch(CoreV1.ConfigMap.self, namespace: "default",
                                              options: WatchOptions(labelSelector: "mixed=yes")).makeAsyncIterator())
            }
            try await client.create(configMap("first", labels: ["mixed": "yes"])).discard()
            for i in iterators.indices {
                #expect(try await nextElement(&iterators[i], of: WatchStream<CoreV1.ConfigMap>.self).object?.name == "first")
            }
            #expect(server.server.streams.count == watchers)
            // One h2 connection carries the 30 watches, beside the pooled one of the create.
            #expect(server.server.connectionCount == 2)
            try await withThrowingTaskGroup(of: Void.self) { requests in
                for _ in 0..<20 {
                    requests.addTask { _ = try await client.get(CoreV1.Namespace.self, name: "default") }
                }
                try await requests.waitForAll()
            }
            // Requests went over HTTP/1.1 connections of the pool, of which 2 stay open.
            #expect(await eventually { server.server.connectionCount == 3 })
            #expect(client.pooledConnectionCount == 3)
            #expect(client.openStreamCount == watchers)
            iterators.removeAll()
        }
    }

    @Test func watchesBeyondTheServersStreamLimitGetConnectionsOfTheirOwn() async throws {
        try await withServer({ try await RunningServer.start(directory: $0, http2MaxConcurrentStreams: 4) }) { client, server in
            // All six run: four share a connection, two have one each (none waits for a slot).
            var watches = try await watchesSeeing("limit", count: 6, on: client)
            #expect(server.server.streams.count == 6)
            // The requests' pooled connection besides.
            #expect(server.server.connectionCount == 4)
            watches.removeAll()
            // The server ends the watches the client left, and the two extra connections
            // close with theirs.
            #expect(await eventually { server.server.streams.count == 0 })
            #expect(await eventually { server.server.connectionCount == 2 })
        }
    }

    @Test func watchesAndRequestsShareOneConnection() async throws {
        // Light traffic: fewer requests in flight than make the client open a second connection.
        try await withClient({ $0.http2ForRequests = true; $0.http2StreamsPerConnection = 100 }) { client, server in
            let watchers = 20, writes = 10
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<watchers {
                    group.addTask {
                        var seen = 0
                        for try await event in client.watch(CoreV1.ConfigMap.self, namespace: "default",
                                                            options: WatchOptions(labelSelector: "h2=yes")) {
                            if case .added = event { seen += 1 }
                            if seen == writes { break }
                        }
                        return seen
                    }
                }
                #expect(await eventually { server.server.streams.count == watchers })
                #expect(client.openStreamCount == watchers)
                // Requests in parallel while the watches are open.
                try await withThrowingTaskGroup(of: Void.self) { requests in
                    for i in 0..<50 {
                        requests.addTask {
                            if i < writes {
                                try await client.create(configMap("w-\(i)", labels: ["h2": "yes"])).discard()
                            } else {
                                _ = try await client.get(CoreV1.Namespace.self, name: "default")
                            }
                        }
                    }
                    try await requests.waitForAll()
                }
                #expect(client.pooledConnectionCount == 1)
                #expect(server.server.connectionCount == 1)
                for try await seen in group { #expect(seen == writes) }
            }
            #expect(server.server.connectionCount == 1)
        }
    }

    @Test func aWatchNobodyReadsDoesNotHoldBackTheOthers() async throws {
        try await withClient({ $0.http2ForRequests = true }) { client, server in
            // The stalled watch reads its first event, then nobody reads it again.
            let start = try await client.list(CoreV1.ConfigMap.self, namespace: "default").resourceVersion
            try await client.create(configMap("first", labels: ["big": "yes"])).discard()
            let stalled = client.watch(CoreV1.ConfigMap.self, namespace: "default",
                                       options: WatchOptions(labelSelector: "big=yes", resourceVersion: start))
            var stalledIterator = stalled.makeAsyncIterator()
            _ = try await nextElement(&stalledIterator, of: WatchStream<CoreV1.ConfigMap>.self)
            // 40 objects of 100 KB: far beyond one stream's 64 KB window and the socket buffers.
            let count = 40
            let payload = String(repeating: "x", count: 100 * 1024)
            try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask {
                    var seen = 0
                    for try await event in client.watch(CoreV1.ConfigMap.self, namespace: "default",
                                                        options: WatchOptions(labelSelector: "big=yes")) {
                        if case .added(let object) = event, object.name.hasPrefix("big-") { seen += 1 }
                        if seen == count { break }
                    }
                    return seen
                }
                #expect(await eventually { server.server.streams.count == 2 })
                for i in 0..<count {
                    try await client.create(configMap("big-\(i)", labels: ["big": "yes"], data: ["p": payload])).discard()
                }
                #expect(try await group.next() == count)
            }
            // Requests still flow on the shared connection.
            #expect(try await client.get(CoreV1.ConfigMap.self, name: "big-0", namespace: "default").data?["p"]?.count == payload.count)
            #expect(server.server.connectionCount == 1)
            _ = stalledIterator
        }
    }

    @Test func busyClientOpensMoreConnectionsAndClosesThemWhenIdle() async throws {
        try await withClient({
            $0.http2ForRequests = true
            $0.http2StreamsPerConnection = 2
            $0.maxConnections = 4
            $0.idleConnectionTimeout = .seconds(1)
        }) { client, server in
            let watch = Task { () -> String? in
                for try await event in client.watch(CoreV1.ConfigMap.self, namespace: "default",
                                                    options: WatchOptions(labelSelector: "busy=yes")) {
                    if case .added(let object) = event { return object.name }
                }
                return nil
            }
            #expect(await eventually { server.server.streams.count == 1 })
            #expect(server.server.connectionCount == 1)
            // Many requests at once: more connections open, never more than maxConnections.
            // (A loaded machine may finish a round before requests pile up: a few rounds at most.)
            var most = 1
            for _ in 0..<5 where most == 1 {
                most = try await withThrowingTaskGroup(of: Int.self) { requests in
                    for _ in 0..<200 {
                        requests.addTask {
                            _ = try await client.get(CoreV1.Namespace.self, name: "default")
                            return max(client.pooledConnectionCount, server.server.connectionCount)
                        }
                    }
                    return try await requests.reduce(1, max)
                }
            }
            #expect(most > 1 && most <= 4)
            // Idle, the extra connections close; the watch keeps running on the first.
            #expect(await eventually { server.server.connectionCount == 1 && client.pooledConnectionCount == 1 })
            #expect(server.server.connectionCount == 1)
            #expect(client.pooledConnectionCount == 1)
            try await client.create(configMap("after", labels: ["busy": "yes"])).discard()
            #expect(try await watch.value == "after")
        }
    }

    @Test func clientReconnectsAfterTheServerGoesAway() async throws {
        try await withTemporaryDirectory { directory in
            let first = try await RunningServer.start(directory: directory)
            let client = try first.makeClient { $0.http2ForRequests = true }
            do {
                _ = try await client.get(CoreV1.Namespace.self, name: "default")
                let received = Atomic<Int>(0)
                let watch = Task {
                    var events = 0
                    for try await _ in client.watch(CoreV1.Namespace.self) {
                        events += 1
                        received.add(1, ordering: .relaxed)
                    }
                    return events
                }
                // The watch is streaming (its first events arrived) before the server goes away.
                #expect(await eventually { received.load(ordering: .relaxed) >= 1 })
                #expect(first.server.streams.count == 1)
                #expect(first.server.connectionCount == 1)
                // Shutdown sends GOAWAY and ends the watch; the connection closes once it has.
                try await first.stop()
                let ended: Result<Int, any Error> = await watch.result
                if case .success(let events) = ended { #expect(events >= 1) }
                let second = try await RunningServer.start(directory: directory, port: first.port)
                do {
                    // The next request opens a new connection, over which a new watch runs too.
                    #expect(try await client.get(CoreV1.Namespace.self, name: "default").name == "default")
                    var iterator = client.watch(CoreV1.Namespace.self).makeAsyncIterator()
                    _ = try await nextElement(&iterator, of: WatchStream<CoreV1.Namespace>.self)
                    #expect(second.server.connectionCount == 1)
                    #expect(client.pooledConnectionCount == 1)
                    try await second.stop()
                } catch {
                    try? await second.stop()
                    throw error
                }
            } catch {
                try? await first.stop()
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        }
    }

    @Test(arguments: [(serverHTTP2: false, clientHTTP2: true), (serverHTTP2: true, clientHTTP2: false)])
    func http1WhenEitherSideDoesNotOfferH2(serverHTTP2: Bool, clientHTTP2: Bool) async throws {
        try await withServer({ try await RunningServer.start(directory: $0, http2: serverHTTP2) },
                             client: { $0.http2 = clientHTTP2 }) { client, server in
            var watches = try await watchesSeeing("h1", count: 3, on: client)
            #expect(try await client.get(CoreV1.ConfigMap.self, name: "h1", namespace: "default").name == "h1")
            // HTTP/1.1: each watch has a connection of its own, beside the pooled one (and,
            // when the client offered h2, the one that found it refused, closing).
            #expect(client.openStreamCount == 3)
            #expect(await eventually { server.server.connectionCount == 4 })
            watches.removeAll()
        }
    }
}
