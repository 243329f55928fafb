/// A revisioned key-value log: what the Kubernetes API server needs from etcd.
///
/// Every successful write (create, update, delete, lease-expiry delete) takes the next
/// global revision; revisions are the Kubernetes `resourceVersion`. Values are opaque bytes.
/// Keys order by UTF-8 bytes. Reads at a revision see exactly the writes with revisions up
/// to it. All methods are safe to call concurrently.
///
/// Implementations: `MemoryStorage` (the reference), `SQLiteStorage`; every backend passes
/// the `CapstanStorageConformance` suite.
public protocol StorageBackend: Sendable {
    /// The key's state at `revision` (nil: the latest), and the revision the read was made at.
    /// Throws `.compacted` below the compaction revision, `.futureRevision` above the current one.
    func get(_ key: String, atRevision revision: Int64?) async throws -> GetResult

    /// Keys starting with `prefix` (byte-wise; "" lists everything), in key order, from
    /// `startKey` (inclusive; nil: from the prefix), at most `limit` (nil: all), all at one
    /// consistent revision: `revision` if given, else the latest. Page through a large range
    /// by passing the returned `revision` and a `startKey` just after the last key returned.
    func list(prefix: String, startKey: String?, limit: Int?, atRevision revision: Int64?) async throws -> ListResult

    /// Number of live keys starting with `prefix`, at the latest revision.
    func count(prefix: String) async throws -> CountResult

    /// Creates `key`; throws `.keyExists` if it is present. `lease` 0 means none.
    func create(_ key: String, value: [UInt8], lease: Int64) async throws -> KeyValue

    /// Replaces `key`'s value if its mod revision is `expectedModRevision` (nil: any).
    /// Throws `.keyNotFound` if absent, `.conflict` (with `current`) on a mismatch.
    func update(_ key: String, value: [UInt8], expectedModRevision: Int64?, lease: Int64) async throws -> KeyValue

    /// Deletes `key` if its mod revision is `expectedModRevision` (nil: any).
    /// Throws `.keyNotFound` if absent, `.conflict` (with `current`) on a mismatch.
    func delete(_ key: String, expectedModRevision: Int64?) async throws -> DeleteResult

    /// Every change to keys starting with `prefix` with revision greater than `afterRevision`,
    /// in revision order: first the past ones from the log, then live ones, with no gap and no
    /// duplicate. Throws (or ends the stream with) `.compacted` if `afterRevision` is below the
    /// compaction revision. Pass the revision of a list to watch from that list (Kubernetes'
    /// `resourceVersion` semantics).
    func watch(prefix: String, afterRevision: Int64) async throws -> WatchStream

    /// Asks every watch to deliver `.progress(revision:)` with the current revision once all
    /// changes up to it were delivered (etcd's RequestProgress); the API server sends bookmarks
    /// and serves consistent reads from its watch cache with it.
    func requestWatchProgress() async throws

    /// Forgets history before `revision`: later reads and watches below it throw `.compacted`.
    /// The latest state of every key as of `revision` stays readable. Throws `.compacted` if
    /// already compacted at or past `revision`, `.futureRevision` past the current revision.
    func compact(upTo revision: Int64) async throws

    /// The revision of the latest committed write (0 for an empty store).
    func currentRevision() async throws -> Int64

    /// A lease expiring `ttlSeconds` after now; keys written with it are deleted (with delete
    /// events) when it expires or is revoked. Returns its id (> 0).
    func grantLease(ttlSeconds: Int64) async throws -> Int64

    /// Deletes the lease and every key attached to it; throws `.leaseNotFound`.
    func revokeLease(_ id: Int64) async throws

    /// Background work (lease expiry) until cancelled. Leases expire only while it runs.
    func run() async throws

    /// Stops the backend: finishes pending writes, ends every watch with `.unavailable`,
    /// releases files and threads. Later calls throw `.unavailable`.
    func close() async
}

public struct GetResult: Sendable, Hashable {
    /// The key's state, nil if absent at that revision.
    public var kv: KeyValue?
    /// The revision the read was made at.
    public var revision: Int64

    public init(kv: KeyValue?, revision: Int64) {
        self.kv = kv
        self.revision = revision
    }
}

public struct ListResult: Sendable, Hashable {
    /// Live keys in key order.
    public var kvs: [KeyValue]
    /// The revision the whole list was read at: pass it back for the next page.
    public var revision: Int64
    /// Whether keys past the returned ones match.
    public var more: Bool
    /// How many matching keys come after the returned ones (Kubernetes' remainingItemCount).
    public var remaining: Int

    public init(kvs: [KeyValue], revision: Int64, more: Bool, remaining: Int) {
        self.kvs = kvs
        self.revision = revision
        self.more = more
        self.remaining = remaining
    }
}

public struct CountResult: Sendable, Hashable {
    public var count: Int
    public var revision: Int64

    public init(count: Int, revision: Int64) {
        self.count = count
        self.revision = revision
    }
}

public struct DeleteResult: Sendable, Hashable {
    /// The key's state before the delete.
    public var previous: KeyValue
    /// The delete's revision.
    public var revision: Int64

    public init(previous: KeyValue, revision: Int64) {
        self.previous = previous
        self.revision = revision
    }
}

extension StorageBackend {
    public func get(_ key: String) async throws -> GetResult {
        try await get(key, atRevision: nil)
    }

    public func list(prefix: String, limit: Int? = nil) async throws -> ListResult {
        try await list(prefix: prefix, startKey: nil, limit: limit, atRevision: nil)
    }

    public func create(_ key: String, value: [UInt8]) async throws -> KeyValue {
        try await create(key, value: value, lease: 0)
    }

    public func update(_ key: String, value: [UInt8], expectedModRevision: Int64?) async throws -> KeyValue {
        try await update(key, value: value, expectedModRevision: expectedModRevision, lease: 0)
    }

    public func delete(_ key: String) async throws -> DeleteResult {
        try await delete(key, expectedModRevision: nil)
    }
}

extension StorageBackend {
    /// Checks shared by every backend for a read at `requested` (nil: latest).
    public static func checkReadRevision(_ requested: Int64?, current: Int64, compacted: Int64) throws(StorageError) {
        guard let requested, requested != 0 else { return }
        if requested < 0 { throw .invalidArgument("revision must not be negative (got \(requested))") }
        if requested > current { throw .futureRevision(requested: requested, current: current) }
        if requested < compacted { throw .compacted(requested: requested, compactRevision: compacted) }
    }
}
