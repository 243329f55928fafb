import CapstanStorage
import Synchronization

/// The bare engine the benchmark compares `SQLiteStorage` with: the same vendored SQLite,
/// the same pragmas (WAL, `synchronous=FULL`, same cache), the same writer thread and queue,
/// inserting one row per write into a table indexed by name, and nothing else: no
/// precondition read, no revision bookkeeping, no watch events, no leases.
///
/// `grouped`: queued inserts share one transaction per loop (group commit, as the storage
/// does). Not grouped: one transaction, and one fsync, per insert.
public final class SQLiteRawEngine: Sendable {
    private struct Insert: BatchItem {
        var name: String
        var value: [UInt8]
        var continuation: CheckedContinuation<Int64, any Error>
        var byteCount: Int { name.utf8.count + value.count }
    }

    public let path: String
    private let queue = WriteQueue<Insert>()
    private let readers: SQLiteReadPool
    private let exit = ThreadExit()

    public init(path: String, grouped: Bool, options: SQLiteStorage.Options = SQLiteStorage.Options()) throws {
        self.path = path
        let connection = try SQLiteConnection(path: path, readOnly: false)
        _ = try connection.pragma("PRAGMA journal_mode = WAL")
        try connection.execute("""
            PRAGMA synchronous = FULL; PRAGMA cache_size = -\(options.cacheSizeKiB);
            CREATE TABLE IF NOT EXISTS raw_kv (id INTEGER PRIMARY KEY, name TEXT NOT NULL, value BLOB);
            CREATE INDEX IF NOT EXISTS raw_kv_name ON raw_kv (name);
            """)
        readers = SQLiteReadPool(path: path, maxIdle: options.maxIdleReadConnections, cacheSizeKiB: options.cacheSizeKiB)
        let maxCount = grouped ? options.maxBatchCount : 1
        let maxBytes = options.maxBatchBytes
        try PosixThread.start { [queue, exit] in
            Self.loop(connection: connection, queue: queue, maxCount: maxCount, maxBytes: maxBytes)
            connection.close()
            exit.signal()
        }
    }

    private static func loop(connection: SQLiteConnection, queue: WriteQueue<Insert>, maxCount: Int, maxBytes: Int) {
        while true {
            let (batch, closed) = queue.take(maxCount: maxCount, maxBytes: maxBytes, wait: true)
            if batch.isEmpty && closed { return }
            var ids: [Int64] = []
            ids.reserveCapacity(batch.count)
            do throws(StorageError) {
                try connection.statement("BEGIN IMMEDIATE").run()
                let insert = try connection.statement("INSERT INTO raw_kv (name, value) VALUES (?1, ?2)")
                for item in batch {
                    insert.reset()
                    try insert.bind(1, text: item.name)
                    try insert.bind(2, blob: item.value)
                    try insert.run()
                    ids.append(sqlite_last_insert_rowid(connection))
                }
                try connection.statement("COMMIT").run()
            } catch {
                connection.rollbackQuietly()
                for item in batch { item.continuation.resume(throwing: error) }
                continue
            }
            for (item, id) in zip(batch, ids) { item.continuation.resume(returning: id) }
        }
    }

    /// Inserts a row and returns after its transaction committed.
    @discardableResult
    public func insert(_ name: String, value: [UInt8]) async throws -> Int64 {
        try await withCheckedThrowingContinuation { continuation in
            if !queue.push(Insert(name: name, value: value, continuation: continuation)) {
                continuation.resume(throwing: SQLiteStorage.closedError(path))
            }
        }
    }

    /// The newest value stored under `name`.
    public func get(_ name: String) throws -> [UInt8]? {
        try readers.read { connection throws(StorageError) in
            let statement = try connection.statement("SELECT value FROM raw_kv WHERE name = ?1 ORDER BY id DESC LIMIT 1")
            defer { statement.reset() }
            try statement.bind(1, text: name)
            return try statement.step() ? statement.blob(0) : nil
        }
    }

    public func close() async {
        queue.close()
        await exit.wait()
        readers.close()
    }
}
