import CapstanStorage

extension SQLiteStorage {
    /// What `verifyIntegrity()` found.
    public struct IntegrityReport: Sendable, CustomStringConvertible {
        /// Rows in the log.
        public var rows: Int
        public var currentRevision: Int64
        public var compactRevision: Int64
        /// Everything wrong; empty when the database is sound.
        public var problems: [String]

        public var isSound: Bool { problems.isEmpty }

        public var description: String {
            "rows=\(rows) revision=\(currentRevision) compacted=\(compactRevision) "
                + (problems.isEmpty ? "sound" : "problems: " + problems.joined(separator: "; "))
        }
    }

    /// Checks the file (SQLite's `integrity_check`) and the log's invariants, on one snapshot:
    /// - every revision after the compaction revision is present exactly once (no gap);
    /// - no row is newer than the current revision;
    /// - every update and delete points at the key's previous row, which is live, and keeps
    ///   its create revision; every create follows nothing or a delete.
    public func verifyIntegrity() async throws -> IntegrityReport {
        try checkOpenForDiagnostics()
        return try readPool.read { connection throws(StorageError) in
            var problems: [String] = []
            let check = try connection.statement("PRAGMA integrity_check")
            while try check.step() {
                let line = check.text(0)
                if line != "ok" { problems.append("integrity_check: \(line)") }
            }
            check.reset()
            let (current, compacted) = try connection.revisions()

            func scalar(_ sql: String) throws(StorageError) -> Int64 {
                let statement = try connection.statement(sql)
                defer { statement.reset() }
                try statement.bind(1, compacted)
                try statement.bind(2, current)
                _ = try statement.step()
                return statement.int64(0)
            }

            let rows = try scalar("SELECT COUNT(*) FROM kv_log WHERE ?1 = ?1 AND ?2 = ?2")
            let newest = try scalar("SELECT COALESCE(MAX(id), 0) FROM kv_log WHERE ?1 = ?1 AND ?2 = ?2")
            if newest > current { problems.append("row \(newest) is newer than the current revision \(current)") }
            let after = try scalar("SELECT COUNT(*) FROM kv_log WHERE id > ?1 AND ?2 = ?2")
            if after != current - compacted {
                problems.append("\(current - compacted - after) of the revisions \(compacted + 1)...\(current) are missing")
            }
            let badLinks = try scalar("""
                SELECT COUNT(*) FROM kv_log l
                WHERE l.id > ?1 AND ?2 = ?2 AND l.created = 0 AND (
                    l.prev_revision != (SELECT MAX(r.id) FROM kv_log r WHERE r.name = l.name AND r.id < l.id)
                    OR NOT EXISTS (SELECT 1 FROM kv_log p WHERE p.id = l.prev_revision AND p.deleted = 0
                                   AND p.create_revision = l.create_revision))
                """)
            if badLinks > 0 { problems.append("\(badLinks) updates or deletes do not follow the key's live previous row") }
            let badCreates = try scalar("""
                SELECT COUNT(*) FROM kv_log l
                WHERE l.id > ?1 AND ?2 = ?2 AND l.created = 1 AND (
                    l.create_revision != l.id OR l.deleted != 0 OR l.prev_revision != 0
                    OR EXISTS (SELECT 1 FROM kv_log q WHERE q.name = l.name AND q.deleted = 0
                               AND q.id = (SELECT MAX(r.id) FROM kv_log r WHERE r.name = l.name AND r.id < l.id)))
                """)
            if badCreates > 0 { problems.append("\(badCreates) creates of keys that already existed or with wrong fields") }
            return IntegrityReport(rows: Int(rows), currentRevision: current, compactRevision: compacted, problems: problems)
        }
    }
}
