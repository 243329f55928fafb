import Synchronization

/// A thread-safe cache of objects keyed by ``ObjectKey``, with indexes (see ``Indexer``).
/// Informers fill it; controllers read it (`get`, `list`, `byIndex`) and never write to it.
public final class Store<Object: Sendable>: Sendable {
    struct State {
        var objects: [ObjectKey: Object] = [:]
        /// index name -> index value -> keys.
        var indexes: [String: [String: Set<ObjectKey>]] = [:]
        /// index name -> key -> the values it is indexed under.
        var indexedValues: [String: [ObjectKey: [String]]] = [:]
    }

    public let accessor: ObjectAccessor<Object>
    private let indexers: [Indexer<Object>]
    private let state = Mutex(State())

    public init(accessor: ObjectAccessor<Object>, indexers: [Indexer<Object>] = []) {
        self.accessor = accessor
        self.indexers = indexers
    }

    // MARK: Reads

    public func get(_ key: ObjectKey) -> Object? {
        state.withLock { $0.objects[key] }
    }

    public func get(namespace: String?, name: String) -> Object? {
        get(ObjectKey(namespace: namespace, name: name))
    }

    public var count: Int { state.withLock { $0.objects.count } }

    public func list() -> [Object] {
        state.withLock { Array($0.objects.values) }
    }

    public func keys() -> [ObjectKey] {
        state.withLock { Array($0.objects.keys) }
    }

    /// Objects whose index `name` has `value`. An unknown index yields nothing.
    public func byIndex(_ name: String, _ value: String) -> [Object] {
        state.withLock { state in
            guard let keys = state.indexes[name]?[value] else { return [] }
            return keys.compactMap { state.objects[$0] }
        }
    }

    /// Objects in `namespace` (through the namespace index when there is one).
    public func list(namespace: String) -> [Object] {
        if indexers.contains(where: { $0.name == IndexName.namespace }) {
            return byIndex(IndexName.namespace, namespace)
        }
        return list().filter { accessor.key($0).namespace == namespace }
    }

    // MARK: Writes (the informer's)

    /// Inserts or replaces the object; returns the one it replaced.
    @discardableResult
    public func upsert(_ object: Object) -> Object? {
        let key = accessor.key(object)
        let values = indexers.map { ($0.name, $0.values(object)) }
        return state.withLock { state in
            let old = state.objects.updateValue(object, forKey: key)
            for (name, newValues) in values {
                Self.unindex(&state, name: name, key: key)
                guard !newValues.isEmpty else { continue }
                state.indexedValues[name, default: [:]][key] = newValues
                for value in newValues { state.indexes[name, default: [:]][value, default: []].insert(key) }
            }
            return old
        }
    }

    /// Removes the object under `key`; returns it.
    @discardableResult
    public func remove(_ key: ObjectKey) -> Object? {
        state.withLock { state in
            guard let old = state.objects.removeValue(forKey: key) else { return nil }
            for indexer in indexers { Self.unindex(&state, name: indexer.name, key: key) }
            return old
        }
    }

    private static func unindex(_ state: inout State, name: String, key: ObjectKey) {
        guard let old = state.indexedValues[name]?.removeValue(forKey: key) else { return }
        for value in old {
            state.indexes[name]?[value]?.remove(key)
            if state.indexes[name]?[value]?.isEmpty == true { state.indexes[name]?[value] = nil }
        }
    }
}
