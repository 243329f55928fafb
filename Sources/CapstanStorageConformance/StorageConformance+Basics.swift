import CapstanStorage
import Testing

extension StorageConformance {
    static func crud(_ fixture: StorageFixture) async throws {
        let storage = fixture.backend
        let start = try await storage.currentRevision()
        let key = "/registry/pods/default/nginx"

        let created = try await storage.create(key, value: bytes("v1"))
        #expect(created.key == key)
        #expect(created.value == bytes("v1"))
        #expect(created.modRevision == start + 1)
        #expect(created.createRevision == created.modRevision)
        #expect(created.lease == 0)
        #expect(try await storage.currentRevision() == start + 1)

        let read = try await storage.get(key)
        #expect(read.kv == created)
        #expect(read.revision == start + 1)

        let updated = try await storage.update(key, value: bytes("v2"), expectedModRevision: created.modRevision)
        #expect(updated.modRevision == start + 2)
        #expect(updated.createRevision == created.createRevision)
        #expect(updated.value == bytes("v2"))

        let emptied = try await storage.update(key, value: [], expectedModRevision: nil)
        #expect(emptied.value == [])
        #expect(try await storage.get(key).kv == emptied)

        let deleted = try await storage.delete(key, expectedModRevision: emptied.modRevision)
        #expect(deleted.previous == emptied)
        #expect(deleted.revision == emptied.modRevision + 1)
        #expect(try await storage.get(key).kv == nil)
        #expect(try await storage.currentRevision() == deleted.revision)

        let recreated = try await storage.create(key, value: bytes("again"))
        #expect(recreated.createRevision == deleted.revision + 1)
        #expect(recreated.modRevision == recreated.createRevision)
        #expect(try await storage.get("/registry/pods/default/absent").kv == nil)
    }

    static func preconditions(_ fixture: StorageFixture) async throws {
        let storage = fixture.backend
        let key = "/registry/configmaps/default/settings"
        let first = try await storage.create(key, value: bytes("one"))
        let before = try await storage.currentRevision()

        let exists = await expectError(.keyExists, "create over an existing key") {
            try await storage.create(key, value: bytes("other"))
        }
        if let current = exists?.current { #expect(current == first) }
        await expectError(.keyNotFound, "update of a missing key") {
            try await storage.update(key + "-missing", value: bytes("x"), expectedModRevision: nil)
        }
        await expectError(.keyNotFound, "update of a missing key with an expected revision") {
            try await storage.update(key + "-missing", value: bytes("x"), expectedModRevision: first.modRevision)
        }
        let conflict = await expectError(.conflict, "update with a wrong expected revision") {
            try await storage.update(key, value: bytes("x"), expectedModRevision: first.modRevision + 100)
        }
        #expect(conflict?.current == first)
        let deleteConflict = await expectError(.conflict, "delete with a wrong expected revision") {
            try await storage.delete(key, expectedModRevision: first.modRevision + 100)
        }
        #expect(deleteConflict?.current == first)
        await expectError(.keyNotFound, "delete of a missing key") {
            try await storage.delete(key + "-missing", expectedModRevision: nil)
        }
        await expectError(.keyNotFound, "conditional delete of a missing key") {
            try await storage.delete(key + "-missing", expectedModRevision: 1)
        }
        #expect(try await storage.currentRevision() == before, "failed writes must not take a revision")
        #expect(try await storage.get(key).kv == first)

        let second = try await storage.update(key, value: bytes("two"), expectedModRevision: first.modRevision)
        let stale = await expectError(.conflict, "update with a stale revision") {
            try await storage.update(key, value: bytes("three"), expectedModRevision: first.modRevision)
        }
        #expect(stale?.current == second)
        _ = try await storage.delete(key, expectedModRevision: second.modRevision)
        await expectError(.keyNotFound, "update after delete") {
            try await storage.update(key, value: bytes("four"), expectedModRevision: second.modRevision)
        }
        await expectError(.keyNotFound, "delete after delete") {
            try await storage.delete(key, expectedModRevision: second.modRevision)
        }
    }

    static func readsAtRevision(_ fixture: StorageFixture) async throws {
        let storage = fixture.backend
        let key = "/r/key"
        _ = try await storage.create("/r0/filler", value: bytes("so revision v1 - 1 is not 0 (latest)"))
        let v1 = try await storage.create(key, value: bytes("v1"))
        let v2 = try await storage.update(key, value: bytes("v2"), expectedModRevision: v1.modRevision)
        let deleted = try await storage.delete(key)
        let v3 = try await storage.create(key, value: bytes("v3"))

        #expect(try await storage.get(key, atRevision: v1.modRevision - 1).kv == nil)
        #expect(try await storage.get(key, atRevision: v1.modRevision).kv == v1)
        #expect(try await storage.get(key, atRevision: v2.modRevision).kv == v2)
        #expect(try await storage.get(key, atRevision: v2.modRevision).revision == v2.modRevision)
        #expect(try await storage.get(key, atRevision: deleted.revision).kv == nil)
        #expect(try await storage.get(key, atRevision: v3.modRevision).kv == v3)
        #expect(try await storage.get(key, atRevision: 0).kv == v3, "revision 0 reads the latest")

        #expect(try await storage.list(prefix: "/r/", startKey: nil, limit: nil, atRevision: v2.modRevision).kvs == [v2])
        #expect(try await storage.list(prefix: "/r/", startKey: nil, limit: nil, atRevision: deleted.revision).kvs == [])
        #expect(try await storage.list(prefix: "/r/").kvs == [v3])

        let current = try await storage.currentRevision()
        await expectError(.futureRevision, "get at a future revision") {
            try await storage.get(key, atRevision: current + 1)
        }
        await expectError(.futureRevision, "list at a future revision") {
            try await storage.list(prefix: "/r/", startKey: nil, limit: nil, atRevision: current + 10)
        }
    }

    static func limits(_ fixture: StorageFixture) async throws {
        let storage = fixture.backend
        await expectError(.invalidArgument, "empty key") { try await storage.create("", value: bytes("x")) }
        await expectError(.invalidArgument, "negative list limit") {
            try await storage.list(prefix: "/", startKey: nil, limit: -1, atRevision: nil)
        }
        await expectError(.invalidArgument, "zero lease TTL") { try await storage.grantLease(ttlSeconds: 0) }

        let largest = [UInt8](repeating: 0xAB, count: StorageLimits.maxValueBytes)
        let big = try await storage.create("/big/ok", value: largest)
        #expect(try await storage.get("/big/ok").kv?.value == largest)
        let tooLarge = largest + [0]
        let error = await expectError(.valueTooLarge, "value over the limit") {
            try await storage.create("/big/no", value: tooLarge)
        }
        #expect(error?.message.contains("\(StorageLimits.maxValueBytes)") == true, "the message names the limit")
        await expectError(.valueTooLarge, "update over the limit") {
            try await storage.update("/big/ok", value: tooLarge, expectedModRevision: big.modRevision)
        }
        #expect(try await storage.get("/big/no").kv == nil)

        let empty = try await storage.create("/big/empty", value: [])
        #expect(try await storage.get("/big/empty").kv == empty)
        let binary: [UInt8] = [0, 1, 2, 0xFF, 0, 0x80]
        let stored = try await storage.create("/big/binary", value: binary)
        #expect(try await storage.get("/big/binary").kv?.value == binary)
        #expect(stored.value == binary)
    }

    static func prefixRanges(_ fixture: StorageFixture) async throws {
        let storage = fixture.backend
        let keys = ["/a", "/a/", "/a/x", "/a/y/z", "/a0", "/ab", "/a/\u{E9}", "/a/\u{10FFFF}", "/b", "/a/\u{0}nul"]
        for key in keys.shuffled() { _ = try await storage.create(key, value: bytes(key)) }
        let byBytes = keys.sorted(by: StorageKey.less)

        let all = try await storage.list(prefix: "").kvs.map(\.key).filter { keys.contains($0) }
        #expect(all == byBytes, "keys order by UTF-8 bytes")

        let under = try await storage.list(prefix: "/a/").kvs.map(\.key)
        #expect(under == ["/a/", "/a/\u{0}nul", "/a/x", "/a/y/z", "/a/\u{E9}", "/a/\u{10FFFF}"])
        #expect(try await storage.count(prefix: "/a/").count == 6)

        let from = try await storage.list(prefix: "/a/", startKey: "/a/y", limit: nil, atRevision: nil).kvs.map(\.key)
        #expect(from == ["/a/y/z", "/a/\u{E9}", "/a/\u{10FFFF}"])
        let before = try await storage.list(prefix: "/a/", startKey: "/", limit: nil, atRevision: nil).kvs.map(\.key)
        #expect(before == under, "a start key before the prefix starts at the prefix")
        let after = try await storage.list(prefix: "/a/", startKey: "/b", limit: nil, atRevision: nil)
        #expect(after.kvs.isEmpty)
        #expect(!after.more)
        #expect(try await storage.list(prefix: "/nothing/").kvs.isEmpty)
    }

    static func paginationDuringWrites(_ fixture: StorageFixture) async throws {
        let storage = fixture.backend
        let prefix = "/registry/secrets/"
        var original: [KeyValue] = []
        for index in 0..<57 {
            original.append(try await storage.create(prefix + "s\(1000 + index)", value: bytes("value-\(index)")))
        }
        _ = try await storage.create("/registry/secretz", value: bytes("outside"))
        _ = try await storage.create("/registry/secrets", value: bytes("outside"))

        // Writers keep changing the range while the pages are read.
        let writer = Task {
            var index = 0
            while !Task.isCancelled && index < 400 {
                let key = prefix + "s\(1000 + index % 57)"
                _ = try await storage.update(key, value: bytes("changed-\(index)"), expectedModRevision: nil)
                _ = try await storage.create(prefix + "n\(index)", value: bytes("new"))
                index += 1
            }
        }
        defer { writer.cancel() }

        let first = try await storage.list(prefix: prefix, startKey: nil, limit: 10, atRevision: nil)
        let revision = first.revision
        let snapshot = try await storage.list(prefix: prefix, startKey: nil, limit: nil, atRevision: revision).kvs
        var pages = [first]
        while let last = pages.last, last.more {
            // Some writes between pages for backends whose writer task has not run yet.
            _ = try await storage.update(original[pages.count].key, value: bytes("between"), expectedModRevision: nil)
            _ = try await storage.delete(original[56 - pages.count].key)
            let next = try await storage.list(
                prefix: prefix, startKey: last.kvs.last!.key + "\u{0}", limit: 10, atRevision: revision)
            #expect(next.revision == revision, "every page is read at the first page's revision")
            pages.append(next)
        }
        let paged = pages.flatMap(\.kvs)
        #expect(paged == snapshot, "the pages add up to the list at that revision")
        #expect(paged.allSatisfy { StorageKey.hasPrefix($0.key, prefix) })
        var seen = 0
        for page in pages {
            seen += page.kvs.count
            #expect(page.remaining == snapshot.count - seen, "remaining counts the keys after the page")
            #expect(page.more == (page.remaining > 0))
        }
        #expect(pages.dropLast().allSatisfy { $0.kvs.count == 10 })
        // Keys created before the first page and not touched before it are in it unchanged.
        let unchanged = Set(snapshot.map(\.key))
        #expect(original.filter { $0.modRevision <= revision }.allSatisfy { unchanged.contains($0.key) })

        writer.cancel()
        _ = try? await writer.value
        let latest = try await storage.list(prefix: prefix)
        #expect(latest.revision > revision)
        #expect(latest.kvs != snapshot, "the latest list reflects the writes")
    }
}
