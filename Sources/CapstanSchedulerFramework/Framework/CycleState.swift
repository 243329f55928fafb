import Synchronization

/// Data a plugin stores in the `CycleState` during one scheduling cycle. `clone()` must copy
/// what `PreFilterExtensions.addPod/removePod` change, since preemption and nominated pods
/// evaluate on copies.
public protocol StateData: AnyObject {
    func clone() -> any StateData
}

private let nextStateKeyIndex = Atomic<Int>(0)

/// A typed slot in the `CycleState`. Create one per plugin and kind of data, once (as an
/// instance or static constant); reads are an array index, no hashing, no dynamic cast.
public struct StateKey<Value: StateData>: Sendable, Hashable {
    @usableFromInline let index: Int

    public init() {
        index = nextStateKeyIndex.add(1, ordering: .relaxed).oldValue
    }
}

/// Per-cycle storage shared by the plugins of one profile, as Kubernetes' `CycleState`,
/// plus the plugins a PreFilter or PreScore "Skip" switched off for this pod.
public final class CycleState {
    @exclusivity(unchecked) @usableFromInline var storage: [(any StateData)?]
    /// The snapshot the cycle runs against.
    public let snapshot: Snapshot
    /// Bit i set: filter plugin i of the profile is skipped for this cycle.
    @exclusivity(unchecked) public var skipFilterPlugins: UInt64 = 0
    /// Bit i set: score plugin i of the profile is skipped for this cycle.
    @exclusivity(unchecked) public var skipScorePlugins: UInt64 = 0

    public init(snapshot: Snapshot) {
        self.snapshot = snapshot
        storage = []
    }

    @inlinable
    public func read<T>(_ key: StateKey<T>) -> T? {
        guard key.index < storage.count, let value = storage[key.index] else { return nil }
        return unsafeDowncast(value, to: T.self)
    }

    public func write<T>(_ key: StateKey<T>, _ value: T) {
        if key.index >= storage.count {
            storage.append(contentsOf: repeatElement(nil, count: key.index + 1 - storage.count))
        }
        storage[key.index] = value
    }

    public func delete<T>(_ key: StateKey<T>) {
        if key.index < storage.count { storage[key.index] = nil }
    }

    /// A copy whose data are cloned, for evaluating "what if" (nominated pods, preemption).
    public func clone() -> CycleState {
        let c = CycleState(snapshot: snapshot)
        c.storage = storage.map { $0?.clone() }
        c.skipFilterPlugins = skipFilterPlugins
        c.skipScorePlugins = skipScorePlugins
        return c
    }
}
