import CapstanStorage
import Synchronization

/// Read connections, reused. WAL lets them read a consistent snapshot while the writer
/// commits. Reads run on the caller's thread: they are short, indexed lookups on cached pages.
final class SQLiteReadPool: Sendable {
    private struct State {
        var idle: [SQLiteConnection] = []
        var closed = false
    }

    let path: String
    private let maxIdle: Int
    private let cacheSizeKiB: Int
    private let state = Mutex(State())

    init(path: String, maxIdle: Int, cacheSizeKiB: Int) {
        self.path = path
        self.maxIdle = maxIdle
        self.cacheSizeKiB = cacheSizeKiB
    }

    /// Runs `body` inside one read transaction (one snapshot) on a pooled connection.
    func read<T>(_ body: (SQLiteConnection) throws(StorageError) -> T) throws(StorageError) -> T {
        let connection = try take()
        var reusable = true
        defer { give(connection, reusable: reusable) }
        do throws(StorageError) {
            try connection.statement("BEGIN").run()
            let result = try body(connection)
            try connection.statement("COMMIT").run()
            return result
        } catch {
            connection.rollbackQuietly()
            reusable = !connection.inTransaction
            throw error
        }
    }

    private func take() throws(StorageError) -> SQLiteConnection {
        let pooled: SQLiteConnection?? = state.withLock { state in
            if state.closed { return .some(nil) }
            return state.idle.popLast().map { .some($0) } ?? nil
        }
        switch pooled {
        case .some(.some(let connection)): return connection
        case .some(.none): throw SQLiteStorage.closedError(path)
        case .none:
            let connection = try SQLiteConnection(path: path, readOnly: true)
            try connection.execute("PRAGMA query_only = 1; PRAGMA cache_size = -\(cacheSizeKiB);")
            return connection
        }
    }

    private func give(_ connection: SQLiteConnection, reusable: Bool) {
        let keep = state.withLock { state in
            guard reusable, !state.closed, state.idle.count < maxIdle else { return false }
            state.idle.append(connection)
            return true
        }
        if !keep { connection.close() }
    }

    func close() {
        let idle = state.withLock { state in
            state.closed = true
            defer { state.idle = [] }
            return state.idle
        }
        for connection in idle { connection.close() }
    }
}

extension SQLiteConnection {
    /// (current revision, compaction revision) as of this transaction's snapshot.
    func revisions() throws(StorageError) -> (current: Int64, compacted: Int64) {
        let statement = try self.statement(SQLiteSchema.revisions)
        defer { statement.reset() }
        _ = try statement.step()
        return (statement.int64(0), statement.int64(1))
    }

    func readGet(_ key: String, at revision: Int64) throws(StorageError) -> KeyValue? {
        let statement = try self.statement(SQLiteSchema.getAt)
        defer { statement.reset() }
        try statement.bind(1, text: key)
        try statement.bind(2, revision)
        guard try statement.step(), statement.int64(2) == 0 else { return nil }
        return KeyValue(
            key: key, value: statement.blob(4), createRevision: statement.int64(1),
            modRevision: statement.int64(0), lease: statement.int64(3))
    }

    /// Live keys in `[start, end)` at `revision`, at most `limit` (negative: all).
    func readList(start: String, end: [UInt8], at revision: Int64, limit: Int) throws(StorageError) -> [KeyValue] {
        let statement = try self.statement(SQLiteSchema.listAt)
        defer { statement.reset() }
        try statement.bind(1, text: start)
        try statement.bind(2, textBytes: end)
        try statement.bind(3, revision)
        try statement.bind(4, Int64(limit))
        var kvs: [KeyValue] = []
        while try statement.step() {
            kvs.append(KeyValue(
                key: statement.text(0), value: statement.blob(4), createRevision: statement.int64(2),
                modRevision: statement.int64(1), lease: statement.int64(3)))
        }
        return kvs
    }

    func readCount(start: String, end: [UInt8], at revision: Int64) throws(StorageError) -> Int {
        let statement = try self.statement(SQLiteSchema.countAt)
        defer { statement.reset() }
        try statement.bind(1, text: start)
        try statement.bind(2, textBytes: end)
        try statement.bind(3, revision)
        _ = try statement.step()
        return Int(statement.int64(0))
    }

    /// Changes with revision in `(after, through]` under `prefix`, oldest first, at most `limit`.
    func readChanges(prefix: String, after: Int64, through: Int64, limit: Int) throws(StorageError) -> [WatchEvent] {
        let statement = try self.statement(SQLiteSchema.changes)
        defer { statement.reset() }
        try statement.bind(1, after)
        try statement.bind(2, through)
        try statement.bind(3, text: prefix)
        try statement.bind(4, textBytes: SQLiteSchema.rangeEnd(prefix))
        try statement.bind(5, Int64(limit))
        var events: [WatchEvent] = []
        while try statement.step() {
            let id = statement.int64(0)
            let key = statement.text(1)
            var previous: KeyValue?
            if statement.int64(10) != 0 {
                guard !statement.isNull(6) else {
                    throw StorageError(
                        .corrupt,
                        "database \(path): revision \(id) of \(key) refers to missing revision \(statement.int64(10))")
                }
                previous = KeyValue(
                    key: key, value: statement.blob(9), createRevision: statement.int64(7),
                    modRevision: statement.int64(6), lease: statement.int64(8))
            }
            if statement.int64(2) != 0, let previous {
                events.append(.delete(key, revision: id, previous: previous))
            } else {
                let kv = KeyValue(
                    key: key, value: statement.blob(5), createRevision: statement.int64(3),
                    modRevision: id, lease: statement.int64(4))
                events.append(.put(kv, previous: previous))
            }
        }
        return events
    }
}
