import CapstanStorage
import CapstanStorageEtcd
import Foundation
import Testing

@Suite("etcd storage")
struct EtcdStorageTests {
    @Test func parsesEndpoints() throws {
        #expect(try EtcdEndpoint.parse("etcd://h1:1,h2:2") == [
            EtcdEndpoint(host: "h1", port: 1), EtcdEndpoint(host: "h2", port: 2),
        ])
        #expect(try EtcdEndpoint.parse("http://127.0.0.1:2379, http://127.0.0.2:2380/") == [
            EtcdEndpoint(host: "127.0.0.1", port: 2379), EtcdEndpoint(host: "127.0.0.2", port: 2380),
        ])
        #expect(try EtcdEndpoint.parse("localhost") == [EtcdEndpoint(host: "localhost", port: 2379)])
        #expect(try EtcdEndpoint.parse("etcd://[::1]:4001") == [EtcdEndpoint(host: "::1", port: 4001)])
        #expect(throws: StorageError.self) { try EtcdEndpoint.parse("https://h:1") }
        #expect(throws: StorageError.self) { try EtcdEndpoint.parse("etcd://h:notaport") }
        #expect(throws: StorageError.self) { try EtcdEndpoint.parse("") }
    }

    /// Nothing listens: every call fails with `.unavailable` naming each endpoint, in about the
    /// configured time. Oversized values are refused before anything is sent.
    @Test func unreachableEtcd() async throws {
        var configuration = try EtcdStorage.Configuration(endpoints: "etcd://127.0.0.1:1,127.0.0.1:9")
        configuration.unavailableTimeout = .milliseconds(600)
        configuration.requestTimeout = .milliseconds(500)
        let storage = try EtcdStorage(configuration: configuration)
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try await storage.currentRevision()
            Issue.record("expected .unavailable")
        } catch let error as StorageError {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("127.0.0.1:1"), "\(error)")
            #expect(error.message.contains("127.0.0.1:9"), "\(error)")
        }
        #expect(start.duration(to: clock.now) < .seconds(5))
        await #expect(throws: StorageError.self) { try await storage.create("/a", value: bytes("x")) }
        do {
            _ = try await storage.watch(prefix: "/", afterRevision: 0)
            Issue.record("expected the watch to fail")
        } catch let error as StorageError {
            #expect(error.code == .unavailable, "\(error)")
        }

        let tooLarge = [UInt8](repeating: 1, count: StorageLimits.maxValueBytes + 1)
        let refusedAt = clock.now
        do {
            _ = try await storage.create("/big", value: tooLarge)
            Issue.record("expected .valueTooLarge")
        } catch let error as StorageError {
            #expect(error.code == .valueTooLarge)
        }
        #expect(refusedAt.duration(to: clock.now) < .milliseconds(100), "refused before any call")
        await storage.close()
        await #expect(throws: StorageError.self) { try await storage.currentRevision() }
    }

    /// Many watchers share one stream; a restart of the only member is survived by every watch
    /// with no gap and no duplicate.
    @Test(.tags(.integration), .enabled(if: etcdInstalled))
    func watchesSurviveRestart() async throws {
        try await withEtcd(fastElections: true) { cluster in
            try await withStorage(cluster) { storage in
                let start = try await storage.currentRevision()
                let streams = try await (0..<20).asyncMap { index in
                    try await storage.watch(prefix: index % 2 == 0 ? "/even/" : "/", afterRevision: start)
                }
                var written: [KeyValue] = []
                for index in 0..<10 { written.append(try await storage.create("/even/\(index)", value: bytes("a"))) }
                await cluster.kill(member: 0)
                // Writes while etcd is down wait for it (within unavailableTimeout).
                let writer = Task {
                    var more: [KeyValue] = []
                    for index in 10..<20 { more.append(try await storage.create("/even/\(index)", value: bytes("b"))) }
                    return more
                }
                try await Task.sleep(for: .milliseconds(300))
                try await cluster.restart(member: 0)
                written += try await writer.value
                for index in 20..<30 { written.append(try await storage.create("/even/\(index)", value: bytes("c"))) }
                #expect(written.map(\.modRevision) == Array((start + 1)...(start + 30)))
                for (index, stream) in streams.enumerated() {
                    let events = try await nextEvents(stream, count: 30, "watch \(index)")
                    #expect(events.map(\.kv) == written, "watch \(index): no gap, no duplicate")
                    stream.cancel()
                }
            }
        }
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
