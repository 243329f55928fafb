import CapstanAPI
import CapstanAPIMachinery
import CapstanAPIServer
import CapstanClient
import CapstanTesting
import Synchronization
import Testing

/// A client in the server's process (the scheduler, the controllers) answered by the server's
/// router without a connection: the same API, the loopback identity, watches that end when
/// their reader leaves.
@Suite("In-process transport", .tags(.component))
struct LocalTransportTests {
    private static func withLocalClient(_ body: (APIClient, RunningServer) async throws -> Void) async throws {
        try await withServer { server in
            let client = try server.makeClient { $0.localTransport = server.server.localTransport() }
            do {
                try await body(client, server)
                await client.shutdown()
            } catch {
                await client.shutdown()
                throw error
            }
        }
    }

    @Test func requestsTakeTheServersPathWithoutAConnection() async throws {
        try await Self.withLocalClient { client, server in
            let created = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: "local"), data: ["k": "v"]))
            #expect(created.metadata?.uid?.isEmpty == false)
            #expect(created.metadata?.managedFields?.first?.manager == "capstan-client")
            var fetched = try await client.get(CoreV1.ConfigMap.self, name: "local")
            #expect(fetched.data == ["k": "v"])
            // Optimistic concurrency and Status errors as over HTTPS.
            fetched.data = ["k": "w"]
            _ = try await client.update(fetched)
            await #expect(throws: APIError.self) { try await client.update(fetched) }
            do {
                _ = try await client.get(CoreV1.ConfigMap.self, name: "missing")
                Issue.record("expected NotFound")
            } catch let error as APIError {
                #expect(error.code == 404 && error.reason == "NotFound")
            }
            // Who the server thinks the caller is.
            let review = try await client.request(method: .post, path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                                  body: Array(#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#.utf8))
            let user = try JSONValue.parse(review.body)["status"]?["userInfo"]
            #expect(user?["username"]?.stringValue == "system:apiserver")
            #expect(server.server.connectionCount == 0)
            #expect(client.pooledConnectionCount == 0)
        }
    }

    @Test func watchesDeliverEventsAndEndWhenTheReaderLeaves() async throws {
        try await Self.withLocalClient { client, server in
            let before = server.server.metrics.activeWatches
            let watcher = Task {
                var names: [String] = []
                for try await event in client.watch(CoreV1.ConfigMap.self, namespace: "default") {
                    if case .added(let object) = event, object.name.hasPrefix("w-") { names.append(object.name) }
                    if names.count == 3 { break }
                }
                return names
            }
            #expect(await eventually { server.server.metrics.activeWatches == before + 1 })
            for i in 0..<3 {
                _ = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: "w-\(i)")))
            }
            #expect(try await watcher.value == ["w-0", "w-1", "w-2"])
            // Leaving the loop closed the stream: the server's watch ends.
            #expect(await eventually { server.server.metrics.activeWatches == before })
            #expect(server.server.connectionCount == 0)
        }
    }

    @Test func aStreamHoldsBackItsWriterAndCarriesItsEnd() async throws {
        let stream = LocalByteStream(limit: 8)
        try await stream.write(Array(repeating: 1, count: 6))
        // Over the limit: the writer waits until the reader takes a chunk.
        let writer = Task { try await stream.write(Array(repeating: 2, count: 6)) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await stream.next() == Array(repeating: 1, count: 6))
        try await writer.value
        #expect(try await stream.next() == Array(repeating: 2, count: 6))
        struct Broke: Error {}
        stream.finish(throwing: Broke())
        await #expect(throws: Broke.self) { try await stream.next() }

        // The reader closing fails the writer and tells the producer, once.
        let closing = LocalByteStream()
        let told = Counter()
        closing.setOnClose { told.increment() }
        let reader = Task { try await closing.next() }
        try await Task.sleep(for: .milliseconds(20))
        reader.cancel()
        await #expect(throws: CancellationError.self) { try await reader.value }
        await #expect(throws: CancellationError.self) { try await closing.write([1]) }
        closing.close()
        #expect(told.value == 1)
    }
}

private final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
