import CapstanStorage
import Foundation
import GRPCCore

/// The write shapes, each one etcd transaction, and how an unknown outcome is settled.
///
/// When the connection fails after a write may have been sent, the write is not blindly
/// repeated: the key is read back (on the next member). If its state shows the write was not
/// applied (the key is still absent for a create, still at the expected revision for an
/// update or delete), the write is sent again. Otherwise the write may or may not have been
/// applied (another client may have made the same change), and the answer is the one a
/// repeated write would get: `.keyExists`, `.conflict` or `.keyNotFound` with the current
/// state, so the caller re-reads and decides (the API server's update loop does exactly that).
extension EtcdStorage {
    enum Settled<T: Sendable>: Sendable {
        case done(T)
        case retry
    }

    public func create(_ key: String, value: [UInt8], lease: Int64) async throws -> KeyValue {
        try StorageLimits.checkWrite(key, value: value, lease: lease)
        try checkOpen()
        let keyBytes = EtcdKeys.bytes(key)
        var txn = Etcdserverpb_TxnRequest()
        txn.compare = [.createRevision(keyBytes, .equal, 0)]
        txn.success = [.put(keyBytes, value, lease: lease, prevKV: false)]
        txn.failure = [.get(keyBytes)]
        return try await settle(lease: lease) {
            let response = try await kv.txnOnce(txn)
            guard response.succeeded else {
                let current = response.responses.first?.responseRange.kvs.first.map(EtcdKeys.keyValue)
                throw StorageError.keyExists(key, current: current)
            }
            let revision = response.header.revision
            return KeyValue(key: key, value: value, createRevision: revision, modRevision: revision, lease: lease)
        } resolve: {
            guard let current = try await self.get(key).kv else { return .retry }
            // The create whose answer was lost landed: the key holds exactly what it wrote and
            // has not changed since.
            if current.value == value, current.lease == lease, current.createRevision == current.modRevision {
                return .done(current)
            }
            throw StorageError.keyExists(key, current: current)
        }
    }

    public func update(_ key: String, value: [UInt8], expectedModRevision: Int64?, lease: Int64) async throws -> KeyValue {
        try StorageLimits.checkWrite(key, value: value, lease: lease)
        try StorageLimits.checkExpected(expectedModRevision)
        try checkOpen()
        let keyBytes = EtcdKeys.bytes(key)
        var txn = Etcdserverpb_TxnRequest()
        txn.compare = [
            expectedModRevision.map { .modRevision(keyBytes, .equal, $0) } ?? .modRevision(keyBytes, .greater, 0)
        ]
        txn.success = [.put(keyBytes, value, lease: lease, prevKV: true)]
        txn.failure = [.get(keyBytes)]
        return try await settle(lease: lease) {
            let response = try await kv.txnOnce(txn)
            guard response.succeeded else {
                guard let current = response.responses.first?.responseRange.kvs.first.map(EtcdKeys.keyValue) else {
                    throw StorageError.keyNotFound(key)
                }
                guard let expectedModRevision else { throw StorageError.keyNotFound(key) }
                throw StorageError.conflict(key, expected: expectedModRevision, current: current)
            }
            let previous = response.responses.first?.responsePut.prevKv
            return KeyValue(
                key: key, value: value, createRevision: previous?.createRevision ?? response.header.revision,
                modRevision: response.header.revision, lease: lease)
        } resolve: {
            guard let current = try await self.get(key).kv else { throw StorageError.keyNotFound(key) }
            // An unconditional update is repeated: at worst the same value is written twice.
            guard let expectedModRevision else { return .retry }
            if current.modRevision == expectedModRevision { return .retry }
            // The update whose answer was lost landed (the key holds what it wrote).
            if current.modRevision > expectedModRevision, current.value == value, current.lease == lease {
                return .done(current)
            }
            throw StorageError.conflict(key, expected: expectedModRevision, current: current)
        }
    }

    public func delete(_ key: String, expectedModRevision: Int64?) async throws -> DeleteResult {
        try StorageLimits.checkKey(key)
        try StorageLimits.checkExpected(expectedModRevision)
        try checkOpen()
        if let expectedModRevision {
            return try await delete(key, modRevision: expectedModRevision)
        }
        // Unconditional: delete the state just read, again if it changed meanwhile.
        while true {
            guard let current = try await get(key).kv else { throw StorageError.keyNotFound(key) }
            do {
                return try await delete(key, modRevision: current.modRevision)
            } catch let error as StorageError where error.code == .conflict {
                continue
            }
        }
    }

    private func delete(_ key: String, modRevision: Int64) async throws -> DeleteResult {
        let keyBytes = EtcdKeys.bytes(key)
        var txn = Etcdserverpb_TxnRequest()
        txn.compare = [.modRevision(keyBytes, .equal, modRevision)]
        txn.success = [.delete(keyBytes)]
        txn.failure = [.get(keyBytes)]
        return try await settle(lease: 0) {
            let response = try await kv.txnOnce(txn)
            guard response.succeeded else {
                guard let current = response.responses.first?.responseRange.kvs.first.map(EtcdKeys.keyValue) else {
                    throw StorageError.keyNotFound(key)
                }
                throw StorageError.conflict(key, expected: modRevision, current: current)
            }
            guard let previous = response.responses.first?.responseDeleteRange.prevKvs.first else {
                throw StorageError.keyNotFound(key)
            }
            return DeleteResult(previous: EtcdKeys.keyValue(previous), revision: response.header.revision)
        } resolve: {
            guard let current = try await self.get(key).kv else { throw StorageError.keyNotFound(key) }
            if current.modRevision == modRevision { return .retry }
            throw StorageError.conflict(key, expected: modRevision, current: current)
        }
    }

    /// Runs `attempt`; when its outcome is unknown, asks `resolve` whether it was applied
    /// (`.done`) or should be sent again (`.retry`), until `unavailableTimeout`.
    func settle<T: Sendable>(
        lease: Int64,
        _ attempt: () async throws -> T,
        resolve: () async throws -> Settled<T>
    ) async throws -> T {
        let clock = ContinuousClock()
        let start = clock.now
        var tries = 0
        while true {
            do {
                return try await attempt()
            } catch is AmbiguousWrite {
                tries += 1
                switch try await resolve() {
                case .done(let value): return value
                case .retry: try await connection.pause(attempt: tries, since: start, clock: clock)
                }
            } catch let error as StorageError where error.code == .leaseNotFound && lease != 0 {
                throw StorageError.leaseNotFound(lease)
            }
        }
    }
}
