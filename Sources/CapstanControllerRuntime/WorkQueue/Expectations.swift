import Synchronization

/// What a controller expects its informers to show before it acts again on a key, as
/// kube-controller-manager's ControllerExpectations: after asking for N creations and M
/// deletions it waits until the informer reports them (``creationObserved(_:)``,
/// ``deletionObserved(_:)``) so a lagging cache never makes it create or delete twice.
/// Expectations older than ``ttl`` count as satisfied (a watch event may have been missed).
public final class Expectations: Sendable {
    struct Record: Sendable, Equatable {
        var adds: Int
        var deletes: Int
        var setAt: Duration
    }

    public let ttl: Duration
    private let clock: ControllerClock
    private let records = Mutex<[String: Record]>([:])

    public init(ttl: Duration = .seconds(300), clock: ControllerClock = .continuous) {
        self.ttl = ttl
        self.clock = clock
    }

    /// True when nothing is pending for `key`: no record, all observed, or the record expired.
    public func satisfied(_ key: String) -> Bool {
        let now = clock.now
        return records.withLock { records in
            guard let record = records[key] else { return true }
            return (record.adds <= 0 && record.deletes <= 0) || now - record.setAt > ttl
        }
    }

    /// Replaces the key's expectations.
    public func expect(_ key: String, adds: Int = 0, deletes: Int = 0) {
        let now = clock.now
        records.withLock { $0[key] = Record(adds: adds, deletes: deletes, setAt: now) }
    }

    /// Adds to the key's expectations (creating them when there are none).
    public func raise(_ key: String, adds: Int = 0, deletes: Int = 0) {
        let now = clock.now
        records.withLock { records in
            if var record = records[key] {
                record.adds += adds
                record.deletes += deletes
                records[key] = record
            } else {
                records[key] = Record(adds: adds, deletes: deletes, setAt: now)
            }
        }
    }

    /// One expected creation was seen (or will never happen: a create failed).
    public func creationObserved(_ key: String) {
        records.withLock { records in records[key]?.adds -= 1 }
    }

    /// One expected deletion was seen (or will never happen).
    public func deletionObserved(_ key: String) {
        records.withLock { records in records[key]?.deletes -= 1 }
    }

    /// Forgets the key (its object was deleted).
    public func delete(_ key: String) {
        records.withLock { records in records[key] = nil }
    }

    /// The adds and deletes still expected, for tests and logs.
    public func pending(_ key: String) -> (adds: Int, deletes: Int)? {
        records.withLock { records in records[key].map { ($0.adds, $0.deletes) } }
    }
}
