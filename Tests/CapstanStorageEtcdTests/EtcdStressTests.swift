import CapstanStorage
import Foundation
import Testing

@testable import CapstanStorageEtcd

@Suite("etcd storage under many calls", .tags(.integration), .enabled(if: etcdInstalled))
struct EtcdStressTests {
    /// Many sequential calls on one connection: each write is applied exactly once.
    @Test func sequentialCreateDelete() async throws {
        try await withEtcd { cluster in
            try await withStorage(cluster) { storage in
                let start = try await storage.currentRevision()
                for index in 0..<400 {
                    let kv = try await storage.create("/d/n\(index)", value: bytes("n"))
                    #expect(kv.modRevision == start + 1 + Int64(index) + Int64(max(0, index - 3)))
                    if index >= 3 { _ = try await storage.delete("/d/n\(index - 3)", expectedModRevision: nil) }
                }
            }
        }
    }

    /// Sequential and concurrent calls share one connection that is never closed under them:
    /// etcd's PING after nearly every request (far more than swift-nio-http2's 200 in 30 s)
    /// is answered by `EtcdPingResponder`.
    @Test func callsKeepOneConnection() async throws {
        try await withEtcd { cluster in
            try await withStorage(cluster) { storage in
                let value = [UInt8](repeating: 7, count: 1024)
                // One call at a time: etcd sends a PING for each.
                for index in 0..<250 {
                    let created = try await storage.create("/s/\(index)", value: value)
                    #expect(try await storage.get("/s/\(index)").kv == created)
                }
                #expect(storage.connection.clientsMade == 1)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for client in 0..<16 {
                        group.addTask {
                            for index in 0..<60 {
                                let key = "/c/\(client)/\(index)"
                                let created = try await storage.create(key, value: value)
                                let read = try await storage.get(key).kv
                                #expect(read == created)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(try await storage.count(prefix: "/c/").count == 16 * 60)
                #expect(storage.connection.clientsMade == 1)
            }
        }
    }
}
