import Synchronization

/// The users of client certificates already seen, by DER bytes: every request of a connection
/// presents the same certificate, and parsing it again for each one cost several percent of a
/// busy server's CPU. The TLS layer has verified the chain; the same bytes name the same user.
/// Bounded: when full it starts over.
final class CertificateIdentityCache: Sendable {
    let capacity: Int
    private let users = Mutex<[[UInt8]: UserInfo]>([:])

    init(capacity: Int = 1024) {
        self.capacity = capacity
    }

    /// The cached user of `der`, else `resolve(der)` (a nil result is not cached).
    func user(for der: [UInt8], resolve: ([UInt8]) -> UserInfo?) -> UserInfo? {
        if let known = users.withLock({ $0[der] }) { return known }
        guard let user = resolve(der) else { return nil }
        users.withLock { u in
            if u.count >= capacity { u.removeAll(keepingCapacity: true) }
            u[der] = user
        }
        return user
    }

    var count: Int { users.withLock { $0.count } }
}
