import CapstanStorage
import Foundation

/// Byte-level helpers between Capstan's keys and values and etcd's messages.
enum EtcdKeys {
    static func bytes(_ key: String) -> Data { Data(key.utf8) }

    /// The `[key, rangeEnd)` range of every key starting with `prefix`: etcd's prefix end is
    /// the prefix with its last byte below 0xFF incremented; `"\0"` means "to the end".
    static func prefixRange(_ prefix: String) -> (key: Data, rangeEnd: Data) {
        if prefix.isEmpty { return (Data([0]), Data([0])) }
        var end = Array(prefix.utf8)
        while let last = end.last, last == 0xFF { end.removeLast() }
        guard !end.isEmpty else { return (bytes(prefix), Data([0])) }
        end[end.count - 1] += 1
        return (bytes(prefix), Data(end))
    }

    static func keyValue(_ kv: Mvccpb_KeyValue) -> KeyValue {
        KeyValue(
            key: String(decoding: kv.key, as: UTF8.self),
            value: [UInt8](kv.value),
            createRevision: kv.createRevision,
            modRevision: kv.modRevision,
            lease: kv.lease)
    }

    static func watchEvent(_ event: Mvccpb_Event) -> WatchEvent {
        let previous = event.hasPrevKv ? keyValue(event.prevKv) : nil
        switch event.type {
        case .delete:
            return WatchEvent(
                kind: .delete,
                kv: KeyValue(
                    key: String(decoding: event.kv.key, as: UTF8.self), value: [],
                    createRevision: 0, modRevision: event.kv.modRevision),
                previous: previous)
        default:
            return WatchEvent(kind: .put, kv: keyValue(event.kv), previous: previous)
        }
    }
}

extension Etcdserverpb_Compare {
    static func modRevision(_ key: Data, _ result: CompareResult, _ revision: Int64) -> Self {
        var compare = Self()
        compare.key = key
        compare.target = .mod
        compare.result = result
        compare.targetUnion = .modRevision(revision)
        return compare
    }

    static func createRevision(_ key: Data, _ result: CompareResult, _ revision: Int64) -> Self {
        var compare = Self()
        compare.key = key
        compare.target = .create
        compare.result = result
        compare.targetUnion = .createRevision(revision)
        return compare
    }

    static func lease(_ key: Data, equals lease: Int64) -> Self {
        var compare = Self()
        compare.key = key
        compare.target = .lease
        compare.result = .equal
        compare.targetUnion = .lease(lease)
        return compare
    }
}

extension Etcdserverpb_RequestOp {
    static func put(_ key: Data, _ value: [UInt8], lease: Int64, prevKV: Bool) -> Self {
        var put = Etcdserverpb_PutRequest()
        put.key = key
        put.value = Data(value)
        put.lease = lease
        put.prevKv = prevKV
        var op = Self()
        op.request = .requestPut(put)
        return op
    }

    static func delete(_ key: Data) -> Self {
        var delete = Etcdserverpb_DeleteRangeRequest()
        delete.key = key
        delete.prevKv = true
        var op = Self()
        op.request = .requestDeleteRange(delete)
        return op
    }

    static func get(_ key: Data) -> Self {
        var range = Etcdserverpb_RangeRequest()
        range.key = key
        var op = Self()
        op.request = .requestRange(range)
        return op
    }
}
