/// An error from a storage backend. The `code` says what happened; `message` says why, naming
/// the cause (a file path, an errno text, the limit that was exceeded).
///
/// Codes are open-ended (a struct, not a public enum) so new ones can be added without
/// breaking callers; match them with `==`.
public struct StorageError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case keyExists, keyNotFound, conflict, compacted, futureRevision, valueTooLarge
            case leaseNotFound, invalidArgument, unavailable, corrupt, io
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// `create` found the key already present.
        public static let keyExists = Code(.keyExists)
        /// `update` or `delete` found no such key.
        public static let keyNotFound = Code(.keyNotFound)
        /// The expected mod revision did not match; `StorageError.current` holds the key's state.
        public static let conflict = Code(.conflict)
        /// The requested revision is older than the compaction revision (HTTP 410 Gone upstream).
        public static let compacted = Code(.compacted)
        /// The requested revision is newer than the store's current revision.
        public static let futureRevision = Code(.futureRevision)
        /// The value exceeds `StorageLimits.maxValueBytes`.
        public static let valueTooLarge = Code(.valueTooLarge)
        /// The lease does not exist (never granted, revoked or expired).
        public static let leaseNotFound = Code(.leaseNotFound)
        /// The request itself is malformed (empty key, negative revision, bad TTL).
        public static let invalidArgument = Code(.invalidArgument)
        /// The backend cannot serve now (closed, failed earlier, watcher fell behind); retry or re-watch.
        public static let unavailable = Code(.unavailable)
        /// The stored data is damaged or not a database of ours.
        public static let corrupt = Code(.corrupt)
        /// An I/O error: unreadable file, full disk, permission denied.
        public static let io = Code(.io)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    /// For `.conflict` (and `.keyExists`): the key's current state.
    public var current: KeyValue?
    /// For `.compacted`: the store's compaction revision.
    public var compactRevision: Int64?

    public init(_ code: Code, _ message: String, current: KeyValue? = nil, compactRevision: Int64? = nil) {
        self.code = code
        self.message = message
        self.current = current
        self.compactRevision = compactRevision
    }

    public var description: String { "storage: \(code): \(message)" }
}

extension StorageError {
    public static func keyExists(_ key: String, current: KeyValue? = nil) -> StorageError {
        StorageError(.keyExists, "key \(key) already exists", current: current)
    }

    public static func keyNotFound(_ key: String) -> StorageError {
        StorageError(.keyNotFound, "key \(key) not found")
    }

    public static func conflict(_ key: String, expected: Int64, current: KeyValue) -> StorageError {
        StorageError(
            .conflict,
            "key \(key) was modified: expected mod revision \(expected), current \(current.modRevision)",
            current: current)
    }

    public static func compacted(requested: Int64, compactRevision: Int64) -> StorageError {
        StorageError(
            .compacted,
            "revision \(requested) has been compacted (compaction revision \(compactRevision))",
            compactRevision: compactRevision)
    }

    public static func futureRevision(requested: Int64, current: Int64) -> StorageError {
        StorageError(.futureRevision, "revision \(requested) is newer than the current revision \(current)")
    }

    public static func valueTooLarge(_ key: String, size: Int) -> StorageError {
        StorageError(
            .valueTooLarge,
            "value for key \(key) is \(size) bytes, over the limit of \(StorageLimits.maxValueBytes) bytes")
    }

    public static func leaseNotFound(_ id: Int64) -> StorageError {
        StorageError(.leaseNotFound, "lease \(id) not found")
    }

    public static func invalidArgument(_ message: String) -> StorageError {
        StorageError(.invalidArgument, message)
    }
}
