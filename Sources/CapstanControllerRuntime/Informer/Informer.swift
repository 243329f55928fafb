import CapstanClient
import Logging
import Synchronization

/// A change an informer delivers to its handlers, after its store holds it.
public enum InformerEvent<Object: Sendable>: Sendable {
    case added(Object)
    case updated(old: Object, new: Object)
    /// The last state the informer knew (after a relist, not necessarily the final one).
    case deleted(Object)

    /// The object as it is now (the new one for updates, the last known for deletes).
    public var object: Object {
        switch self {
        case .added(let o), .deleted(let o): return o
        case .updated(_, let o): return o
        }
    }
}

/// Keeps a ``Store`` in step with the API server through one list+watch (``ListWatcher``:
/// list, watch from the list's resourceVersion, relist on 410) and tells its handlers about
/// every change. Get informers from a ``SharedInformerFactory`` so each resource is watched
/// once per process.
///
/// Handlers run in order on the informer's task and must be quick (typically: enqueue a key).
/// A handler added after the first list is sent an `added` event for every cached object.
public final class Informer<Object: Sendable>: Sendable {
    public typealias Handler = @Sendable (InformerEvent<Object>) -> Void

    public let store: Store<Object>
    private let source: ListWatcher<Object>?
    private let handlers = Mutex<[Handler]>([])
    private let synced = Latch()
    private let logger: Logger

    /// An informer fed by `source`; nil for one fed only through ``process(_:)`` (tests).
    public init(source: ListWatcher<Object>?, accessor: ObjectAccessor<Object>, indexers: [Indexer<Object>],
                logger: Logger = Logger(label: "capstan.informer")) {
        self.source = source
        self.store = Store(accessor: accessor, indexers: indexers)
        self.logger = logger
    }

    /// True once the first list is in the store.
    public var hasSynced: Bool { synced.isOpen }

    /// Returns once the first list is in the store; throws `CancellationError` if cancelled first.
    public func waitForSync() async throws {
        try await synced.wait()
    }

    public func addEventHandler(_ handler: @escaping Handler) {
        // Registration and replay happen under the handlers lock so no event is seen twice or missed.
        handlers.withLock { handlers in
            handlers.append(handler)
            if synced.isOpen {
                for object in store.list() { handler(.added(object)) }
            }
        }
    }

    /// Lists and watches until the task is cancelled.
    public func run() async {
        guard let source else { return }
        do {
            for try await event in source {
                process(event)
            }
        } catch {
            logger.warning("informer stopped: \(error)")
        }
    }

    /// Applies one list-watch event to the store and tells the handlers.
    public func process(_ event: ListWatchEvent<Object>) {
        handlers.withLock { handlers in
            let accessor = store.accessor
            func deliver(_ event: InformerEvent<Object>) {
                for handler in handlers { handler(event) }
            }
            switch event {
            case .added(let object), .modified(let object):
                if let old = store.upsert(object) {
                    deliver(.updated(old: old, new: object))
                } else {
                    deliver(.added(object))
                }
            case .deleted(let object):
                store.remove(accessor.key(object))
                deliver(.deleted(object))
            case .replaced(let objects, _):
                var seen = Set<ObjectKey>()
                seen.reserveCapacity(objects.count)
                for object in objects {
                    seen.insert(accessor.key(object))
                    if let old = store.upsert(object) {
                        if accessor.resourceVersion(old) != accessor.resourceVersion(object) {
                            deliver(.updated(old: old, new: object))
                        }
                    } else {
                        deliver(.added(object))
                    }
                }
                for key in store.keys() where !seen.contains(key) {
                    if let old = store.remove(key) { deliver(.deleted(old)) }
                }
                synced.open()
            }
        }
    }
}
