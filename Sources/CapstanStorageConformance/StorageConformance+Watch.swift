import CapstanStorage
import Testing

extension StorageConformance {
    /// Writes through `storage` and records the event each write must produce.
    struct Recorder {
        let storage: any StorageBackend
        var events: [WatchEvent] = []

        init(_ storage: any StorageBackend) { self.storage = storage }

        @discardableResult
        mutating func create(_ key: String, _ value: String) async throws -> KeyValue {
            let kv = try await storage.create(key, value: bytes(value))
            events.append(.put(kv, previous: nil))
            return kv
        }

        @discardableResult
        mutating func update(_ key: String, _ value: String) async throws -> KeyValue {
            let previous = try await storage.get(key).kv!
            let kv = try await storage.update(key, value: bytes(value), expectedModRevision: previous.modRevision)
            events.append(.put(kv, previous: previous))
            return kv
        }

        mutating func delete(_ key: String) async throws {
            let result = try await storage.delete(key)
            events.append(.delete(key, revision: result.revision, previous: result.previous))
        }

        func under(_ prefix: String, after revision: Int64) -> [WatchEvent] {
            events.filter { $0.revision > revision && StorageKey.hasPrefix($0.key, prefix) }
        }
    }

    static func watchPrefixesByBytes(_ fixture: StorageFixture) async throws {
        let storage = fixture.backend
        var log = Recorder(storage)
        let start = try await storage.currentRevision()
        // Prefixes ending in `/`, and ones that end inside a segment or name one key.
        let prefixes = ["", "/bp/", "/bp/a/", "/bp/a", "/bp/ab", "/bp/a/x", "/bq"]
        var streams: [WatchStream] = []
        for prefix in prefixes { streams.append(try await storage.watch(prefix: prefix, afterRevision: start)) }
        try await log.create("/bp/a", "1")
        try await log.create("/bp/a/x", "2")
        try await log.create("/bp/ab/y", "3")
        try await log.create("/bp/b", "4")
        try await log.create("/bqz", "5")
        try await log.update("/bp/a/x", "6")
        try await log.delete("/bp/ab/y")
        for (prefix, stream) in zip(prefixes, streams) {
            let expected = log.under(prefix, after: start)
            let seen = try await events(stream, count: expected.count, "live events under \"\(prefix)\"")
            #expect(seen == expected, "prefix \"\(prefix)\": \(seen.map(\.key)) against \(expected.map(\.key))")
        }
        // Nothing more arrives for any of them: a marker written last is the next event of each watch that covers it.
        let marker = try await log.create("/bp/zz", "end")
        for (prefix, stream) in zip(prefixes, streams) where StorageKey.hasPrefix("/bp/zz", prefix) {
            let next = try await events(stream, count: 1, "marker under \"\(prefix)\"")
            #expect(next.map(\.revision) == [marker.modRevision], "prefix \"\(prefix)\"")
        }
        for stream in streams { stream.cancel() }
    }

    static func watchReplay(_ fixture: StorageFixture) async throws {
        let storage = fixture.backend
        var log = Recorder(storage)
        try await log.create("/w/a", "a1")
        try await log.create("/x/a", "other")
        try await log.create("/w/b", "b1")
        let watchedFrom = try await storage.currentRevision()

        // The missed events: more than one replay chunk of any reasonable size.
        try await log.update("/w/a", "a2")
        try await log.delete("/w/b")
        try await log.create("/x/b", "other")
        try await log.create("/w/b", "b2")
        for index in 0..<700 {
            switch index % 7 {
            case 0: try await log.create("/w/n\(index)", "n")
            case 3: try await log.delete("/w/n\(index - 3)")
            case 5: try await log.update("/x/a", "x\(index)")
            default: try await log.update("/w/a", "a\(index)")
            }
        }
        let expected = log.under("/w/", after: watchedFrom)

        let stream = try await storage.watch(prefix: "/w/", afterRevision: watchedFrom)
        let replayed = try await events(stream, count: expected.count, "replay")
        #expect(replayed.count == expected.count)
        if replayed != expected, let index = replayed.indices.first(where: { $0 >= expected.count || replayed[$0] != expected[$0] }) {
            Issue.record("replay differs at index \(index): got \(replayed[index]), expected \(index < expected.count ? String(describing: expected[index]) : "nothing")")
        }

        // Then live events follow without a gap or duplicate.
        let live = try await log.create("/w/live", "live")
        _ = try await log.update("/x/a", "not watched")
        let liveUpdate = try await log.update("/w/live", "live2")
        let next = try await events(stream, count: 2, "live after replay")
        #expect(next.map(\.revision) == [live.modRevision, liveUpdate.modRevision])
        #expect(next.first == .put(live, previous: nil))

        // A watch of everything sees every revision.
        let everything = try await storage.watch(prefix: "", afterRevision: watchedFrom)
        let all = try await events(everything, count: log.under("", after: watchedFrom).count, "replay of all keys")
        #expect(all == log.under("", after: watchedFrom))
        stream.cancel()
        everything.cancel()
    }

    static func watchFromEveryRevision(_ fixture: StorageFixture) async throws {
        let storage = fixture.backend
        var log = Recorder(storage)
        let base = try await storage.currentRevision()
        try await log.create("/e/a", "1")
        try await log.create("/e/b", "1")
        for round in 0..<6 {
            try await log.update("/e/a", "a\(round)")
            try await log.delete("/e/b")
            try await log.create("/e/b", "b\(round)")
        }
        let end = try await storage.currentRevision()
        for after in base...end {
            let stream = try await storage.watch(prefix: "/e/", afterRevision: after)
            let expected = log.under("/e/", after: after)
            let got = try await events(stream, count: expected.count, "watch after \(after)")
            #expect(got == expected, "watch after revision \(after)")
            stream.cancel()
        }
        // A watch from the current revision sees the next write first.
        let stream = try await storage.watch(prefix: "/e/", afterRevision: end)
        let next = try await log.update("/e/a", "next")
        #expect(try await events(stream, count: 1, "next write").first?.kv == next)
        stream.cancel()
    }

    static func watchProgress(_ fixture: StorageFixture) async throws {
        let storage = fixture.backend
        let start = try await storage.currentRevision()
        let stream = try await storage.watch(prefix: "/p/", afterRevision: start)
        let watched = try await storage.create("/p/a", value: bytes("a"))
        let unwatched = try await storage.create("/q/b", value: bytes("b"))
        try await storage.requestWatchProgress()

        let first = try await message(stream, "event before progress")
        #expect(first == .event(.put(watched, previous: nil)))
        // Progress follows every event up to the revision it names.
        var progress: Int64?
        while progress == nil {
            switch try await message(stream, "progress") {
            case .progress(let revision): progress = revision
            case .event(let event): Issue.record("unexpected event \(event)")
            }
        }
        #expect(progress == unwatched.modRevision)
        stream.cancel()
    }

    static func watchCancellation(_ fixture: StorageFixture) async throws {
        let storage = fixture.backend
        let start = try await storage.currentRevision()

        // Cancelling the consuming task ends the iteration.
        let stream = try await storage.watch(prefix: "/cancel/", afterRevision: start)
        let consumer = Task {
            var count = 0
            for try await _ in stream { count += 1 }
            return count
        }
        _ = try await storage.create("/cancel/a", value: bytes("a"))
        consumer.cancel()
        let delivered = try await withTimeout("cancelled consumer ends") { try await consumer.value }
        #expect(delivered <= 1)

        // cancel() ends it too, and later iteration returns nil at once.
        let second = try await storage.watch(prefix: "/cancel/", afterRevision: start)
        second.cancel()
        let afterCancel = try await withTimeout("iteration after cancel()") {
            var iterator = second.makeAsyncIterator()
            return try await iterator.next()
        }
        #expect(afterCancel == nil)

        // Dropped streams do not hold writes back.
        for index in 0..<20 {
            _ = try await storage.watch(prefix: "/cancel/", afterRevision: start)
            _ = try await storage.create("/cancel/dropped-\(index)", value: bytes("x"))
        }
        #expect(try await storage.count(prefix: "/cancel/").count == 21)
    }

    static func compaction(_ fixture: StorageFixture) async throws {
        let storage = fixture.backend
        var log = Recorder(storage)
        let v1 = try await log.create("/c/k1", "v1")
        try await log.update("/c/k1", "v2")
        let v3 = try await log.update("/c/k1", "v3")
        try await log.create("/c/k2", "gone")
        try await log.delete("/c/k2")
        let point = try await storage.currentRevision()
        let k3 = try await log.create("/c/k3", "after")

        try await storage.compact(upTo: point)

        await expectError(.compacted, "get below the compaction") {
            try await storage.get("/c/k1", atRevision: v1.modRevision)
        }
        let error = await expectError(.compacted, "list below the compaction") {
            try await storage.list(prefix: "/c/", startKey: nil, limit: nil, atRevision: point - 1)
        }
        #expect(error?.compactRevision == point)
        #expect(try await storage.get("/c/k1", atRevision: point).kv == v3, "the state at the compaction revision stays")
        #expect(try await storage.get("/c/k2", atRevision: point).kv == nil)
        #expect(try await storage.list(prefix: "/c/", startKey: nil, limit: nil, atRevision: point).kvs == [v3])
        #expect(try await storage.list(prefix: "/c/").kvs == [v3, k3])

        try await expectWatchCompacted(storage, prefix: "/c/", after: point - 1)
        try await expectWatchCompacted(storage, prefix: "", after: 0)
        let stream = try await storage.watch(prefix: "/c/", afterRevision: point)
        #expect(try await events(stream, count: 1, "watch from the compaction revision") == log.under("/c/", after: point))
        stream.cancel()

        await expectError(.compacted, "compacting again at the same revision") { try await storage.compact(upTo: point) }
        await expectError(.compacted, "compacting below") { try await storage.compact(upTo: point - 1) }
        let current = try await storage.currentRevision()
        await expectError(.futureRevision, "compacting the future") { try await storage.compact(upTo: current + 1) }

        // History after the compaction is intact and writes go on.
        let v4 = try await storage.update("/c/k1", value: bytes("v4"), expectedModRevision: v3.modRevision)
        #expect(v4.createRevision == v1.createRevision)
        #expect(try await storage.get("/c/k3", atRevision: k3.modRevision).kv == k3)
        let recreated = try await storage.create("/c/k2", value: bytes("back"))
        #expect(recreated.createRevision == recreated.modRevision)

        // Compacting everything keeps the latest state.
        let latest = try await storage.currentRevision()
        try await storage.compact(upTo: latest)
        #expect(try await storage.list(prefix: "/c/").kvs == [v4, recreated, k3])
        let tail = try await storage.watch(prefix: "/c/", afterRevision: latest)
        let v5 = try await storage.update("/c/k1", value: bytes("v5"), expectedModRevision: v4.modRevision)
        #expect(try await events(tail, count: 1, "watch after full compaction") == [.put(v5, previous: v4)])
        tail.cancel()
    }
}
