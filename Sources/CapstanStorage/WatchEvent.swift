/// One change in the log, as a watcher sees it.
public struct WatchEvent: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The key was created (`previous == nil`) or updated.
        case put
        /// The key was deleted (explicitly, or because its lease expired).
        case delete
    }

    public var kind: Kind
    /// The key's new state. For a delete: the key and `modRevision` (the delete's revision),
    /// with an empty value and `createRevision` 0, as etcd reports it.
    public var kv: KeyValue
    /// The key's state just before this change; nil for a create.
    public var previous: KeyValue?

    public init(kind: Kind, kv: KeyValue, previous: KeyValue?) {
        self.kind = kind
        self.kv = kv
        self.previous = previous
    }

    /// The revision of the change.
    public var revision: Int64 { kv.modRevision }
    public var key: String { kv.key }

    public static func put(_ kv: KeyValue, previous: KeyValue?) -> WatchEvent {
        WatchEvent(kind: .put, kv: kv, previous: previous)
    }

    public static func delete(_ key: String, revision: Int64, previous: KeyValue) -> WatchEvent {
        WatchEvent(
            kind: .delete,
            kv: KeyValue(key: key, value: [], createRevision: 0, modRevision: revision),
            previous: previous)
    }
}

/// What a watch stream delivers, in revision order.
public enum WatchMessage: Sendable, Hashable {
    /// A change with revision greater than every change delivered before it.
    case event(WatchEvent)
    /// Every change up to `revision` matching the watch has been delivered (answers
    /// `StorageBackend.requestWatchProgress()`); the API server turns this into a bookmark.
    case progress(revision: Int64)
}
