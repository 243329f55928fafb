import CapstanStorage
import CapstanStorageEtcd
import Foundation
import Testing

@Suite("etcd storage under many calls", .tags(.integration), .enabled(if: etcdInstalled))
struct EtcdStressTests {
    /// Many sequential calls on one connection: each write is applied exactly once (etcd's
    /// stream resets after complete responses must not cost the connection).
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
}
