import CapstanStorage
import Foundation
import GRPCCore
import Synchronization

/// A `StorageBackend` on an etcd v3 cluster, over gRPC.
///
/// Revisions are etcd's revisions, keys are etcd keys, leases are etcd leases.
///
/// - Reads: `Range` (linearizable), at a revision for pages of a consistent list.
/// - Writes: one `Txn` each, in the four shapes the protocol needs (as kine does): create if
///   absent (`create_revision == 0`), update or delete if the mod revision matches (or if the
///   key exists), with a `Range` of the key in the else branch to report the current state.
/// - Watches: ONE bidirectional Watch stream carries every watcher (see `EtcdWatchHub`).
/// - Endpoints: one member at a time; a call that fails for a transport reason moves to the
///   next member. Reads are retried; a write whose outcome is unknown is settled by reading
///   the key back before it is retried or reported.
/// - Leases: etcd leases, granted with a little slack; `run()` ends them on time by deleting
///   their keys one per revision (as every other backend does) and then revoking the lease.
///   If no `run()` is going, etcd's own expiry deletes the keys after the slack.
///
/// etcd must accept requests of at least `StorageLimits.maxValueBytes` plus a key: start it
/// with `--max-request-bytes` of 2 MiB or more (its default is 1.5 MiB for the whole request).
public final class EtcdStorage: StorageBackend {
    public struct Configuration: Sendable {
        /// The members' client endpoints.
        public var endpoints: [EtcdEndpoint]
        /// Longest wait for one call to one member.
        public var requestTimeout: Duration = .seconds(10)
        /// How long calls (and the watch stream) keep failing over before `.unavailable`.
        public var unavailableTimeout: Duration = .seconds(20)
        /// Whether `compact` waits until etcd has removed the old revisions from its database.
        public var physicalCompaction = false
        /// Extra TTL given to etcd leases, so `run()` expires them before etcd does.
        public var leaseSlack: Duration = .seconds(5)
        /// Most undelivered messages a watcher may have before it is ended as too slow.
        public var watchBufferLimit = 100_000

        public init(endpoints: [EtcdEndpoint]) {
            self.endpoints = endpoints
        }

        /// Endpoints as text: `etcd://h1:p1,h2:p2` (see `EtcdEndpoint.parse`).
        public init(endpoints: String) throws(StorageError) {
            self.endpoints = try EtcdEndpoint.parse(endpoints)
        }
    }

    /// How often `run()` looks for expired leases.
    public static let leaseCheckInterval: Duration = .milliseconds(250)

    static let closedError = StorageError(.unavailable, "etcd storage is closed")

    public let configuration: Configuration
    let connection: EtcdConnection
    let hub: EtcdWatchHub
    let clock: StorageClock
    /// Leases granted here: id → local deadline on `clock`.
    let leases = Mutex<[Int64: Duration]>([:])

    public init(configuration: Configuration, clock: some Clock<Duration> = ContinuousClock()) throws(StorageError) {
        guard !configuration.endpoints.isEmpty else { throw .invalidArgument("no etcd endpoint given") }
        self.configuration = configuration
        self.connection = EtcdConnection(configuration: configuration)
        self.hub = EtcdWatchHub(connection: connection)
        self.clock = StorageClock(clock)
    }

    /// - Parameter endpoints: `etcd://h1:p1,h2:p2`.
    public convenience init(endpoints: String, clock: some Clock<Duration> = ContinuousClock()) throws(StorageError) {
        try self.init(configuration: Configuration(endpoints: endpoints), clock: clock)
    }

    var kv: KVCalls { KVCalls(connection: connection) }

    // MARK: Reads

    public func get(_ key: String, atRevision revision: Int64?) async throws -> GetResult {
        try StorageLimits.checkKey(key)
        try checkRevisionArgument(revision)
        var request = Etcdserverpb_RangeRequest()
        request.key = EtcdKeys.bytes(key)
        request.revision = revision ?? 0
        let response = try await range(request)
        let at = (revision ?? 0) == 0 ? response.header.revision : revision!
        return GetResult(kv: response.kvs.first.map(EtcdKeys.keyValue), revision: at)
    }

    public func list(prefix: String, startKey: String?, limit: Int?, atRevision revision: Int64?) async throws -> ListResult {
        if let limit, limit < 0 { throw StorageError.invalidArgument("limit must not be negative (got \(limit))") }
        try checkRevisionArgument(revision)
        let (prefixKey, rangeEnd) = EtcdKeys.prefixRange(prefix)
        var request = Etcdserverpb_RangeRequest()
        request.key = prefixKey
        if let startKey, StorageKey.less(prefix, startKey) { request.key = EtcdKeys.bytes(startKey) }
        request.rangeEnd = rangeEnd
        request.limit = Int64(limit ?? 0)
        request.revision = revision ?? 0
        let response = try await range(request)
        let at = (revision ?? 0) == 0 ? response.header.revision : revision!
        let kvs = response.kvs.map(EtcdKeys.keyValue)
        let remaining = max(0, Int(response.count) - kvs.count)
        return ListResult(kvs: kvs, revision: at, more: remaining > 0, remaining: remaining)
    }

    public func count(prefix: String) async throws -> CountResult {
        let (key, rangeEnd) = EtcdKeys.prefixRange(prefix)
        var request = Etcdserverpb_RangeRequest()
        request.key = key
        request.rangeEnd = rangeEnd
        request.countOnly = true
        let response = try await range(request)
        return CountResult(count: Int(response.count), revision: response.header.revision)
    }

    public func currentRevision() async throws -> Int64 {
        var request = Etcdserverpb_RangeRequest()
        request.key = Data([0])
        request.countOnly = true
        return try await range(request).header.revision
    }

    private func checkRevisionArgument(_ revision: Int64?) throws(StorageError) {
        try checkOpen()
        if let revision, revision < 0 { throw .invalidArgument("revision must not be negative (got \(revision))") }
    }

    func checkOpen() throws(StorageError) {
        if connection.isClosed { throw Self.closedError }
    }

    /// A Range, with etcd's revision errors completed (compaction revision, current revision).
    func range(_ request: Etcdserverpb_RangeRequest) async throws -> Etcdserverpb_RangeResponse {
        do {
            return try await kv.range(request)
        } catch let error as StorageError where error.code == .compacted {
            let compacted = try await compactRevision(below: request.revision)
            throw StorageError.compacted(requested: request.revision, compactRevision: compacted)
        } catch let error as StorageError where error.code == .futureRevision {
            throw StorageError.futureRevision(requested: request.revision, current: try await currentRevision())
        }
    }

    /// etcd's compaction revision: the lowest revision it still serves, found by bisection
    /// (etcd reports it only to watches). `failed` is a revision known to be compacted.
    func compactRevision(below failed: Int64) async throws -> Int64 {
        var low = max(failed, 0)
        var high = try await currentRevision()
        // Invariant: revisions <= low are compacted (or 0); `high` is readable.
        while high - low > 1 {
            let middle = low + (high - low) / 2
            var probe = Etcdserverpb_RangeRequest()
            probe.key = Data([0])
            probe.countOnly = true
            probe.revision = middle
            do {
                _ = try await kv.range(probe)
                high = middle
            } catch let error as StorageError where error.code == .compacted {
                low = middle
            }
        }
        return high
    }

    // MARK: Watch

    public func watch(prefix: String, afterRevision: Int64) async throws -> WatchStream {
        if afterRevision < 0 {
            throw StorageError.invalidArgument("watch revision must not be negative (got \(afterRevision))")
        }
        try checkOpen()
        if afterRevision > 0, try await kv.isCompacted(afterRevision) {
            throw StorageError.compacted(
                requested: afterRevision, compactRevision: try await compactRevision(below: afterRevision))
        }
        let (key, rangeEnd) = EtcdKeys.prefixRange(prefix)
        let channel = try await hub.watch(
            key: key, rangeEnd: rangeEnd, after: afterRevision, bufferLimit: configuration.watchBufferLimit)
        return WatchStream(channel)
    }

    public func requestWatchProgress() async throws {
        try checkOpen()
        hub.requestProgress()
    }

    // MARK: Compaction

    public func compact(upTo revision: Int64) async throws {
        try checkOpen()
        var request = Etcdserverpb_CompactionRequest()
        request.revision = revision
        request.physical = configuration.physicalCompaction
        do {
            _ = try await connection.read { client in
                try await Etcdserverpb_KV.Client(wrapping: client).compact(
                    request: ClientRequest(message: request), options: connection.callOptions)
            }
        } catch let error as StorageError where error.code == .compacted {
            throw StorageError.compacted(
                requested: revision, compactRevision: try await compactRevision(below: revision - 1))
        } catch let error as StorageError where error.code == .futureRevision {
            throw StorageError.futureRevision(requested: revision, current: try await currentRevision())
        }
    }

    // MARK: Lifecycle

    /// Expires this storage's leases on time (see the type's documentation) until cancelled.
    public func run() async throws {
        var now = clock.now()
        while !Task.isCancelled && !connection.isClosed {
            let checked = now
            let expired = leases.withLock { leases in leases.filter { $0.value <= checked }.keys.sorted() }
            for id in expired {
                do {
                    try await endLease(id)
                    _ = leases.withLock { $0.removeValue(forKey: id) }
                } catch let error as StorageError where error.code == .leaseNotFound {
                    _ = leases.withLock { $0.removeValue(forKey: id) }
                } catch {
                    if Task.isCancelled || connection.isClosed { return }
                    // Unavailable for now: try again on the next round.
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
        await hub.close(Self.closedError)
        await connection.close()
    }
}

/// The KV service calls, with the connection's failover.
struct KVCalls {
    let connection: EtcdConnection

    func range(_ request: Etcdserverpb_RangeRequest) async throws -> Etcdserverpb_RangeResponse {
        try await connection.read { client in
            try await Etcdserverpb_KV.Client(wrapping: client).range(
                request: ClientRequest(message: request), options: connection.callOptions)
        }
    }

    /// Whether etcd has compacted `revision` away (a Range at it fails); a future revision is not.
    func isCompacted(_ revision: Int64) async throws -> Bool {
        var probe = Etcdserverpb_RangeRequest()
        probe.key = Data([0])
        probe.countOnly = true
        probe.revision = revision
        do {
            _ = try await range(probe)
            return false
        } catch let error as StorageError where error.code == .compacted {
            return true
        } catch let error as StorageError where error.code == .futureRevision {
            return false
        }
    }

    func txnOnce(_ request: Etcdserverpb_TxnRequest) async throws -> Etcdserverpb_TxnResponse {
        try await connection.writeOnce { client in
            try await Etcdserverpb_KV.Client(wrapping: client).txn(
                request: ClientRequest(message: request), options: connection.callOptions)
        }
    }
}
