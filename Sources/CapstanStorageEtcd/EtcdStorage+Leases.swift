import CapstanStorage
import Foundation
import GRPCCore

/// Leases: etcd leases, ended by this storage so that each attached key's deletion takes its
/// own revision (etcd's own revocation deletes them all in one revision).
extension EtcdStorage {
    public func grantLease(ttlSeconds: Int64) async throws -> Int64 {
        guard ttlSeconds > 0 else { throw StorageError.invalidArgument("lease TTL must be positive (got \(ttlSeconds))") }
        try checkOpen()
        let slack = max(configuration.leaseSlack.components.seconds, 0)
        var request = Etcdserverpb_LeaseGrantRequest()
        request.ttl = ttlSeconds + slack
        let granted = clock.now()
        // A retried grant may leave an unused lease behind; etcd expires it by itself.
        let response = try await connection.read { client in
            try await Etcdserverpb_Lease.Client(wrapping: client).leaseGrant(
                request: ClientRequest(message: request), options: connection.callOptions)
        }
        if !response.error.isEmpty { throw StorageError(.unavailable, "etcd refused the lease: \(response.error)") }
        leases.withLock { $0[response.id] = granted + .seconds(ttlSeconds) }
        return response.id
    }

    public func revokeLease(_ id: Int64) async throws {
        try checkOpen()
        do {
            try await endLease(id)
        } catch let error as StorageError where error.code == .leaseNotFound {
            _ = leases.withLock { $0.removeValue(forKey: id) }
            throw StorageError.leaseNotFound(id)
        }
        _ = leases.withLock { $0.removeValue(forKey: id) }
    }

    /// Deletes the lease's keys one transaction each (in key order), then revokes it.
    /// Throws `.leaseNotFound` if etcd does not know the lease.
    func endLease(_ id: Int64) async throws {
        var request = Etcdserverpb_LeaseTimeToLiveRequest()
        request.id = id
        request.keys = true
        let live = try await connection.read { client in
            try await Etcdserverpb_Lease.Client(wrapping: client).leaseTimeToLive(
                request: ClientRequest(message: request), options: connection.callOptions)
        }
        if live.ttl == -1 { throw StorageError.leaseNotFound(id) }
        let keys = live.keys.sorted { $0.lexicographicallyPrecedes($1) }
        for key in keys {
            // Deletes the key only while it is still on this lease: repeating it is harmless.
            var txn = Etcdserverpb_TxnRequest()
            txn.compare = [.lease(key, equals: id)]
            txn.success = [.delete(key)]
            _ = try await settle(lease: 0) {
                _ = try await kv.txnOnce(txn)
                return true
            } resolve: {
                .retry
            }
        }
        var revoke = Etcdserverpb_LeaseRevokeRequest()
        revoke.id = id
        var repeated = false
        _ = try await settle(lease: 0) {
            do {
                return try await connection.writeOnce { client in
                    try await Etcdserverpb_Lease.Client(wrapping: client).leaseRevoke(
                        request: ClientRequest(message: revoke), options: connection.callOptions)
                }
            } catch let error as StorageError where error.code == .leaseNotFound && repeated {
                // The first attempt did revoke it.
                return Etcdserverpb_LeaseRevokeResponse()
            }
        } resolve: {
            repeated = true
            return .retry
        }
    }
}
