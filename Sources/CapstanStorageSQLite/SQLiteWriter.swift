import CapstanStorage
import Synchronization
import VaporCSQLite

/// The single writer: owns the write connection and runs on its own thread.
///
/// Each loop takes every queued request, applies them in order inside one transaction
/// (checking preconditions against the table as it stands inside that transaction, so they
/// are exact), commits (`synchronous=FULL`: the WAL is fsynced), publishes the batch's events
/// to the watch hub and only then resumes the callers. If anything in the batch fails at the
/// SQLite level the whole batch is rolled back and every caller gets the error: nothing is
/// acknowledged that was not committed.
final class SQLiteWriter: @unchecked Sendable {
    struct Lease {
        var ttlSeconds: Int64
        var deadline: Duration
        var keys: Set<String> = []
    }

    private struct Compaction {
        var target: Int64
        var low: Int64
        var waiters: [CheckedContinuation<WriteOutcome, any Error>]
    }

    let queue = WriteQueue<WriteRequest>()
    /// Number of live leases, for `run()` to skip expiry checks when there are none.
    let leaseCount = Atomic<Int>(0)
    /// Committed transactions and the requests they answered (for benchmarks and metrics).
    let batchCount = Atomic<Int>(0)
    let requestCount = Atomic<Int>(0)
    /// The revision of the latest committed write, set before callers are resumed.
    let committedRevision = Atomic<Int64>(0)

    private let connection: SQLiteConnection
    private let hub: SQLiteWatchHub
    private let clock: StorageClock
    private let options: SQLiteStorage.Options
    private let exit = ThreadExit()

    // Writer-thread state (and the opening thread's, before `start`).
    private(set) var revision: Int64 = 0
    private(set) var compactRevision: Int64 = 0
    private var leases: [Int64: Lease] = [:]
    private var nextLeaseID: Int64 = 1
    private var failure: StorageError?
    private var compaction: Compaction?

    init(connection: SQLiteConnection, hub: SQLiteWatchHub, clock: StorageClock, options: SQLiteStorage.Options) throws(StorageError) {
        self.connection = connection
        self.hub = hub
        self.clock = clock
        self.options = options
        let revisions = try connection.statement(SQLiteSchema.revisions)
        _ = try revisions.step()
        revision = revisions.int64(0)
        compactRevision = revisions.int64(1)
        committedRevision.store(revision, ordering: .relaxed)
        revisions.reset()
        try loadLeases()
        let done = try meta("compact_done")
        if compactRevision > done {
            // A compaction was interrupted: finish it in the background.
            compaction = Compaction(target: compactRevision, low: try minID(), waiters: [])
        }
    }

    func start() throws(StorageError) {
        try PosixThread.start { [self] in loop() }
    }

    /// Queues an operation and waits for its commit.
    func perform(_ operation: WriteOperation) async throws -> WriteOutcome {
        try await withCheckedThrowingContinuation { continuation in
            if !queue.push(WriteRequest(operation: operation, continuation: continuation)) {
                continuation.resume(throwing: SQLiteStorage.closedError(connection.path))
            }
        }
    }

    /// Stops taking requests, finishes the queued ones, and waits for the thread to end.
    func stop() async {
        queue.close()
        await exit.wait()
    }

    // MARK: - The loop

    private func loop() {
        while true {
            let (batch, closed) = queue.take(
                maxCount: options.maxBatchCount, maxBytes: options.maxBatchBytes, wait: compaction == nil)
            if !batch.isEmpty {
                process(batch)
            } else if closed {
                break
            }
            if compaction != nil { compactStep() }
        }
        if let compaction {
            for waiter in compaction.waiters { waiter.resume(throwing: SQLiteStorage.closedError(connection.path)) }
            self.compaction = nil
        }
        connection.close()
        exit.signal()
    }

    private func process(_ batch: [WriteRequest]) {
        if let failure {
            for request in batch { request.continuation.resume(throwing: failure) }
            return
        }
        let startRevision = revision
        let startNextLease = nextLeaseID
        var events: [WatchEvent] = []
        // nil: answered later (a compaction, once its deletions are done).
        var outcomes: [Result<WriteOutcome, StorageError>?] = []
        outcomes.reserveCapacity(batch.count)
        var newCompaction: Int64?
        do throws(StorageError) {
            try connection.statement("BEGIN IMMEDIATE").run()
            for request in batch {
                if case .compact(let target) = request.operation {
                    let floor = newCompaction ?? compactRevision
                    if target > revision {
                        outcomes.append(.failure(.futureRevision(requested: target, current: revision)))
                    } else if target <= floor {
                        outcomes.append(.failure(.compacted(requested: target, compactRevision: floor)))
                    } else {
                        try setMeta("compact_revision", target)
                        newCompaction = target
                        outcomes.append(nil)
                    }
                } else {
                    outcomes.append(try apply(request.operation, events: &events))
                }
            }
            try connection.statement("COMMIT").run()
        } catch {
            let full = sqlite_nio_sqlite3_extended_errcode(connection.handle) & 0xff == SQLITE_FULL
            connection.rollbackQuietly()
            revision = startRevision
            nextLeaseID = startNextLease
            recover(after: error, full: full)
            for request in batch { request.continuation.resume(throwing: error) }
            return
        }

        if let target = newCompaction {
            compactRevision = target
            hub.setCompactRevision(target)
            var waiters = compaction?.waiters ?? []
            for (request, outcome) in zip(batch, outcomes) where outcome == nil {
                waiters.append(request.continuation)
            }
            compaction = Compaction(target: target, low: (try? minID()) ?? 1, waiters: waiters)
        }
        committedRevision.store(revision, ordering: .releasing)
        batchCount.add(1, ordering: .relaxed)
        requestCount.add(batch.count, ordering: .relaxed)
        hub.publish(events, through: revision)
        leaseCount.store(leases.count, ordering: .relaxed)
        for (request, outcome) in zip(batch, outcomes) {
            switch outcome {
            case .success(let value)?: request.continuation.resume(returning: value)
            case .failure(let error)?: request.continuation.resume(throwing: error)
            case nil: break
            }
        }
    }

    /// After a failed batch: reload lease state from the (rolled back) table. A full disk
    /// leaves the database consistent and later batches may succeed; any other I/O error or
    /// corruption stops the writer, since what reached the disk is then unknown.
    private func recover(after error: StorageError, full: Bool) {
        do throws(StorageError) {
            try loadLeases()
        } catch {
            failure = StorageError(error.code, "storage stopped after an earlier failure: \(error.message)")
            return
        }
        if !full && (error.code == .io || error.code == .corrupt) {
            failure = StorageError(error.code, "storage stopped after an earlier failure: \(error.message); restart to recover")
        }
    }

    // MARK: - Operations inside the batch transaction

    private func apply(_ operation: WriteOperation, events: inout [WatchEvent]) throws(StorageError) -> Result<WriteOutcome, StorageError> {
        switch operation {
        case .create(let key, let value, let lease):
            if let current = try latest(key) { return .failure(.keyExists(key, current: current)) }
            if lease != 0 && leases[lease] == nil { return .failure(.leaseNotFound(lease)) }
            let id = revision + 1
            try insert(id: id, key: key, created: true, deleted: false, createRevision: id, previous: 0, lease: lease, value: value)
            let kv = KeyValue(key: key, value: value, createRevision: id, modRevision: id, lease: lease)
            attach(key, to: lease, from: 0)
            events.append(.put(kv, previous: nil))
            return .success(.kv(kv))

        case .update(let key, let value, let expected, let lease):
            guard let current = try latest(key) else { return .failure(.keyNotFound(key)) }
            if let expected, expected != current.modRevision {
                return .failure(.conflict(key, expected: expected, current: current))
            }
            if lease != 0 && leases[lease] == nil { return .failure(.leaseNotFound(lease)) }
            let id = revision + 1
            try insert(
                id: id, key: key, created: false, deleted: false, createRevision: current.createRevision,
                previous: current.modRevision, lease: lease, value: value)
            let kv = KeyValue(key: key, value: value, createRevision: current.createRevision, modRevision: id, lease: lease)
            attach(key, to: lease, from: current.lease)
            events.append(.put(kv, previous: current))
            return .success(.kv(kv))

        case .delete(let key, let expected):
            guard let current = try latest(key) else { return .failure(.keyNotFound(key)) }
            if let expected, expected != current.modRevision {
                return .failure(.conflict(key, expected: expected, current: current))
            }
            let id = try deleteKey(current, events: &events)
            return .success(.deleted(DeleteResult(previous: current, revision: id)))

        case .grantLease(let ttl):
            let id = nextLeaseID
            let statement = try connection.statement(SQLiteSchema.insertLease)
            try statement.bind(1, id)
            try statement.bind(2, ttl)
            try statement.run()
            nextLeaseID += 1
            // Never hand out an id again, even one revoked before a restart.
            try setMeta("next_lease", nextLeaseID)
            leases[id] = Lease(ttlSeconds: ttl, deadline: clock.now() + .seconds(ttl))
            return .success(.lease(id))

        case .revokeLease(let id):
            guard leases[id] != nil else { return .failure(.leaseNotFound(id)) }
            try revoke(id, events: &events)
            return .success(.done)

        case .expireLeases(let now):
            let expired = leases.filter { $0.value.deadline <= now }.keys.sorted()
            for id in expired { try revoke(id, events: &events) }
            return .success(.done)

        case .compact:
            preconditionFailure("compaction is handled by process(_:)")
        }
    }

    /// Appends a tombstone for `current`; returns its revision.
    private func deleteKey(_ current: KeyValue, events: inout [WatchEvent]) throws(StorageError) -> Int64 {
        let id = revision + 1
        try insert(
            id: id, key: current.key, created: false, deleted: true, createRevision: current.createRevision,
            previous: current.modRevision, lease: 0, value: nil)
        if current.lease != 0 { leases[current.lease]?.keys.remove(current.key) }
        events.append(.delete(current.key, revision: id, previous: current))
        return id
    }

    private func revoke(_ id: Int64, events: inout [WatchEvent]) throws(StorageError) {
        guard let lease = leases[id] else { return }
        for key in lease.keys.sorted(by: StorageKey.less) {
            if let current = try latest(key) { _ = try deleteKey(current, events: &events) }
        }
        let statement = try connection.statement(SQLiteSchema.deleteLease)
        try statement.bind(1, id)
        try statement.run()
        leases[id] = nil
    }

    private func attach(_ key: String, to lease: Int64, from previous: Int64) {
        if previous != 0 && previous != lease { leases[previous]?.keys.remove(key) }
        if lease != 0 { leases[lease]?.keys.insert(key) }
    }

    /// The key's newest row, nil if absent or deleted.
    private func latest(_ key: String) throws(StorageError) -> KeyValue? {
        let statement = try connection.statement(SQLiteSchema.latest)
        defer { statement.reset() }
        try statement.bind(1, text: key)
        guard try statement.step(), statement.int64(2) == 0 else { return nil }
        return KeyValue(
            key: key, value: statement.blob(4), createRevision: statement.int64(1),
            modRevision: statement.int64(0), lease: statement.int64(3))
    }

    private func insert(
        id: Int64, key: String, created: Bool, deleted: Bool, createRevision: Int64,
        previous: Int64, lease: Int64, value: [UInt8]?
    ) throws(StorageError) {
        let statement = try connection.statement(SQLiteSchema.insert)
        try statement.bind(1, id)
        try statement.bind(2, text: key)
        try statement.bind(3, created ? 1 : 0)
        try statement.bind(4, deleted ? 1 : 0)
        try statement.bind(5, createRevision)
        try statement.bind(6, previous)
        try statement.bind(7, lease)
        if let value { try statement.bind(8, blob: value) } else { try statement.bindNull(8) }
        try statement.run()
        revision = id
    }

    // MARK: - Compaction

    /// Deletes one bounded range of superseded rows in its own short transaction, so
    /// client batches run between steps.
    private func compactStep() {
        guard var current = compaction else { return }
        if let failure {
            for waiter in current.waiters { waiter.resume(throwing: failure) }
            compaction = nil
            return
        }
        let high = min(current.low + options.compactionStep, current.target + 1)
        do throws(StorageError) {
            try connection.statement("BEGIN IMMEDIATE").run()
            let statement = try connection.statement(SQLiteSchema.compactRange)
            try statement.bind(1, current.low)
            try statement.bind(2, high)
            try statement.bind(3, current.target)
            try statement.run()
            if high > current.target { try setMeta("compact_done", current.target) }
            try connection.statement("COMMIT").run()
        } catch {
            let full = sqlite_nio_sqlite3_extended_errcode(connection.handle) & 0xff == SQLITE_FULL
            connection.rollbackQuietly()
            recover(after: error, full: full)
            for waiter in current.waiters { waiter.resume(throwing: error) }
            compaction = nil
            return
        }
        current.low = high
        if current.low > current.target {
            for waiter in current.waiters { waiter.resume(returning: .done) }
            compaction = nil
        } else {
            compaction = current
        }
    }

    // MARK: - State loading

    private func loadLeases() throws(StorageError) {
        let now = clock.now()
        var loaded: [Int64: Lease] = [:]
        let all = try connection.statement(SQLiteSchema.allLeases)
        defer { all.reset() }
        while try all.step() {
            let ttl = all.int64(1)
            // A lease this writer already tracks keeps its deadline (reload after a failed
            // batch); at open, as etcd does on restart, every lease gets its full TTL again.
            let id = all.int64(0)
            loaded[id] = Lease(ttlSeconds: ttl, deadline: leases[id]?.deadline ?? now + .seconds(ttl))
        }
        all.reset()
        let keys = try connection.statement(SQLiteSchema.leasedKeys)
        defer { keys.reset() }
        while try keys.step() {
            // A key whose lease is gone cannot be produced by this writer; if one appears it
            // is left in place (its lease id is simply unknown and never expires).
            loaded[keys.int64(1)]?.keys.insert(keys.text(0))
        }
        let maxLease = try connection.statement(SQLiteSchema.maxLease)
        defer { maxLease.reset() }
        _ = try maxLease.step()
        nextLeaseID = max(nextLeaseID, maxLease.int64(0) + 1, try meta("next_lease"))
        leases = loaded
        leaseCount.store(leases.count, ordering: .relaxed)
    }

    private func meta(_ key: String) throws(StorageError) -> Int64 {
        let statement = try connection.statement(SQLiteSchema.getMeta)
        defer { statement.reset() }
        try statement.bind(1, text: key)
        return try statement.step() ? statement.int64(0) : 0
    }

    private func setMeta(_ key: String, _ value: Int64) throws(StorageError) {
        let statement = try connection.statement(SQLiteSchema.setMeta)
        try statement.bind(1, text: key)
        try statement.bind(2, value)
        try statement.run()
    }

    private func minID() throws(StorageError) -> Int64 {
        let statement = try connection.statement(SQLiteSchema.minID)
        defer { statement.reset() }
        _ = try statement.step()
        return max(statement.int64(0), 1)
    }
}
