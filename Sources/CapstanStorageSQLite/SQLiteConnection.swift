import CapstanStorage
import VaporCSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One SQLite connection through the C API of the SQLite that sqlite-nio vendors.
///
/// Not thread-safe: each connection is used by one thread at a time (the writer thread, or a
/// reader that took it from the pool), which is what `@unchecked Sendable` relies on.
final class SQLiteConnection: @unchecked Sendable {
    let handle: OpaquePointer
    let path: String
    private var statements: [String: SQLiteStatement] = [:]

    init(path: String, readOnly: Bool) throws(StorageError) {
        self.path = path
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let rc = sqlite_nio_sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) }
                ?? String(cString: sqlite_nio_sqlite3_errstr(rc))
            let systemErrno = db.map { sqlite_nio_sqlite3_system_errno($0) } ?? 0
            if let db { sqlite_nio_sqlite3_close_v2(db) }
            throw Self.error(code: rc, message: message, systemErrno: systemErrno, path: path, context: "open")
        }
        self.handle = db
        sqlite_nio_sqlite3_busy_timeout(db, 10_000)
    }

    private var closed = false

    deinit { close() }

    /// Finalizes the cached statements and closes the connection; idempotent.
    func close() {
        guard !closed else { return }
        closed = true
        for statement in statements.values { sqlite_nio_sqlite3_finalize(statement.handle) }
        statements = [:]
        sqlite_nio_sqlite3_close_v2(handle)
    }

    /// Runs one or more SQL statements without results.
    func execute(_ sql: String) throws(StorageError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite_nio_sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite_nio_sqlite3_errstr(rc))
            sqlite_nio_sqlite3_free(errorMessage)
            throw error(rc, message: message, context: sql)
        }
    }

    /// A prepared statement for `sql`, cached for the connection's life; reset before use.
    func statement(_ sql: String) throws(StorageError) -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        var stmt: OpaquePointer?
        let rc = sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc, context: "prepare \(sql)") }
        let statement = SQLiteStatement(handle: stmt, connection: self)
        statements[sql] = statement
        return statement
    }

    /// Runs a statement returning one text column (a PRAGMA) and returns the first row's value.
    func pragma(_ sql: String) throws(StorageError) -> String? {
        let statement = try self.statement(sql)
        defer { statement.reset() }
        return try statement.step() ? statement.text(0) : nil
    }

    var inTransaction: Bool { sqlite_nio_sqlite3_get_autocommit(handle) == 0 }

    /// Rolls back an open transaction, ignoring errors (used on failure paths).
    func rollbackQuietly() {
        if inTransaction { _ = sqlite_nio_sqlite3_exec(handle, "ROLLBACK", nil, nil, nil) }
    }

    /// The error for result code `rc` on this connection, naming the file and the cause.
    func error(_ rc: Int32, message: String? = nil, context: String) -> StorageError {
        let message = message ?? String(cString: sqlite_nio_sqlite3_errmsg(handle))
        return Self.error(
            code: sqlite_nio_sqlite3_extended_errcode(handle) & 0xff == rc & 0xff
                ? sqlite_nio_sqlite3_extended_errcode(handle) : rc,
            message: message, systemErrno: sqlite_nio_sqlite3_system_errno(handle), path: path, context: context)
    }

    static func error(code: Int32, message: String, systemErrno: Int32, path: String, context: String) -> StorageError {
        let cause = systemErrno != 0 ? "\(message) (\(String(cString: strerror(systemErrno))))" : message
        switch code & 0xff {
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            return StorageError(.corrupt, "database \(path) is damaged or not a SQLite database: \(cause) [\(context)]")
        case SQLITE_FULL:
            return StorageError(.io, "database \(path): disk or database full: \(cause) [\(context)]")
        case SQLITE_BUSY, SQLITE_LOCKED:
            return StorageError(.unavailable, "database \(path) is locked by another connection: \(cause) [\(context)]")
        case SQLITE_TOOBIG:
            return StorageError(.valueTooLarge, "database \(path): value too large for SQLite: \(cause)")
        case SQLITE_NOMEM:
            return StorageError(.unavailable, "database \(path): out of memory [\(context)]")
        case SQLITE_CANTOPEN:
            return StorageError(.io, "cannot open database \(path): \(cause)")
        default:
            return StorageError(.io, "database \(path): \(cause) [\(context)]")
        }
    }
}

/// A prepared statement; borrowed from its connection's cache.
final class SQLiteStatement {
    let handle: OpaquePointer
    unowned let connection: SQLiteConnection

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    /// Ends the current run; callers bind every parameter before the next one.
    /// (No `sqlite3_clear_bindings`: it expires statements whose plan depends on bound
    /// values, such as `ORDER BY id DESC LIMIT 1`, and forces a re-prepare on every use.)
    func reset() {
        sqlite_nio_sqlite3_reset(handle)
    }

    private func check(_ rc: Int32, _ index: Int32) throws(StorageError) {
        if rc != SQLITE_OK { throw connection.error(rc, context: "bind parameter \(index)") }
    }

    func bind(_ index: Int32, _ value: Int64) throws(StorageError) {
        try check(sqlite_nio_sqlite3_bind_int64(handle, index, value), index)
    }

    func bind(_ index: Int32, text: String) throws(StorageError) {
        var text = text
        let rc = text.withUTF8 { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else {
                return sqlite_nio_sqlite3_bind_text(handle, index, "", 0, Self.transient)
            }
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite_nio_sqlite3_bind_text(handle, index, $0, Int32(bytes.count), Self.transient)
            }
        }
        try check(rc, index)
    }

    /// Binds raw bytes as TEXT (for range bounds such as `prefix + 0xFF`, which are not UTF-8).
    func bind(_ index: Int32, textBytes: [UInt8]) throws(StorageError) {
        let rc = textBytes.withUnsafeBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else {
                return sqlite_nio_sqlite3_bind_text(handle, index, "", 0, Self.transient)
            }
            return sqlite_nio_sqlite3_bind_text(
                handle, index, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count), Self.transient)
        }
        try check(rc, index)
    }

    func bind(_ index: Int32, blob: [UInt8]) throws(StorageError) {
        let rc = blob.withUnsafeBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else {
                return sqlite_nio_sqlite3_bind_zeroblob(handle, index, 0)
            }
            return sqlite_nio_sqlite3_bind_blob64(handle, index, base, UInt64(bytes.count), Self.transient)
        }
        try check(rc, index)
    }

    func bindNull(_ index: Int32) throws(StorageError) {
        try check(sqlite_nio_sqlite3_bind_null(handle, index), index)
    }

    /// Advances; true when a row is available, false when done.
    func step() throws(StorageError) -> Bool {
        let rc = sqlite_nio_sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = connection.error(rc, context: String(cString: sqlite_nio_sqlite3_sql(handle)))
            sqlite_nio_sqlite3_reset(handle)
            throw error
        }
    }

    /// Steps to completion, ignoring rows.
    func run() throws(StorageError) {
        while try step() {}
    }

    func int64(_ column: Int32) -> Int64 {
        sqlite_nio_sqlite3_column_int64(handle, column)
    }

    func isNull(_ column: Int32) -> Bool {
        sqlite_nio_sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    func text(_ column: Int32) -> String {
        guard let pointer = sqlite_nio_sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite_nio_sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    func blob(_ column: Int32) -> [UInt8] {
        guard let pointer = sqlite_nio_sqlite3_column_blob(handle, column) else { return [] }
        let count = Int(sqlite_nio_sqlite3_column_bytes(handle, column))
        return [UInt8](UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

func sqlite_last_insert_rowid(_ connection: SQLiteConnection) -> Int64 {
    sqlite_nio_sqlite3_last_insert_rowid(connection.handle)
}
