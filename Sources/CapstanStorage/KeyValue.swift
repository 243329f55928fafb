/// One key's state at one revision, as the storage log records it.
///
/// Values are opaque bytes: storage never decodes them. Revisions are the store's global
/// revision counter (the Kubernetes `resourceVersion`): every successful write takes the
/// next revision.
public struct KeyValue: Sendable, Hashable {
    /// The full key, e.g. `/registry/pods/default/nginx`.
    public var key: String
    /// The stored bytes. Empty for the `kv` of a delete event.
    public var value: [UInt8]
    /// The revision at which the key was last created (0 in a delete event's `kv`).
    public var createRevision: Int64
    /// The revision of the write that produced this state.
    public var modRevision: Int64
    /// The lease the key is attached to, or 0 for none.
    public var lease: Int64

    public init(key: String, value: [UInt8], createRevision: Int64, modRevision: Int64, lease: Int64 = 0) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.lease = lease
    }
}

extension KeyValue: CustomStringConvertible {
    public var description: String {
        "KeyValue(\(key), \(value.count) bytes, create=\(createRevision), mod=\(modRevision), lease=\(lease))"
    }
}
