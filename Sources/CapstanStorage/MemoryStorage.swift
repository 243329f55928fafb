import Synchronization

/// The reference `StorageBackend`: the whole log in memory, behind one lock.
///
/// Meant to be obviously correct rather than compact: every version of every key since the
/// last compaction is kept. Gets are O(log versions) by hash lookup and binary search; lists
/// walk a sorted key array. Not durable.
public final class MemoryStorage: StorageBackend {
    /// How often `run()` looks for expired leases (as etcd's lessor does).
    public static let leaseCheckInterval: Duration = .milliseconds(500)

    private let clock: StorageClock
    private let state = Mutex(State())

    /// - Parameter clock: measures lease TTLs; tests pass a manual clock.
    public init(clock: some Clock<Duration> = ContinuousClock()) {
        self.clock = StorageClock(clock)
    }

    public func get(_ key: String, atRevision revision: Int64?) async throws -> GetResult {
        try StorageLimits.checkKey(key)
        return try state.withLock { state throws(StorageError) in
            try state.checkOpen()
            try Self.checkReadRevision(revision, current: state.revision, compacted: state.compactRevision)
            let at = revision.flatMap { $0 == 0 ? nil : $0 } ?? state.revision
            return GetResult(kv: state.value(of: key, at: at), revision: at)
        }
    }

    public func list(prefix: String, startKey: String?, limit: Int?, atRevision revision: Int64?) async throws -> ListResult {
        if let limit, limit < 0 { throw StorageError.invalidArgument("limit must not be negative (got \(limit))") }
        return try state.withLock { state throws(StorageError) in
            try state.checkOpen()
            try Self.checkReadRevision(revision, current: state.revision, compacted: state.compactRevision)
            let at = revision.flatMap { $0 == 0 ? nil : $0 } ?? state.revision
            let limit = (limit ?? 0) == 0 ? Int.max : limit!
            var start = prefix
            if let startKey, StorageKey.less(start, startKey) { start = startKey }
            var kvs: [KeyValue] = []
            var remaining = 0
            var index = state.lowerBound(start)
            while index < state.sortedKeys.count, StorageKey.hasPrefix(state.sortedKeys[index], prefix) {
                if let kv = state.value(of: state.sortedKeys[index], at: at) {
                    if kvs.count < limit { kvs.append(kv) } else { remaining += 1 }
                }
                index += 1
            }
            return ListResult(kvs: kvs, revision: at, more: remaining > 0, remaining: remaining)
        }
    }

    public func count(prefix: String) async throws -> CountResult {
        let page = try await list(prefix: prefix, startKey: nil, limit: nil, atRevision: nil)
        return CountResult(count: page.kvs.count, revision: page.revision)
    }

    public func create(_ key: String, value: [UInt8], lease: Int64) async throws -> KeyValue {
        try StorageLimits.checkWrite(key, value: value, lease: lease)
        return try state.withLock { state throws(StorageError) in
            try state.checkOpen()
            if let current = state.latest(key) { throw .keyExists(key, current: current) }
            try state.checkLease(lease)
            let revision = state.revision + 1
            let kv = KeyValue(key: key, value: value, createRevision: revision, modRevision: revision, lease: lease)
            state.record(.put(kv, previous: nil))
            return kv
        }
    }

    public func update(_ key: String, value: [UInt8], expectedModRevision: Int64?, lease: Int64) async throws -> KeyValue {
        try StorageLimits.checkWrite(key, value: value, lease: lease)
        try StorageLimits.checkExpected(expectedModRevision)
        return try state.withLock { state throws(StorageError) in
            try state.checkOpen()
            guard let current = state.latest(key) else { throw .keyNotFound(key) }
            if let expected = expectedModRevision, expected != current.modRevision {
                throw .conflict(key, expected: expected, current: current)
            }
            try state.checkLease(lease)
            let kv = KeyValue(
                key: key, value: value, createRevision: current.createRevision,
                modRevision: state.revision + 1, lease: lease)
            state.record(.put(kv, previous: current))
            return kv
        }
    }

    public func delete(_ key: String, expectedModRevision: Int64?) async throws -> DeleteResult {
        try StorageLimits.checkKey(key)
        try StorageLimits.checkExpected(expectedModRevision)
        return try state.withLock { state throws(StorageError) in
            try state.checkOpen()
            guard let current = state.latest(key) else { throw .keyNotFound(key) }
            if let expected = expectedModRevision, expected != current.modRevision {
                throw .conflict(key, expected: expected, current: current)
            }
            let revision = state.revision + 1
            state.record(.delete(key, revision: revision, previous: current))
            return DeleteResult(previous: current, revision: revision)
        }
    }

    public func watch(prefix: String, afterRevision: Int64) async throws -> WatchStream {
        if afterRevision < 0 {
            throw StorageError.invalidArgument("watch revision must not be negative (got \(afterRevision))")
        }
        let channel: WatchChannel = try state.withLock { state throws(StorageError) in
            try state.checkOpen()
            if afterRevision < state.compactRevision {
                throw .compacted(requested: afterRevision, compactRevision: state.compactRevision)
            }
            let id = state.nextWatcherID
            state.nextWatcherID += 1
            let channel = WatchChannel(onCancel: { [weak self] in
                self?.state.withLock { _ = $0.watchers.removeValue(forKey: id) }
            })
            // Replay the missed events now, under the lock, so live ones follow without a gap.
            var index = state.firstEvent(after: afterRevision)
            while index < state.events.count {
                let event = state.events[index]
                if StorageKey.hasPrefix(event.key, prefix) { channel.sendIgnoringLimit(.event(event)) }
                index += 1
            }
            state.watchers[id] = Watcher(prefix: prefix, minRevision: afterRevision, channel: channel)
            return channel
        }
        return WatchStream(channel)
    }

    public func requestWatchProgress() async throws {
        try state.withLock { state throws(StorageError) in
            try state.checkOpen()
            let revision = state.revision
            for (id, watcher) in state.watchers where watcher.minRevision <= revision {
                if !watcher.channel.send(.progress(revision: revision)) { state.watchers[id] = nil }
            }
        }
    }

    public func compact(upTo revision: Int64) async throws {
        try state.withLock { state throws(StorageError) in
            try state.checkOpen()
            if revision > state.revision { throw .futureRevision(requested: revision, current: state.revision) }
            if revision <= state.compactRevision {
                throw .compacted(requested: revision, compactRevision: state.compactRevision)
            }
            state.compact(upTo: revision)
        }
    }

    public func currentRevision() async throws -> Int64 {
        try state.withLock { state throws(StorageError) in
            try state.checkOpen()
            return state.revision
        }
    }

    /// The compaction revision (0 if never compacted).
    public func compactRevision() -> Int64 {
        state.withLock { $0.compactRevision }
    }

    public func grantLease(ttlSeconds: Int64) async throws -> Int64 {
        guard ttlSeconds > 0 else { throw StorageError.invalidArgument("lease TTL must be positive (got \(ttlSeconds))") }
        let now = clock.now()
        return try state.withLock { state throws(StorageError) in
            try state.checkOpen()
            let id = state.nextLeaseID
            state.nextLeaseID += 1
            state.leases[id] = Lease(deadline: now + .seconds(ttlSeconds))
            return id
        }
    }

    public func revokeLease(_ id: Int64) async throws {
        try state.withLock { state throws(StorageError) in
            try state.checkOpen()
            guard state.leases[id] != nil else { throw .leaseNotFound(id) }
            state.revoke(id)
        }
    }

    public func run() async throws {
        var now = clock.now()
        while !Task.isCancelled {
            let checked = now
            state.withLock { state in
                guard !state.closed else { return }
                let expired = state.leases.filter { $0.value.deadline <= checked }.keys.sorted()
                for id in expired { state.revoke(id) }
            }
            do {
                try await clock.sleep(until: checked + Self.leaseCheckInterval)
            } catch is CancellationError {
                return
            }
            now = clock.now()
        }
    }

    public func close() async {
        let channels = state.withLock { state in
            state.closed = true
            let channels = state.watchers.values.map(\.channel)
            state.watchers = [:]
            return channels
        }
        for channel in channels { channel.finish(throwing: State.closedError) }
    }
}

extension MemoryStorage {
    private struct Version {
        var revision: Int64
        /// nil: deleted at `revision`.
        var kv: KeyValue?
    }

    private struct Lease {
        var deadline: Duration
        var keys: Set<String> = []
    }

    private struct Watcher {
        var prefix: String
        var minRevision: Int64
        var channel: WatchChannel
    }

    private struct State {
        static let closedError = StorageError(.unavailable, "memory storage is closed")

        var revision: Int64 = 0
        var compactRevision: Int64 = 0
        /// Every key with a version since the compaction, in byte order.
        var sortedKeys: [String] = []
        var history: [String: [Version]] = [:]
        /// Changes after the compaction revision, in order, for watch replay.
        var events: [WatchEvent] = []
        var watchers: [Int: Watcher] = [:]
        var nextWatcherID = 0
        var leases: [Int64: Lease] = [:]
        var nextLeaseID: Int64 = 1
        var closed = false

        func checkOpen() throws(StorageError) {
            if closed { throw Self.closedError }
        }

        func checkLease(_ lease: Int64) throws(StorageError) {
            if lease != 0 && leases[lease] == nil { throw .leaseNotFound(lease) }
        }

        func latest(_ key: String) -> KeyValue? {
            history[key]?.last?.kv
        }

        func value(of key: String, at revision: Int64) -> KeyValue? {
            guard let versions = history[key] else { return nil }
            // Last version with revision <= `revision`.
            var low = 0
            var high = versions.count
            while low < high {
                let mid = (low + high) / 2
                if versions[mid].revision <= revision { low = mid + 1 } else { high = mid }
            }
            return low == 0 ? nil : versions[low - 1].kv
        }

        func lowerBound(_ key: String) -> Int {
            var low = 0
            var high = sortedKeys.count
            while low < high {
                let mid = (low + high) / 2
                if StorageKey.less(sortedKeys[mid], key) { low = mid + 1 } else { high = mid }
            }
            return low
        }

        func firstEvent(after revision: Int64) -> Int {
            var low = 0
            var high = events.count
            while low < high {
                let mid = (low + high) / 2
                if events[mid].revision <= revision { low = mid + 1 } else { high = mid }
            }
            return low
        }

        /// Appends a change at `revision + 1`, keeps lease membership, notifies watchers.
        mutating func record(_ event: WatchEvent) {
            precondition(event.revision == revision + 1, "revisions are assigned in order")
            revision = event.revision
            let key = event.key
            let new = event.kind == .put ? event.kv : nil
            if history[key] == nil {
                history[key] = []
                sortedKeys.insert(key, at: lowerBound(key))
            }
            history[key]!.append(Version(revision: revision, kv: new))
            events.append(event)

            let oldLease = event.previous?.lease ?? 0
            let newLease = new?.lease ?? 0
            if oldLease != newLease || new == nil {
                if oldLease != 0 { leases[oldLease]?.keys.remove(key) }
            }
            if newLease != 0 { leases[newLease]?.keys.insert(key) }

            for (id, watcher) in watchers where event.revision > watcher.minRevision {
                guard StorageKey.hasPrefix(key, watcher.prefix) else { continue }
                if !watcher.channel.send(.event(event)) { watchers[id] = nil }
            }
        }

        mutating func revoke(_ id: Int64) {
            guard let lease = leases.removeValue(forKey: id) else { return }
            for key in lease.keys.sorted(by: StorageKey.less) {
                guard let current = latest(key) else { continue }
                record(.delete(key, revision: revision + 1, previous: current))
            }
        }

        mutating func compact(upTo target: Int64) {
            var emptied: Set<String> = []
            for (key, versions) in history {
                var low = 0
                var high = versions.count
                while low < high {
                    let mid = (low + high) / 2
                    if versions[mid].revision <= target { low = mid + 1 } else { high = mid }
                }
                // versions[low - 1] is the state as of `target`: keep it unless it is a deletion.
                guard low > 0 else { continue }
                var drop = low - 1
                if versions[low - 1].kv == nil { drop = low }
                if drop == 0 { continue }
                if drop == versions.count {
                    emptied.insert(key)
                } else {
                    history[key] = Array(versions[drop...])
                }
            }
            if !emptied.isEmpty {
                for key in emptied { history[key] = nil }
                sortedKeys.removeAll { emptied.contains($0) }
            }
            events.removeFirst(firstEvent(after: target))
            compactRevision = target
        }
    }
}
