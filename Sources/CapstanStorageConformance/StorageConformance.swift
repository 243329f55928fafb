import CapstanStorage
import Testing

/// A backend under test, with the means to move its clock.
public struct StorageFixture: Sendable {
    public var backend: any StorageBackend
    /// Moves the backend's lease clock forward by at least the given duration: a manual
    /// clock's `advance(by:)`, or real waiting for a backend whose clock cannot be injected.
    public var advanceClock: @Sendable (Duration) async throws -> Void

    public init(backend: any StorageBackend, advanceClock: @escaping @Sendable (Duration) async throws -> Void) {
        self.backend = backend
        self.advanceClock = advanceClock
    }
}

/// The behaviour every `StorageBackend` must show. Tests run each `Check` against a fresh
/// fixture whose backend's `run()` is running, e.g.
///
///     @Test(arguments: StorageConformance.checks)
///     func memory(_ check: StorageConformance.Check) async throws {
///         try await check.run(on: makeMemoryFixture())
///     }
///
/// Checks use relative revisions only (etcd starts at revision 1, others at 0).
public enum StorageConformance {
    public struct Check: Sendable, CustomStringConvertible, CustomTestStringConvertible {
        public let name: String
        public let body: @Sendable (StorageFixture) async throws -> Void

        public var description: String { name }
        public var testDescription: String { name }

        public func run(on fixture: StorageFixture) async throws {
            try await body(fixture)
        }
    }

    public static let checks: [Check] = [
        Check(name: "create, get, update, delete and revisions", body: crud),
        Check(name: "preconditions and conflicts", body: preconditions),
        Check(name: "reads at a past revision", body: readsAtRevision),
        Check(name: "argument and value size checks", body: limits),
        Check(name: "prefix ranges by bytes", body: prefixRanges),
        Check(name: "list pagination at a fixed revision while writes continue", body: paginationDuringWrites),
        Check(name: "watch replays exactly the missed events, then live ones", body: watchReplay),
        Check(name: "watch from every past revision", body: watchFromEveryRevision),
        Check(name: "watch progress notifications", body: watchProgress),
        Check(name: "live watches match prefixes by bytes, not path segments", body: watchPrefixesByBytes),
        Check(name: "watch cancellation", body: watchCancellation),
        Check(name: "compaction, then compacted", body: compaction),
        Check(name: "lease expiry and revocation", body: leases),
        Check(name: "concurrent writers: no lost or duplicated revision", body: concurrentWriters),
        Check(name: "concurrent read-modify-write: no lost update", body: concurrentIncrements),
    ]
}
