import CapstanAPI
import CapstanClient
import Logging
import Synchronization

/// Hands out one ``Informer`` per resource, shared by every controller of a process, and runs
/// them all (``run()``), including informers asked for after it started.
///
/// Every informer keeps the namespace, controller-UID and owner-UID indexes (``IndexName``);
/// pod informers also index `spec.nodeName`.
public final class SharedInformerFactory: Sendable {
    private struct State {
        var informers: [String: any Sendable] = [:]
        var runs: [@Sendable () async -> Void] = []
        var running = false
    }

    public let client: APIClient
    private let logger: Logger
    private let pageSize: Int
    private let watchTimeout: Duration
    private let state = Mutex(State())
    private let newRuns: AsyncStream<@Sendable () async -> Void>
    private let newRunsContinuation: AsyncStream<@Sendable () async -> Void>.Continuation

    public init(client: APIClient, pageSize: Int = 500, watchTimeout: Duration = .seconds(300), logger: Logger? = nil) {
        self.client = client
        self.logger = logger ?? Logger(label: "capstan.controllers")
        self.pageSize = pageSize
        self.watchTimeout = watchTimeout
        (newRuns, newRunsContinuation) = AsyncStream.makeStream()
    }

    /// The informer of a built-in (or custom, typed) kind, across all namespaces.
    public func informer<T: APIObject>(_ type: T.Type) -> Informer<T> {
        let id = "typed:" + T.resource.apiVersion + "/" + T.resource.plural
        return shared(id) {
            var indexers = Indexer<T>.standard(.typed)
            if let nodeName = Indexer<CoreV1.Pod>.nodeName as? Indexer<T> { indexers.append(nodeName) }
            let source = ListWatcher(client: client, T.self, pageSize: pageSize, watchTimeout: watchTimeout, logger: logger)
            return Informer(source: source, accessor: .typed, indexers: indexers, logger: logger)
        }
    }

    /// The informer of raw JSON objects of any resource (generic controllers: garbage collector, namespace).
    public func informer(resource: APIResource) -> Informer<JSONValue> {
        let id = "json:" + resource.apiVersion + "/" + resource.plural
        return shared(id) {
            let source = ListWatcher(client: client, resource: resource, pageSize: pageSize, watchTimeout: watchTimeout, logger: logger)
            return Informer(source: source, accessor: .json, indexers: Indexer<JSONValue>.standard(.json), logger: logger)
        }
    }

    /// How many resources have an informer (each is one list+watch).
    public var informerCount: Int { state.withLock { $0.informers.count } }

    /// The metadata of a resource's objects, from the typed informer when the resource has a
    /// built-in type (shared with the controllers that use it), else from a JSON informer.
    public func metadataInformer(resource: APIResource) -> MetadataInformer {
        func typed<T: APIObject>(_ type: T.Type) -> MetadataInformer {
            MetadataInformer(resource: resource, typed: informer(type))
        }
        if let type = Self.builtInTypes[resource.apiVersion + "/" + resource.plural] {
            return typed(type)
        }
        return MetadataInformer(resource: resource, json: informer(resource: resource))
    }

    private static let builtInTypes: [String: any APIObject.Type] = Dictionary(
        BuiltInAPIObjects.all.map { ($0.resource.apiVersion + "/" + $0.resource.plural, $0) }, uniquingKeysWith: { first, _ in first })

    private func shared<T: Sendable>(_ id: String, make: () -> Informer<T>) -> Informer<T> {
        let (informer, startNow) = state.withLock { state -> (Informer<T>, Bool) in
            if let existing = state.informers[id] as? Informer<T> { return (existing, false) }
            let informer = make()
            state.informers[id] = informer
            if state.running { return (informer, true) }
            state.runs.append { await informer.run() }
            return (informer, false)
        }
        if startNow { newRunsContinuation.yield { await informer.run() } }
        return informer
    }

    /// Runs every informer, and those created later, until the task is cancelled.
    public func run() async {
        let runs = state.withLock { state -> [@Sendable () async -> Void]? in
            if state.running { return nil }
            state.running = true
            defer { state.runs = [] }
            return state.runs
        }
        guard let runs else {
            logger.warning("SharedInformerFactory.run() called twice; the second call does nothing")
            return
        }
        await withDiscardingTaskGroup { group in
            for run in runs { group.addTask { await run() } }
            for await run in newRuns {
                group.addTask { await run() }
            }
            group.cancelAll()
        }
    }
}
