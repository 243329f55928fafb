/// Limits every backend enforces, and the request checks shared by them.
public enum StorageLimits {
    /// Largest value accepted: 1.5 MiB, as etcd's default `--max-request-bytes`.
    public static let maxValueBytes = 1_572_864
    /// Largest key accepted, in UTF-8 bytes.
    public static let maxKeyBytes = 4096

    /// Throws `.invalidArgument` for an empty or oversized key.
    public static func checkKey(_ key: String) throws(StorageError) {
        let count = key.utf8.count
        if count == 0 { throw .invalidArgument("key must not be empty") }
        if count > maxKeyBytes {
            throw .invalidArgument("key is \(count) bytes, over the limit of \(maxKeyBytes) bytes")
        }
    }

    /// Throws for a bad key, an oversized value or a negative lease.
    public static func checkWrite(_ key: String, value: [UInt8], lease: Int64) throws(StorageError) {
        try checkKey(key)
        if value.count > maxValueBytes { throw .valueTooLarge(key, size: value.count) }
        if lease < 0 { throw .invalidArgument("lease must not be negative (got \(lease))") }
    }

    /// Throws for a non-positive expected revision.
    public static func checkExpected(_ revision: Int64?) throws(StorageError) {
        if let revision, revision <= 0 {
            throw .invalidArgument("expected mod revision must be positive (got \(revision))")
        }
    }
}

/// Key ordering and prefix matching as etcd and SQLite see them: by UTF-8 bytes.
public enum StorageKey {
    /// Whether `key` starts with `prefix`, byte for byte.
    @inlinable
    public static func hasPrefix(_ key: String, _ prefix: String) -> Bool {
        if prefix.isEmpty { return true }
        var key = key.utf8.makeIterator()
        for byte in prefix.utf8 {
            guard key.next() == byte else { return false }
        }
        return true
    }

    /// Byte-wise ordering of keys (unlike `String.<`, which compares by Unicode scalars after
    /// canonical equivalence).
    @inlinable
    public static func less(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
