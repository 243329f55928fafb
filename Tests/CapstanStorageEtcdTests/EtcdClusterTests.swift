import CapstanStorage
import CapstanStorageEtcd
import Foundation
import Synchronization
import Testing

/// A 3-member etcd cluster on loopback: members are killed (SIGKILL, by PID) under load.
@Suite("etcd cluster", .tags(.integration), .enabled(if: etcdInstalled, "needs etcd in PATH (apt-get install etcd-server)"))
struct EtcdClusterTests {
    /// Kill the member the backend talks to while writes, reads and watches go on: the backend
    /// fails over, every write lands once, every watch sees every write exactly once, in order.
    @Test func survivesMemberKill() async throws {
        // etcd's own election timings: the 50 ms heartbeats of fastElections make a CPU-starved
        // cluster (the whole suite on 2 cores) elect leaders over and over.
        try await withEtcd(members: 3, fastElections: false) { cluster in
            try await withStorage(cluster) { storage in
                let start = try await storage.currentRevision()
                let watches = try await [
                    storage.watch(prefix: "/c/", afterRevision: start),
                    storage.watch(prefix: "/c/odd/", afterRevision: start),
                    storage.watch(prefix: "", afterRevision: start),
                ]
                let total = 240
                let progress = Mutex(0)
                let failure = Mutex<String?>(nil)
                let writer = Task {
                    do {
                        var written: [KeyValue] = []
                        for index in 0..<total {
                            let key = "/c/\(index % 2 == 0 ? "even" : "odd")/\(index / 4)"
                            let kv: KeyValue
                            if index % 4 < 2 {
                                kv = try await storage.create(key, value: bytes("v\(index)"))
                            } else {
                                let current = try await storage.get(key).kv!
                                kv = try await storage.update(key, value: bytes("v\(index)"), expectedModRevision: current.modRevision)
                            }
                            written.append(kv)
                            progress.withLock { $0 = index + 1 }
                        }
                        return written
                    } catch {
                        failure.withLock { $0 = "\(error)" }
                        throw error
                    }
                }
                // A writer that failed ends the wait at once and its error is the test's.
                try await waitFor { progress.withLock { $0 } >= 60 || failure.withLock { $0 } != nil }
                // Member 0 is the first endpoint, the one in use.
                await cluster.kill(member: 0)
                try await waitFor { progress.withLock { $0 } >= 140 || failure.withLock { $0 } != nil }
                if let failure = failure.withLock({ $0 }) {
                    Issue.record("the writer failed: \(failure)")
                    return
                }
                let listed = try await storage.list(prefix: "/c/")
                #expect(!listed.kvs.isEmpty, "reads go on with a member down")
                try await cluster.restart(member: 0)
                let written = try await writer.value

                #expect(written.count == total)
                #expect(written.map(\.modRevision) == Array((start + 1)...(start + Int64(total))), "each write landed once")
                let expected = [
                    written,
                    written.filter { $0.key.hasPrefix("/c/odd/") },
                    written,
                ]
                for (index, stream) in watches.enumerated() {
                    let events = try await nextEvents(stream, count: expected[index].count, "watch \(index)")
                    #expect(events.map(\.kv) == expected[index], "watch \(index): no gap, no duplicate")
                    stream.cancel()
                }

                // The restarted member serves the same data.
                var configuration = EtcdStorage.Configuration(endpoints: [cluster.members[0].endpoint])
                configuration.unavailableTimeout = .seconds(10)
                let direct = try EtcdStorage(configuration: configuration)
                let fromRestarted = try await direct.list(prefix: "/c/")
                #expect(fromRestarted.kvs == (try await storage.list(prefix: "/c/", startKey: nil, limit: nil, atRevision: fromRestarted.revision)).kvs)
                await direct.close()
            }
        }
    }

    /// A watch whose last revision was compacted while it could not reach any member ends
    /// with `.compacted` once it reconnects.
    @Test func resumeAfterCompactionReportsCompacted() async throws {
        try await withEtcd(members: 3, fastElections: true) { cluster in
            var only0 = EtcdStorage.Configuration(endpoints: [cluster.members[0].endpoint])
            only0.unavailableTimeout = .seconds(30)
            let watcher = try EtcdStorage(configuration: only0)
            let start = try await watcher.currentRevision()
            let stream = try await watcher.watch(prefix: "/w/", afterRevision: start)
            let first = try await watcher.create("/w/a", value: bytes("1"))
            #expect(try await nextEvents(stream, count: 1, "first event").map(\.kv) == [first])

            await cluster.kill(member: 0)
            var others = EtcdStorage.Configuration(endpoints: [cluster.members[1].endpoint, cluster.members[2].endpoint])
            others.unavailableTimeout = .seconds(10)
            let writer = try EtcdStorage(configuration: others)
            _ = try await writer.create("/w/b", value: bytes("2"))
            _ = try await writer.create("/w/c", value: bytes("3"))
            try await writer.compact(upTo: try await writer.currentRevision())
            await writer.close()
            try await cluster.restart(member: 0)

            do {
                let events = try await nextEvents(stream, count: 2, "after compaction")
                Issue.record("expected .compacted, got \(events)")
            } catch let error as StorageError {
                #expect(error.code == .compacted, "\(error)")
            }
            await watcher.close()
        }
    }
}

/// Polls `condition` every 10 ms, failing after 60 s.
func waitFor(_ what: String = #function, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(60)
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TestFailure("timed out waiting: \(what)") }
        try await Task.sleep(for: .milliseconds(10))
    }
}
