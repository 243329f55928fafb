import CapstanAPI
import Logging

/// What a ``ListWatcher`` reports: a full list (first, and after every relist), then changes.
public enum ListWatchEvent<Object: Sendable>: Sendable {
    /// Every object there is, at `resourceVersion`: replace what you know with these (objects you
    /// hold that are not here were deleted meanwhile).
    case replaced([Object], resourceVersion: String)
    case added(Object)
    case modified(Object)
    case deleted(Object)
}

/// Lists a resource, then watches it from the list's resourceVersion, for informers: resumes a
/// watch that ended or broke from the last resourceVersion seen (bookmarks advance it), lists
/// again when that resourceVersion expired (410), and backs off after failures. It never ends on
/// its own: iteration stops when the task is cancelled (or the loop is left).
///
/// ```swift
/// for try await event in ListWatcher(client: client, CoreV1.Pod.self) {
///     switch event {
///     case .replaced(let pods, _): store.replace(pods)
///     case .added(let pod), .modified(let pod): store.upsert(pod)
///     case .deleted(let pod): store.remove(pod)
///     }
/// }
/// ```
public struct ListWatcher<Object: Sendable>: AsyncSequence, Sendable {
    public typealias Element = ListWatchEvent<Object>

    let client: APIClient
    let namespace: String?
    let labelSelector: String?
    let fieldSelector: String?
    let pageSize: Int
    let watchTimeout: Duration
    let backoff: ListWatcherBackoff
    let clock: any Clock<Duration>
    let logger: Logger
    private let listPage: @Sendable (APIClient, ListOptions) async throws -> ObjectList<Object>
    private let watch: @Sendable (APIClient, WatchOptions) -> WatchStream<Object>
    private let resourceVersionOf: @Sendable (Object) -> String?

    /// - Parameters:
    ///   - namespace: one namespace, or nil for all.
    ///   - pageSize: objects per list request.
    ///   - watchTimeout: each watch asks the server to end it after between this and twice this
    ///     (spreading reconnects), then resumes.
    ///   - clock: measures the pauses after failures.
    ///   - stripManagedFields: watch events arrive without `metadata.managedFields`, cut before
    ///     decoding (informers that never read them, as kube-scheduler's, save most of the decoding).
    public init(client: APIClient, _ type: Object.Type, namespace: String? = nil, labelSelector: String? = nil,
                fieldSelector: String? = nil, pageSize: Int = 500, watchTimeout: Duration = .seconds(300),
                backoff: ListWatcherBackoff = .init(), clock: any Clock<Duration> = ContinuousClock(),
                stripManagedFields: Bool = false, logger: Logger? = nil) where Object: APIObject {
        self.init(client: client, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector,
                  pageSize: pageSize, watchTimeout: watchTimeout, backoff: backoff, clock: clock,
                  logger: logger ?? client.logger,
                  listPage: { client, options in try await client.list(Object.self, namespace: namespace, options: options) },
                  watch: { client, options in
                      WatchStream(client: client, path: Object.resource.path(namespace: namespace), query: options.query,
                                  decoder: .typed(strippingManagedFields: stripManagedFields))
                  },
                  resourceVersionOf: { $0.objectMeta.resourceVersion })
    }

    /// A list-watch of raw JSON objects of `resource`.
    public init(client: APIClient, resource: APIResource, namespace: String? = nil, labelSelector: String? = nil,
                fieldSelector: String? = nil, pageSize: Int = 500, watchTimeout: Duration = .seconds(300),
                backoff: ListWatcherBackoff = .init(), clock: any Clock<Duration> = ContinuousClock(),
                stripManagedFields: Bool = false, logger: Logger? = nil) where Object == JSONValue {
        self.init(client: client, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector,
                  pageSize: pageSize, watchTimeout: watchTimeout, backoff: backoff, clock: clock,
                  logger: logger ?? client.logger,
                  listPage: { client, options in try await client.list(resource, namespace: namespace, options: options) },
                  watch: { client, options in
                      client.watch(resource, namespace: namespace, options: options, strippingManagedFields: stripManagedFields)
                  },
                  resourceVersionOf: { $0["metadata"]?["resourceVersion"]?.stringValue })
    }

    private init(client: APIClient, namespace: String?, labelSelector: String?, fieldSelector: String?, pageSize: Int,
                 watchTimeout: Duration, backoff: ListWatcherBackoff, clock: any Clock<Duration>, logger: Logger,
                 listPage: @escaping @Sendable (APIClient, ListOptions) async throws -> ObjectList<Object>,
                 watch: @escaping @Sendable (APIClient, WatchOptions) -> WatchStream<Object>,
                 resourceVersionOf: @escaping @Sendable (Object) -> String?) {
        self.client = client
        self.namespace = namespace
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.pageSize = Swift.max(1, pageSize)
        self.watchTimeout = watchTimeout
        self.backoff = backoff
        self.clock = clock
        self.logger = logger
        self.listPage = listPage
        self.watch = watch
        self.resourceVersionOf = resourceVersionOf
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(watcher: self)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let watcher: ListWatcher
        private var core: ListWatchCore
        private var events: WatchStream<Object>.AsyncIterator?

        init(watcher: ListWatcher) {
            self.watcher = watcher
            self.core = ListWatchCore(backoff: watcher.backoff)
        }

        public mutating func next() async throws -> ListWatchEvent<Object>? {
            try await next(isolation: nil)
        }

        /// The next event; nil once the task is cancelled. Failures are retried, not thrown.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> ListWatchEvent<Object>? {
            while !Task.isCancelled {
                if events != nil {
                    do {
                        guard let event = try await events!.next(isolation: actor) else {
                            events = nil
                            core.watchEnded()
                            continue
                        }
                        switch event {
                        case .bookmark(let resourceVersion):
                            core.observed(resourceVersion: resourceVersion)
                        case .added(let object):
                            core.observed(resourceVersion: watcher.resourceVersionOf(object))
                            return .added(object)
                        case .modified(let object):
                            core.observed(resourceVersion: watcher.resourceVersionOf(object))
                            return .modified(object)
                        case .deleted(let object):
                            core.observed(resourceVersion: watcher.resourceVersionOf(object))
                            return .deleted(object)
                        }
                    } catch {
                        events = nil
                        if Task.isCancelled { return nil }
                        if isResourceExpired(error) {
                            watcher.logger.debug("watch expired, listing again: \(error)")
                            core.watchExpired()
                        } else {
                            watcher.logger.debug("watch failed, resuming from \(core.resourceVersion ?? "-"): \(error)")
                            core.watchFailed()
                        }
                    }
                    continue
                }
                switch core.nextStep() {
                case .wait(let delay):
                    do { try await watcher.clock.sleep(for: delay) } catch { return nil }
                case .list:
                    do {
                        let watcher = self.watcher
                        let list = try await APIClient.collectPages(
                            options: ListOptions(labelSelector: watcher.labelSelector, fieldSelector: watcher.fieldSelector),
                            pageSize: watcher.pageSize) { options in
                                try await watcher.listPage(watcher.client, options)
                            }
                        core.listSucceeded(resourceVersion: list.resourceVersion)
                        return .replaced(list.items, resourceVersion: list.resourceVersion)
                    } catch {
                        if Task.isCancelled { return nil }
                        watcher.logger.debug("list failed: \(error)")
                        core.listFailed()
                    }
                case .watch(let resourceVersion):
                    let seconds = Int(watcher.watchTimeout.components.seconds)
                    let timeout = seconds > 0 ? Int.random(in: seconds...(2 * seconds)) : nil
                    let options = WatchOptions(labelSelector: watcher.labelSelector, fieldSelector: watcher.fieldSelector,
                                               resourceVersion: resourceVersion, allowBookmarks: true, timeoutSeconds: timeout)
                    events = watcher.watch(watcher.client, options).makeAsyncIterator()
                }
            }
            return nil
        }
    }
}
