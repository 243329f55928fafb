import CapstanStorage
import Foundation
import GRPCCore

/// Plain etcd calls through the same clients, for `capstan bench storage`: the raw engine the
/// storage is compared with.
extension EtcdStorage {
    /// One unconditional etcd `Put` (no transaction, no previous value); returns its revision.
    public func rawPut(_ key: String, value: [UInt8]) async throws -> Int64 {
        try checkOpen()
        var request = Etcdserverpb_PutRequest()
        request.key = EtcdKeys.bytes(key)
        request.value = Data(value)
        let response = try await connection.writeOnce { client in
            try await Etcdserverpb_KV.Client(wrapping: client).put(
                request: ClientRequest(message: request), options: connection.callOptions)
        }
        return response.header.revision
    }

    /// One etcd `Txn` of the shape `create` sends (create revision 0 → put, else range), and
    /// nothing else: no checks, no outcome settling. Returns whether it put the key.
    public func rawCreateTxn(_ key: String, value: [UInt8]) async throws -> Bool {
        try checkOpen()
        let keyBytes = EtcdKeys.bytes(key)
        var txn = Etcdserverpb_TxnRequest()
        txn.compare = [.createRevision(keyBytes, .equal, 0)]
        txn.success = [.put(keyBytes, value, lease: 0, prevKV: false)]
        txn.failure = [.get(keyBytes)]
        return try await kv.txnOnce(txn).succeeded
    }

    /// One plain linearizable etcd `Range` of a key; returns its value.
    public func rawGet(_ key: String) async throws -> [UInt8]? {
        try checkOpen()
        var request = Etcdserverpb_RangeRequest()
        request.key = EtcdKeys.bytes(key)
        return try await kv.range(request).kvs.first.map { [UInt8]($0.value) }
    }
}

extension EtcdStorage {
    /// Deletes every key starting with `prefix` in one etcd `DeleteRange` (for cleaning up after
    /// a benchmark); returns how many were deleted.
    public func rawDelete(prefix: String) async throws -> Int {
        try checkOpen()
        let (key, rangeEnd) = EtcdKeys.prefixRange(prefix)
        var request = Etcdserverpb_DeleteRangeRequest()
        request.key = key
        request.rangeEnd = rangeEnd
        let response = try await connection.writeOnce { client in
            try await Etcdserverpb_KV.Client(wrapping: client).deleteRange(
                request: ClientRequest(message: request), options: connection.callOptions)
        }
        return Int(response.deleted)
    }
}
