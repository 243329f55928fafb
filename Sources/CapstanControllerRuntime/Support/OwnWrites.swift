import Synchronization

/// The resourceVersions a controller's own writes replaced, per object key. Until its informer
/// delivers the write, the cache still holds a replaced version; a sync that acts on it would
/// write from stale data (a sure 409 Conflict and a retry). The informer's event for the
/// write queues the object again, so such a sync can simply wait for it.
public final class OwnWrites: Sendable {
    private let replaced = Mutex<[String: Set<String>]>([:])

    public init() {}

    /// Records a write of `key` that turned `old` into `new` (nothing when the server made no change).
    public func wrote(_ key: String, replacing old: String?, with new: String?) {
        guard let old, let new, old != new else { return }
        replaced.withLock { $0[key, default: []].insert(old) }
    }

    /// Whether the cached `resourceVersion` of `key` is one this controller's own writes replaced.
    /// A version it did not replace means the cache caught up: the record is dropped.
    public func isStale(_ key: String, resourceVersion: String?) -> Bool {
        replaced.withLock { m in
            guard let versions = m[key] else { return false }
            if let resourceVersion, versions.contains(resourceVersion) { return true }
            m[key] = nil
            return false
        }
    }

    public func forget(_ key: String) {
        _ = replaced.withLock { $0.removeValue(forKey: key) }
    }
}
