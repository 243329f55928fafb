import CapstanStorage
import CapstanStorageConformance
import CapstanStorageSQLite
import Foundation
import Synchronization
import Testing
import VaporCSQLite

@Suite("SQLite storage")
struct SQLiteStorageTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("state, history and leases survive a reopen")
    func reopen() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("state.db")
        let clock = ManualClock()

        let first = try SQLiteStorage(path: path, clock: clock)
        let a1 = try await first.create("/k/a", value: Self.bytes("a1"))
        let a2 = try await first.update("/k/a", value: Self.bytes("a2"), expectedModRevision: a1.modRevision)
        let lease = try await first.grantLease(ttlSeconds: 10)
        let leased = try await first.create("/k/leased", value: Self.bytes("l"), lease: lease)
        _ = try await first.create("/k/b", value: Self.bytes("b"))
        let deleted = try await first.delete("/k/b")
        await first.close()
        await #expect(throws: StorageError.self) { try await first.get("/k/a") }

        let second = try SQLiteStorage(path: path, clock: clock)
        #expect(try await second.currentRevision() == deleted.revision)
        #expect(try await second.get("/k/a").kv == a2)
        #expect(try await second.get("/k/a", atRevision: a1.modRevision).kv == a1)
        #expect(try await second.get("/k/b").kv == nil)
        #expect(try await second.get("/k/leased").kv == leased)

        // History is watchable after the reopen, and live events follow.
        let stream = try await second.watch(prefix: "/k/", afterRevision: 0)
        var iterator = stream.makeAsyncIterator()
        var replayed: [Int64] = []
        for _ in 0..<5 {
            if case .event(let event)? = try await iterator.next() { replayed.append(event.revision) }
        }
        #expect(replayed == Array(1...5))

        // The lease was persisted and expires (with a fresh TTL from the reopen).
        let runner = Task { try await second.run() }
        clock.advance(by: .seconds(11))
        guard case .event(let expiry)? = try await iterator.next() else {
            Issue.record("no expiry event")
            return
        }
        #expect(expiry.kind == .delete)
        #expect(expiry.key == "/k/leased")
        #expect(expiry.revision == deleted.revision + 1)
        runner.cancel()
        _ = try? await runner.value
        let report = try await second.verifyIntegrity()
        #expect(report.isSound, "\(report)")
        #expect(report.rows == 6)
        // The expired lease's id is never handed out again, not even after another reopen.
        await #expect(throws: StorageError.self) { try await second.revokeLease(lease) }
        await second.close()
        let third = try SQLiteStorage(path: path, clock: clock)
        #expect(try await third.grantLease(ttlSeconds: 5) > lease)
        await third.close()
    }

    @Test("compaction is kept across a reopen and the log stays consistent")
    func compactionPersists() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("state.db")
        var options = SQLiteStorage.Options()
        options.compactionStep = 7  // many small compaction transactions
        let storage = try SQLiteStorage(path: path, options: options)
        var latest: [String: KeyValue] = [:]
        for round in 0..<30 {
            for key in ["/c/a", "/c/b", "/c/c"] {
                if let current = latest[key] {
                    if round % 5 == 4 {
                        _ = try await storage.delete(key, expectedModRevision: current.modRevision)
                        latest[key] = nil
                    } else {
                        latest[key] = try await storage.update(key, value: Self.bytes("\(round)"), expectedModRevision: current.modRevision)
                    }
                } else {
                    latest[key] = try await storage.create(key, value: Self.bytes("\(round)"))
                }
            }
        }
        let point = try await storage.currentRevision() - 4
        let before = try await storage.list(prefix: "/c/", startKey: nil, limit: nil, atRevision: point)
        try await storage.compact(upTo: point)
        let report = try await storage.verifyIntegrity()
        #expect(report.isSound, "\(report)")
        #expect(report.rows <= 3 + 4, "only the state at the compaction revision and later rows remain (\(report.rows))")
        await storage.close()

        let reopened = try SQLiteStorage(path: path)
        await #expect(throws: StorageError.self) { try await reopened.get("/c/a", atRevision: point - 1) }
        #expect(try await reopened.list(prefix: "/c/", startKey: nil, limit: nil, atRevision: point) == before)
        #expect(try await reopened.list(prefix: "/c/").kvs == latest.values.sorted { StorageKey.less($0.key, $1.key) })
        #expect(try await reopened.verifyIntegrity().isSound)
        await reopened.close()
    }

    @Test("compaction runs in short steps: writes go on while it works")
    func compactionInterleaves() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var options = SQLiteStorage.Options()
        options.compactionStep = 4
        let storage = try SQLiteStorage(path: directory.file("state.db"), options: options)
        var kv = try await storage.create("/hot", value: Self.bytes("0"))
        for index in 1..<4000 {
            kv = try await storage.update("/hot", value: Self.bytes("\(index)"), expectedModRevision: kv.modRevision)
        }
        let point = kv.modRevision
        let finished = Mutex(false)
        let compaction = Task {
            try await storage.compact(upTo: point)
            finished.withLock { $0 = true }
        }
        // Once the compaction revision is recorded, the deletions are under way ...
        while true {
            do {
                _ = try await storage.get("/hot", atRevision: point - 1)
                await Task.yield()
            } catch let error as StorageError where error.code == .compacted {
                break
            }
        }
        // ... and each write waits for at most one short compaction step, not for all 1,000 (ten
        // writes against a thousand steps leave room for writes slowed by other tests' disk work).
        let writes = 10
        for index in 0..<writes { _ = try await storage.create("/during/\(index)", value: Self.bytes("x")) }
        #expect(!finished.withLock { $0 }, "writes completed while the compaction was still running")
        try await compaction.value
        #expect(try await storage.get("/hot").kv == kv)
        let report = try await storage.verifyIntegrity()
        #expect(report.isSound, "\(report)")
        #expect(report.rows == 1 + writes)
        await storage.close()
    }

    @Test("a file that is not a database is refused with a clear error")
    func corruptFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("garbage.db")
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: StorageError.self) { try SQLiteStorage(path: path) }
        #expect(error.code == .corrupt)
        #expect(error.message.contains(path))
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test("a damaged database reports corruption on access, never crashes")
    func damagedPages() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("state.db")
        let storage = try SQLiteStorage(path: path)
        for index in 0..<2000 {
            _ = try await storage.create("/d/\(index)", value: [UInt8](repeating: UInt8(index % 251), count: 200))
        }
        await storage.close()
        // Overwrite pages in the middle of the file (after the WAL was checkpointed on close).
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: 8 * 4096)
        try handle.write(contentsOf: Data(repeating: 0xEE, count: 16 * 4096))
        try handle.close()

        do {
            let reopened = try SQLiteStorage(path: path)
            var sawError: StorageError?
            do {
                _ = try await reopened.list(prefix: "/d/")
                for index in 0..<2000 { _ = try await reopened.get("/d/\(index)") }
                let report = try await reopened.verifyIntegrity()
                #expect(!report.isSound, "damage must show in the integrity check")
            } catch let error as StorageError {
                sawError = error
            }
            if let sawError {
                #expect(sawError.code == .corrupt, "\(sawError)")
                #expect(sawError.message.contains(path))
            }
            await reopened.close()
        } catch let error as StorageError {
            #expect(error.code == .corrupt, "\(error)")
            #expect(error.message.contains(path))
        }
    }

    @Test("a SQLite database of another program is refused")
    func foreignDatabase() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("other.db")
        var db: OpaquePointer?
        #expect(sqlite_nio_sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK)
        #expect(sqlite_nio_sqlite3_exec(db, "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)", nil, nil, nil) == SQLITE_OK)
        sqlite_nio_sqlite3_close_v2(db)

        let error = try #require(throws: StorageError.self) { try SQLiteStorage(path: path) }
        #expect(error.code == .corrupt, "\(error)")
        #expect(error.message.contains(path))
        #expect(error.message.contains("not a Capstan storage database"))
    }

    @Test("a missing directory or a directory path is a clear I/O error")
    func unopenable() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let missing = directory.file("no/such/dir/state.db")
        let error = try #require(throws: StorageError.self) { try SQLiteStorage(path: missing) }
        #expect(error.code == .io)
        #expect(error.message.contains("no/such/dir"))
        #expect(error.message.contains("No such file or directory"))

        let error2 = try #require(throws: StorageError.self) { try SQLiteStorage(path: directory.path) }
        #expect(error2.code == .io)
        #expect(error2.message.contains("\(directory.path) is not a regular file"))
        #expect(!FileManager.default.fileExists(atPath: directory.path + ".lock"), "nothing is created beside it")
    }

    @Test("a database open in one place cannot be opened again")
    func exclusive() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("state.db")
        let storage = try SQLiteStorage(path: path)
        let error = try #require(throws: StorageError.self) { try SQLiteStorage(path: path) }
        #expect(error.code == .unavailable)
        #expect(error.message.contains("in use"))
        await storage.close()
        let again = try SQLiteStorage(path: path)
        await again.close()
    }

    @Test("closing unlocks the database even while another copy of the lock's descriptor is open")
    func closeUnlocksWhileTheDescriptorIsShared() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("state.db")
        let storage = try SQLiteStorage(path: path)
        // A copy of the lock file's descriptor, as a child made by clone or vfork holds one
        // (the agent's namespace helper, posix_spawn) until it execs or exits.
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")
        let lockFD = try #require(descriptors.compactMap(Int32.init).first {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == path + ".lock"
        })
        let copy = dup(lockFD)
        #expect(copy >= 0)
        defer { close(copy) }
        await storage.close()
        let again = try SQLiteStorage(path: path)
        await again.close()
    }

    @Test("a full database fails the batch with a clear error, acknowledges nothing, and recovers")
    func full() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var options = SQLiteStorage.Options()
        options.maxPageCount = 64  // 256 KiB with 4 KiB pages
        let storage = try SQLiteStorage(path: directory.file("state.db"), options: options)
        let start = try await storage.currentRevision()
        var acknowledged: [KeyValue] = []
        var failure: StorageError?
        for index in 0..<200 {
            do {
                acknowledged.append(try await storage.create("/full/\(index)", value: [UInt8](repeating: 7, count: 8000)))
            } catch let error as StorageError {
                failure = error
                break
            }
        }
        let error = try #require(failure)
        #expect(error.code == .io)
        #expect(error.message.contains("full"), "\(error)")
        #expect(try await storage.currentRevision() == start + Int64(acknowledged.count))
        for kv in acknowledged { #expect(try await storage.get(kv.key).kv == kv) }
        // The failed batch left the database consistent: a small write still fits.
        let small = try await storage.create("/full/small", value: Self.bytes("fits"))
        #expect(small.modRevision == start + Int64(acknowledged.count) + 1)
        #expect(try await storage.verifyIntegrity().isSound)
        await storage.close()
    }

    @Test("watchers that fall far behind are ended, not allowed to exhaust memory")
    func slowWatcher() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var options = SQLiteStorage.Options()
        options.watchBufferLimit = 10
        let storage = try SQLiteStorage(path: directory.file("state.db"), options: options)
        let stream = try await storage.watch(prefix: "/", afterRevision: 0)
        for index in 0..<20 { _ = try await storage.create("/slow/\(index)", value: Self.bytes("x")) }
        var delivered = 0
        do {
            for try await _ in stream { delivered += 1 }
            Issue.record("the stream should end with an error")
        } catch let error as StorageError {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("fell behind"))
        }
        #expect(delivered == 10, "everything queued before the limit is delivered, without a gap")
        await storage.close()
    }

    @Test("closing ends watches and refuses later calls")
    func closing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let storage = try SQLiteStorage(path: directory.file("state.db"))
        let stream = try await storage.watch(prefix: "/", afterRevision: 0)
        await storage.close()
        var iterator = stream.makeAsyncIterator()
        await #expect(throws: StorageError.self) { _ = try await iterator.next() }
        let error = try await #require(throws: StorageError.self) { try await storage.create("/x", value: []) }
        #expect(error.code == .unavailable)
        await storage.close()
    }
}
