import CapstanStorage
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The embedded default `StorageBackend`: a revisioned log in one SQLite file.
///
/// - Durability: WAL with `synchronous=FULL`; a write is acknowledged only after the commit
///   of the transaction holding it returned.
/// - Throughput: one writer thread groups every queued write into one transaction (group
///   commit), so N concurrent writers share one fsync.
/// - Reads: pooled read connections on the caller's thread, each read one snapshot.
/// - Watches: served in-process from the commit path; a watch from an older revision replays
///   from the table first.
/// - One process per database: `<path>.lock` is held while open.
///
/// Layout: see `SQLiteSchema`.
public final class SQLiteStorage: StorageBackend {
    public struct Options: Sendable {
        /// Most writes grouped into one transaction.
        public var maxBatchCount = 1024
        /// Roughly the most value bytes grouped into one transaction.
        public var maxBatchBytes = 16 << 20
        /// Revisions covered by one compaction transaction.
        public var compactionStep: Int64 = 4096
        /// Most undelivered messages a watcher may have before it is ended as too slow.
        public var watchBufferLimit = 100_000
        /// Idle read connections kept open.
        public var maxIdleReadConnections = 8
        /// SQLite page cache per connection, in KiB.
        public var cacheSizeKiB = 16 * 1024
        /// Caps the database size in pages (SQLite's `max_page_count`); writes past it fail
        /// as on a full disk. nil: no cap.
        public var maxPageCount: Int64?

        public init() {}
    }

    /// How often `run()` looks for expired leases.
    public static let leaseCheckInterval: Duration = .milliseconds(500)

    /// The database file.
    public let path: String

    private let clock: StorageClock
    private let writer: SQLiteWriter
    private let hub: SQLiteWatchHub
    private let readers: SQLiteReadPool
    private let lock: FileLock
    private let closed = Atomic<Bool>(false)

    /// Opens (creating if needed) the database at `path`. Its directory must exist.
    ///
    /// Throws `.corrupt` for a file that is not a SQLite database of this layout, `.io` for
    /// a file that cannot be opened or created, `.unavailable` if another process has it open.
    public init(path: String, clock: some Clock<Duration> = ContinuousClock(), options: Options = Options()) throws {
        self.path = path
        self.clock = StorageClock(clock)
        try Self.createFileIfMissing(path)
        self.lock = try FileLock(path: path + ".lock", database: path)
        do {
            let connection = try SQLiteConnection(path: path, readOnly: false)
            try Self.configure(connection, options: options)
            let (current, compacted) = try connection.revisions()
            self.hub = SQLiteWatchHub(published: current, compactRevision: compacted, bufferLimit: options.watchBufferLimit)
            self.writer = try SQLiteWriter(connection: connection, hub: hub, clock: self.clock, options: options)
            self.readers = SQLiteReadPool(
                path: path, maxIdle: options.maxIdleReadConnections, cacheSizeKiB: options.cacheSizeKiB)
            try writer.start()
        } catch {
            lock.release()
            throw error
        }
    }

    deinit {
        // Without close(): let the writer finish the queue and exit on its own.
        writer.queue.close()
    }

    static func closedError(_ path: String) -> StorageError {
        StorageError(.unavailable, "storage \(path) is closed")
    }

    private static func createFileIfMissing(_ path: String) throws(StorageError) {
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 {
            closeDescriptor(fd)
        } else if errno != EEXIST {
            throw StorageError(.io, "cannot create database \(path): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw StorageError(.io, "cannot read database \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw StorageError(.io, "database \(path) is not a regular file")
        }
    }

    private static func configure(_ connection: SQLiteConnection, options: Options) throws(StorageError) {
        let mode = try connection.pragma("PRAGMA journal_mode = WAL")
        guard mode?.lowercased() == "wal" else {
            throw StorageError(.io, "database \(connection.path): cannot enable WAL mode (journal mode is \(mode ?? "unknown"))")
        }
        try connection.execute("PRAGMA synchronous = FULL; PRAGMA cache_size = -\(options.cacheSizeKiB);")
        if let pages = options.maxPageCount {
            _ = try connection.pragma("PRAGMA max_page_count = \(pages)")
        }
        let tables = try connection.statement("SELECT name FROM sqlite_master WHERE type = 'table'")
        var names: Set<String> = []
        while try tables.step() { names.insert(tables.text(0)) }
        tables.reset()
        if names.isEmpty {
            try connection.execute("BEGIN IMMEDIATE")
            do throws(StorageError) {
                try connection.execute(SQLiteSchema.create)
                try connection.execute(
                    "INSERT INTO kv_meta (key, value) VALUES ('schema_version', \(SQLiteSchema.version))")
                try connection.execute("COMMIT")
            } catch {
                connection.rollbackQuietly()
                throw error
            }
            return
        }
        guard names.contains("kv_log"), names.contains("kv_meta"), names.contains("kv_lease") else {
            throw StorageError(
                .corrupt,
                "database \(connection.path) is not a Capstan storage database (tables: \(names.sorted().joined(separator: ", ")))")
        }
        let version = try connection.statement(SQLiteSchema.getMeta)
        defer { version.reset() }
        try version.bind(1, text: "schema_version")
        let found: Int64? = try version.step() ? version.int64(0) : nil
        guard found == SQLiteSchema.version else {
            throw StorageError(
                .corrupt,
                "database \(connection.path) has schema version \(found.map(String.init) ?? "none"), this build reads \(SQLiteSchema.version)")
        }
    }

    private func checkOpen() throws(StorageError) {
        if closed.load(ordering: .acquiring) { throw Self.closedError(path) }
    }

    func checkOpenForDiagnostics() throws(StorageError) { try checkOpen() }

    var readPool: SQLiteReadPool { readers }

    // MARK: - Reads

    public func get(_ key: String, atRevision revision: Int64?) async throws -> GetResult {
        try StorageLimits.checkKey(key)
        try checkOpen()
        return try readers.read { connection throws(StorageError) in
            let (current, compacted) = try connection.revisions()
            try Self.checkReadRevision(revision, current: current, compacted: compacted)
            let at = revision.flatMap { $0 == 0 ? nil : $0 } ?? current
            return GetResult(kv: try connection.readGet(key, at: at), revision: at)
        }
    }

    public func list(prefix: String, startKey: String?, limit: Int?, atRevision revision: Int64?) async throws -> ListResult {
        if let limit, limit < 0 { throw StorageError.invalidArgument("limit must not be negative (got \(limit))") }
        try checkOpen()
        var start = prefix
        if let startKey, StorageKey.less(start, startKey) { start = startKey }
        let end = SQLiteSchema.rangeEnd(prefix)
        let limit = limit ?? 0
        return try readers.read { connection throws(StorageError) in
            let (current, compacted) = try connection.revisions()
            try Self.checkReadRevision(revision, current: current, compacted: compacted)
            let at = revision.flatMap { $0 == 0 ? nil : $0 } ?? current
            var kvs = try connection.readList(start: start, end: end, at: at, limit: limit == 0 ? -1 : limit + 1)
            guard limit > 0, kvs.count > limit else {
                return ListResult(kvs: kvs, revision: at, more: false, remaining: 0)
            }
            kvs.removeLast()
            let total = try connection.readCount(start: start, end: end, at: at)
            return ListResult(kvs: kvs, revision: at, more: true, remaining: total - kvs.count)
        }
    }

    public func count(prefix: String) async throws -> CountResult {
        try checkOpen()
        return try readers.read { connection throws(StorageError) in
            let (current, _) = try connection.revisions()
            let count = try connection.readCount(start: prefix, end: SQLiteSchema.rangeEnd(prefix), at: current)
            return CountResult(count: count, revision: current)
        }
    }

    /// Counters of the group commit since open.
    public struct Statistics: Sendable {
        /// Committed write transactions.
        public var transactions: Int
        /// Requests answered by them (writes, lease and compaction requests).
        public var requests: Int
    }

    public var statistics: Statistics {
        Statistics(
            transactions: writer.batchCount.load(ordering: .relaxed),
            requests: writer.requestCount.load(ordering: .relaxed))
    }

    public func currentRevision() async throws -> Int64 {
        try checkOpen()
        return writer.committedRevision.load(ordering: .acquiring)
    }

    // MARK: - Writes

    public func create(_ key: String, value: [UInt8], lease: Int64) async throws -> KeyValue {
        try StorageLimits.checkWrite(key, value: value, lease: lease)
        guard case .kv(let kv) = try await perform(.create(key: key, value: value, lease: lease)) else {
            preconditionFailure("create answers with a key-value")
        }
        return kv
    }

    public func update(_ key: String, value: [UInt8], expectedModRevision: Int64?, lease: Int64) async throws -> KeyValue {
        try StorageLimits.checkWrite(key, value: value, lease: lease)
        try StorageLimits.checkExpected(expectedModRevision)
        guard case .kv(let kv) = try await perform(.update(key: key, value: value, expected: expectedModRevision, lease: lease)) else {
            preconditionFailure("update answers with a key-value")
        }
        return kv
    }

    public func delete(_ key: String, expectedModRevision: Int64?) async throws -> DeleteResult {
        try StorageLimits.checkKey(key)
        try StorageLimits.checkExpected(expectedModRevision)
        guard case .deleted(let result) = try await perform(.delete(key: key, expected: expectedModRevision)) else {
            preconditionFailure("delete answers with the previous key-value")
        }
        return result
    }

    public func compact(upTo revision: Int64) async throws {
        _ = try await perform(.compact(revision))
    }

    public func grantLease(ttlSeconds: Int64) async throws -> Int64 {
        guard ttlSeconds > 0 else { throw StorageError.invalidArgument("lease TTL must be positive (got \(ttlSeconds))") }
        guard case .lease(let id) = try await perform(.grantLease(ttlSeconds: ttlSeconds)) else {
            preconditionFailure("grantLease answers with a lease id")
        }
        return id
    }

    public func revokeLease(_ id: Int64) async throws {
        _ = try await perform(.revokeLease(id))
    }

    private func perform(_ operation: WriteOperation) async throws -> WriteOutcome {
        try checkOpen()
        return try await writer.perform(operation)
    }

    // MARK: - Watches

    public func watch(prefix: String, afterRevision: Int64) async throws -> WatchStream {
        if afterRevision < 0 {
            throw StorageError.invalidArgument("watch revision must not be negative (got \(afterRevision))")
        }
        try checkOpen()
        let (channel, replayThrough) = try hub.register(prefix: prefix, after: afterRevision)
        guard let through = replayThrough else { return WatchStream(channel) }
        return WatchStream(SQLiteWatcher(channel: channel, readers: readers, prefix: prefix, after: afterRevision, through: through))
    }

    public func requestWatchProgress() async throws {
        try checkOpen()
        try hub.requestProgress()
    }

    // MARK: - Lifecycle

    public func run() async throws {
        var now = clock.now()
        while !Task.isCancelled && !closed.load(ordering: .acquiring) {
            let checked = now
            if writer.leaseCount.load(ordering: .relaxed) > 0 {
                do {
                    _ = try await writer.perform(.expireLeases(at: checked))
                } catch let error as StorageError where error.code == .unavailable && closed.load(ordering: .acquiring) {
                    return
                }
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
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        await writer.stop()
        hub.close(Self.closedError(path))
        readers.close()
        lock.release()
    }
}

private func closeDescriptor(_ fd: Int32) {
    close(fd)
}
