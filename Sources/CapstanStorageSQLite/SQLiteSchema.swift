import CapstanStorage

/// The on-disk layout: one append-only log table whose row id is the revision.
///
/// Every write appends a row: a create (`created` = 1), an update, or a tombstone
/// (`deleted` = 1, value NULL). `create_revision` is the revision that created the current
/// incarnation of the key; `prev_revision` is the row this one supersedes (0 for a create), so
/// a watch event's previous value is one primary-key lookup away. The latest row per name
/// with id <= R is the key's state at revision R. `sqlite_sequence` (AUTOINCREMENT) holds the
/// current revision even after compaction removed the newest rows.
enum SQLiteSchema {
    static let version: Int64 = 1

    static let create = """
        CREATE TABLE IF NOT EXISTS kv_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            created INTEGER NOT NULL,
            deleted INTEGER NOT NULL,
            create_revision INTEGER NOT NULL,
            prev_revision INTEGER NOT NULL,
            lease INTEGER NOT NULL,
            value BLOB
        );
        CREATE INDEX IF NOT EXISTS kv_log_name_id ON kv_log (name, id);
        CREATE INDEX IF NOT EXISTS kv_log_lease ON kv_log (lease) WHERE lease != 0;
        CREATE TABLE IF NOT EXISTS kv_lease (
            id INTEGER PRIMARY KEY,
            ttl_seconds INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS kv_meta (
            key TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        ) WITHOUT ROWID;
        """

    // MARK: Reads (any connection)

    static let revisions = """
        SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'kv_log'), 0),
               COALESCE((SELECT value FROM kv_meta WHERE key = 'compact_revision'), 0)
        """

    /// ?1 name, ?2 revision → id, create_revision, deleted, lease, value
    static let getAt = """
        SELECT id, create_revision, deleted, lease, value FROM kv_log
        WHERE name = ?1 AND id <= ?2 ORDER BY id DESC LIMIT 1
        """

    /// ?1 start (inclusive), ?2 end (exclusive), ?3 revision, ?4 limit
    /// → name, id, create_revision, lease, value
    static let listAt = """
        SELECT l.name, l.id, l.create_revision, l.lease, l.value FROM kv_log l
        WHERE l.name >= ?1 AND l.name < ?2 AND l.deleted = 0
          AND l.id = (SELECT i.id FROM kv_log i WHERE i.name = l.name AND i.id <= ?3 ORDER BY i.id DESC LIMIT 1)
        ORDER BY l.name LIMIT ?4
        """

    /// ?1 start (inclusive), ?2 end (exclusive), ?3 revision → count
    static let countAt = """
        SELECT COUNT(*) FROM kv_log l
        WHERE l.name >= ?1 AND l.name < ?2 AND l.deleted = 0
          AND l.id = (SELECT i.id FROM kv_log i WHERE i.name = l.name AND i.id <= ?3 ORDER BY i.id DESC LIMIT 1)
        """

    /// Changes for watch replay. ?1 after (exclusive), ?2 up to (inclusive), ?3 start, ?4 end, ?5 limit
    /// → id, name, deleted, create_revision, lease, value, prev id, prev create_revision, prev lease,
    ///   prev value, prev_revision
    static let changes = """
        SELECT l.id, l.name, l.deleted, l.create_revision, l.lease, l.value,
               p.id, p.create_revision, p.lease, p.value, l.prev_revision
        FROM kv_log l LEFT JOIN kv_log p ON p.id = l.prev_revision AND l.prev_revision != 0
        WHERE l.id > ?1 AND l.id <= ?2 AND l.name >= ?3 AND l.name < ?4
        ORDER BY l.id LIMIT ?5
        """

    // MARK: Writes (writer connection only)

    /// ?1 name → id, create_revision, deleted, lease, value
    static let latest = """
        SELECT id, create_revision, deleted, lease, value FROM kv_log
        WHERE name = ?1 ORDER BY id DESC LIMIT 1
        """

    /// ?1 id, ?2 name, ?3 created, ?4 deleted, ?5 create_revision, ?6 prev_revision, ?7 lease, ?8 value
    static let insert = """
        INSERT INTO kv_log (id, name, created, deleted, create_revision, prev_revision, lease, value)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
        """

    static let setMeta = "INSERT OR REPLACE INTO kv_meta (key, value) VALUES (?1, ?2)"
    static let getMeta = "SELECT value FROM kv_meta WHERE key = ?1"
    static let insertLease = "INSERT INTO kv_lease (id, ttl_seconds) VALUES (?1, ?2)"
    static let deleteLease = "DELETE FROM kv_lease WHERE id = ?1"
    static let allLeases = "SELECT id, ttl_seconds FROM kv_lease ORDER BY id"
    static let maxLease = "SELECT COALESCE(MAX(id), 0) FROM kv_lease"

    /// Live keys attached to a lease: the newest row per name, when it carries a lease.
    static let leasedKeys = """
        SELECT l.name, l.lease FROM kv_log l
        WHERE l.lease != 0 AND l.deleted = 0
          AND l.id = (SELECT i.id FROM kv_log i WHERE i.name = l.name ORDER BY i.id DESC LIMIT 1)
        """

    static let minID = "SELECT COALESCE(MIN(id), 0) FROM kv_log"

    /// One bounded compaction step. ?1 low id (inclusive), ?2 high id (exclusive), ?3 target.
    /// Removes tombstones and rows superseded by a newer row, both at or below the target.
    static let compactRange = """
        DELETE FROM kv_log
        WHERE id >= ?1 AND id < ?2 AND id <= ?3
          AND (deleted = 1 OR EXISTS (
                SELECT 1 FROM kv_log n WHERE n.name = kv_log.name AND n.id > kv_log.id AND n.id <= ?3))
        """

    /// The upper bound of a prefix range: no UTF-8 key starting with `prefix` reaches it,
    /// and every key past the range sorts after it (0xFF never occurs in UTF-8).
    static func rangeEnd(_ prefix: String) -> [UInt8] {
        Array(prefix.utf8) + [0xFF]
    }
}
