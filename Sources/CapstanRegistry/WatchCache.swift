import CapstanAPI
import CapstanStorage
import Synchronization

/// One object as the cache holds it: the bytes served to clients (with resourceVersion) and
/// the few decoded facts selectors need, so lists and watches never decode objects again.
public struct CacheEntry: Sendable {
    public let key: String
    public let namespace: String?
    public let name: String
    /// The object's resourceVersion (its storage mod revision; for a deletion, the delete's).
    public let revision: Int64
    public let bytes: [UInt8]
    public let labels: [String: String]
    /// Field-selector values (`metadata.name`, `spec.nodeName`, ...).
    public let fields: [String: String]

    /// The object parsed again, for callers that need the tree (tables, patches).
    public func object() throws -> JSONValue { try JSONValue.parse(bytes) }
}

/// A page of a cache list (see `WatchCache.page`).
public struct CachePage: Sendable {
    public let entries: [CacheEntry]
    public let revision: Int64
    /// More matching entries follow the page.
    public let more: Bool
    /// Keys of the range after the page, when counted.
    public let remaining: Int?
}

/// A write announced to the cache before it is made (see ``WatchCache/expect(key:value:object:)``).
public struct ExpectedWrite: Sendable {
    let id: Int
    let key: String
    let value: [UInt8]
    let labels: [String: String]
    let fields: [String: String]
}

public struct CacheEvent: Sendable {
    public enum Kind: String, Sendable {
        case added = "ADDED", modified = "MODIFIED", deleted = "DELETED", bookmark = "BOOKMARK"
    }

    public let kind: Kind
    public let entry: CacheEntry
    public let revision: Int64
}

/// What a watcher wants: objects of one namespace (or all) that satisfy a predicate.
public struct WatchFilter: Sendable {
    public var namespace: String?
    public var matches: @Sendable (CacheEntry) -> Bool

    public init(namespace: String?, matches: @escaping @Sendable (CacheEntry) -> Bool = { _ in true }) {
        self.namespace = namespace
        self.matches = matches
    }

    func accepts(_ e: CacheEntry) -> Bool {
        (namespace == nil || e.namespace == namespace) && matches(e)
    }
}

/// A live watch on the cache. Events arrive in revision order; the stream finishes with an
/// error if the watcher falls too far behind or the cache stops.
public struct CacheWatch: Sendable {
    public let events: AsyncThrowingStream<CacheEvent, any Error>
    /// How many of the first events are the initial state (ADDED for current objects).
    public let initialEvents: Int
    /// The cache revision when the watch started.
    public let startRevision: Int64
    let cancel: @Sendable () -> Void

    public func stop() { cancel() }
}

public struct WatchCacheError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable { case tooOld, stopped, slowWatcher }
    public let code: Code
    /// For `.tooOld`: the oldest resourceVersion still watchable.
    public let oldestRevision: Int64
    public let requested: Int64

    public var description: String {
        switch code {
        case .tooOld: return "too old resource version: \(requested) (\(oldestRevision))"
        case .stopped: return "the watch cache stopped"
        case .slowWatcher: return "the watcher could not keep up and was closed"
        }
    }
}

/// The watch cache of one resource: a single storage watch, fanned out to every client watch,
/// and an in-memory copy of every object that answers gets and lists.
public final class WatchCache: Sendable {
    public typealias Extract = @Sendable (_ object: JSONValue) -> (labels: [String: String], fields: [String: String])

    let storage: any StorageBackend
    public let resourceKey: ResourceKey
    let namespaced: Bool
    let extract: Extract
    /// How many past events a watch may resume from.
    let historyCapacity: Int
    /// Pending events a watcher may have before it is closed as too slow.
    let watcherBacklogLimit: Int

    private struct Watcher {
        let filter: WatchFilter
        let continuation: AsyncThrowingStream<CacheEvent, any Error>.Continuation
    }

    private struct State {
        var objects: [String: CacheEntry] = [:]
        /// The keys of `objects` in storage order, for lists.
        var order = KeyOrder()
        var revision: Int64 = 0
        var history: [CacheEvent] = []
        var historyStart = 0
        /// The revision just before the oldest event in history: watches from here on resume exactly.
        var oldestResumable: Int64 = 0
        var watchers: [Int: Watcher] = [:]
        /// Writes about to be made through this cache's registry, by key (the latest one per key).
        var expected: [String: ExpectedWrite] = [:]
        var nextExpectedID = 0
        var nextWatcherID = 0
        var waiters: [(Int64, CheckedContinuation<Void, any Error>)] = []
        var ready = false
        var stopped: (any Error)?
    }

    private let state = Mutex(State())
    /// Watchers whose streams ended (see `watch`), removed from `state` at the next event.
    private let terminated = Mutex<[Int]>([])

    public init(
        storage: any StorageBackend, resourceKey: ResourceKey, namespaced: Bool, extract: @escaping Extract,
        historyCapacity: Int = 10_000, watcherBacklogLimit: Int = 100_000
    ) {
        self.storage = storage
        self.resourceKey = resourceKey
        self.namespaced = namespaced
        self.extract = extract
        self.historyCapacity = historyCapacity
        self.watcherBacklogLimit = watcherBacklogLimit
    }

    // MARK: Running

    /// Lists the resource, then follows the storage watch until cancelled. Relists when the
    /// storage watch fails (for example after compaction), keeping the cache's revision monotonic.
    public func run() async {
        while !Task.isCancelled {
            do {
                let start = try await load()
                let stream = try await storage.watch(prefix: resourceKey.prefix, afterRevision: start)
                for try await message in stream {
                    switch message {
                    case .event(let e): apply(e)
                    case .progress(let revision): advance(to: revision)
                    }
                }
                if Task.isCancelled { break }
            } catch {
                if Task.isCancelled { break }
                // Storage failed or compacted past us: back off briefly, then relist.
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        stop(WatchCacheError(code: .stopped, oldestRevision: 0, requested: 0))
    }

    private func load() async throws -> Int64 {
        var startKey: String? = nil
        var revision: Int64? = nil
        var loaded: [String: CacheEntry] = [:]
        while true {
            let page = try await storage.list(prefix: resourceKey.prefix, startKey: startKey, limit: 5000, atRevision: revision)
            revision = page.revision
            for kv in page.kvs {
                if let e = entry(for: kv) { loaded[kv.key] = e }
            }
            guard page.more, let last = page.kvs.last else { break }
            startKey = last.key + "\u{0}"
        }
        let listRevision = revision ?? 0
        state.withLock { s in
            // A relist replaces the contents; watchers see the difference as events.
            let old = s.objects
            s.objects = [:]
            s.order = KeyOrder()
            for (k, e) in loaded { insert(e, key: k, into: &s) }
            if s.ready {
                for (k, e) in loaded where old[k]?.revision != e.revision {
                    record(CacheEvent(kind: old[k] == nil ? .added : .modified, entry: e, revision: listRevision), previous: old[k], in: &s)
                }
                for (k, e) in old where loaded[k] == nil {
                    let gone = CacheEntry(key: e.key, namespace: e.namespace, name: e.name, revision: listRevision,
                                          bytes: e.bytes, labels: e.labels, fields: e.fields)
                    record(CacheEvent(kind: .deleted, entry: gone, revision: listRevision), previous: e, in: &s)
                }
            } else {
                s.oldestResumable = listRevision
            }
            s.revision = max(s.revision, listRevision)
            s.ready = true
            resumeWaiters(&s)
        }
        return listRevision
    }

    /// The cache's form of a stored key-value (also used for pages read from storage).
    public func makeEntry(_ kv: KeyValue) -> CacheEntry { entry(for: kv)! }

    /// Announces a write about to store `value` (the encoding of `object`) at `key`: when its
    /// storage event arrives with those bytes, the cache takes the labels and fields from here
    /// instead of parsing the value again. Pair with ``written(_:_:)`` or ``abandon(_:)``.
    public func expect(key: String, value: [UInt8], object: JSONValue) -> ExpectedWrite {
        let facts = extract(object)
        let id = state.withLock { s in
            s.nextExpectedID += 1
            s.expected[key] = ExpectedWrite(id: s.nextExpectedID, key: key, value: value, labels: facts.labels, fields: facts.fields)
            return s.nextExpectedID
        }
        return ExpectedWrite(id: id, key: key, value: value, labels: facts.labels, fields: facts.fields)
    }

    /// The entry of an announced write that storage answered with `kv`; the announcement ends.
    public func written(_ kv: KeyValue, _ expected: ExpectedWrite) -> CacheEntry {
        abandon(expected)
        let (namespace, name) = resourceKey.split(kv.key, namespaced: namespaced)
        return CacheEntry(key: kv.key, namespace: namespace, name: name, revision: kv.modRevision,
                          bytes: StoredObject.serve(kv.value, revision: kv.modRevision), labels: expected.labels, fields: expected.fields)
    }

    /// Ends an announcement (the write failed or was not made).
    public func abandon(_ expected: ExpectedWrite) {
        state.withLock { s in
            if s.expected[expected.key]?.id == expected.id { s.expected[expected.key] = nil }
        }
    }

    private func entry(for kv: KeyValue) -> CacheEntry? {
        let (namespace, name) = resourceKey.split(kv.key, namespaced: namespaced)
        let served = StoredObject.serve(kv.value, revision: kv.modRevision)
        let facts = (try? JSONValue.parse(kv.value)).map(extract) ?? (labels: [:], fields: [:])
        return CacheEntry(key: kv.key, namespace: namespace, name: name, revision: kv.modRevision,
                          bytes: served, labels: facts.labels, fields: facts.fields)
    }

    private func apply(_ event: WatchEvent) {
        switch event.kind {
        case .put:
            let announced = state.withLock { s in s.expected[event.kv.key] }
            let e: CacheEntry
            if let announced, announced.value == event.kv.value {
                let (namespace, name) = resourceKey.split(event.kv.key, namespaced: namespaced)
                e = CacheEntry(key: event.kv.key, namespace: namespace, name: name, revision: event.kv.modRevision,
                               bytes: StoredObject.serve(event.kv.value, revision: event.kv.modRevision),
                               labels: announced.labels, fields: announced.fields)
            } else {
                guard let parsed = entry(for: event.kv) else { return }
                e = parsed
            }
            state.withLock { s in
                let previous = s.objects[e.key]
                insert(e, key: e.key, into: &s)
                s.revision = max(s.revision, event.revision)
                record(CacheEvent(kind: previous == nil ? .added : .modified, entry: e, revision: event.revision),
                       previous: previous, in: &s)
                resumeWaiters(&s)
            }
        case .delete:
            state.withLock { s in
                let previous = s.objects[event.key]
                remove(event.key, from: &s)
                s.revision = max(s.revision, event.revision)
                if let previous {
                    // The deleted object is reported in its last state, at the delete's revision.
                    let bytes = StoredObject.serve(event.previous?.value ?? [], revision: event.revision)
                    let gone = CacheEntry(key: previous.key, namespace: previous.namespace, name: previous.name,
                                          revision: event.revision, bytes: event.previous == nil ? previous.bytes : bytes,
                                          labels: previous.labels, fields: previous.fields)
                    record(CacheEvent(kind: .deleted, entry: gone, revision: event.revision), previous: previous, in: &s)
                }
                resumeWaiters(&s)
            }
        }
    }

    private func advance(to revision: Int64) {
        state.withLock { s in
            if revision > s.revision { s.revision = revision }
            resumeWaiters(&s)
        }
    }

    private func insert(_ e: CacheEntry, key: String, into s: inout State) {
        if s.objects.updateValue(e, forKey: key) == nil { s.order.insert(key) }
    }

    private func remove(_ key: String, from s: inout State) {
        if s.objects.removeValue(forKey: key) != nil { s.order.remove(key) }
    }

    /// Appends to history and delivers to matching watchers, turning filter transitions into
    /// ADDED/DELETED as Kubernetes does.
    private func record(_ event: CacheEvent, previous: CacheEntry?, in s: inout State) {
        if s.history.count - s.historyStart >= historyCapacity {
            s.oldestResumable = s.history[s.historyStart].revision
            s.historyStart += 1
            if s.historyStart > historyCapacity {
                s.history.removeFirst(s.historyStart)
                s.historyStart = 0
            }
        }
        s.history.append(CacheEvent(kind: event.kind, entry: event.entry, revision: event.revision))
        dropEnded(&s)
        var slow: [Int] = []
        for (id, w) in s.watchers {
            guard let delivered = Self.translate(event, previous: previous, for: w.filter) else { continue }
            if case .dropped = w.continuation.yield(delivered) { slow.append(id) }
        }
        for id in slow {
            s.watchers.removeValue(forKey: id)?.continuation.finish(
                throwing: WatchCacheError(code: .slowWatcher, oldestRevision: 0, requested: 0))
        }
    }

    /// Removes the watchers whose streams ended (noted by `watch`'s `onTermination`): at every
    /// event and every new watch, so they neither receive events nor pile up while none come.
    private func dropEnded(_ s: inout State) {
        for id in terminated.withLock({ t in defer { t.removeAll() }; return t }) {
            s.watchers.removeValue(forKey: id)
        }
    }

    static func translate(_ event: CacheEvent, previous: CacheEntry?, for filter: WatchFilter) -> CacheEvent? {
        let now = event.kind != .deleted && filter.accepts(event.entry)
        let before = previous.map(filter.accepts) ?? false
        switch (event.kind, before, now) {
        case (.deleted, true, _): return event
        case (.deleted, false, _): return nil
        case (_, false, true): return CacheEvent(kind: .added, entry: event.entry, revision: event.revision)
        case (_, true, true): return CacheEvent(kind: .modified, entry: event.entry, revision: event.revision)
        case (_, true, false): return CacheEvent(kind: .deleted, entry: event.entry, revision: event.revision)
        default: return nil
        }
    }

    private func resumeWaiters(_ s: inout State) {
        guard !s.waiters.isEmpty else { return }
        let rev = s.revision
        var keep: [(Int64, CheckedContinuation<Void, any Error>)] = []
        for (target, c) in s.waiters {
            if target <= rev && s.ready { c.resume() } else { keep.append((target, c)) }
        }
        s.waiters = keep
    }

    private func stop(_ error: any Error) {
        state.withLock { s in
            s.stopped = error
            for (_, w) in s.watchers { w.continuation.finish(throwing: error) }
            s.watchers = [:]
            for (_, c) in s.waiters { c.resume(throwing: error) }
            s.waiters = []
        }
    }

    // MARK: Reads

    /// The cache's revision: every write up to it is reflected.
    public var revision: Int64 { state.withLock { $0.revision } }

    /// Waits until the cache reflects every write up to `revision` (read-your-writes).
    public func wait(forRevision revision: Int64) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            state.withLock { s in
                if let error = s.stopped {
                    c.resume(throwing: error)
                } else if s.ready && s.revision >= revision {
                    c.resume()
                } else {
                    s.waiters.append((revision, c))
                }
            }
        }
    }

    /// Waits until the cache has caught up with storage's latest revision. The cache sees only
    /// its own prefix's events, so it asks storage for a progress notification (etcd's
    /// RequestProgress) to learn that nothing else under its prefix is pending.
    public func sync() async throws {
        let current = try await storage.currentRevision()
        if state.withLock({ $0.ready && $0.revision >= current }) { return }
        try await storage.requestWatchProgress()
        try await wait(forRevision: current)
    }

    public func get(namespace: String?, name: String) -> CacheEntry? {
        let key = resourceKey.key(namespace: namespace, name: name)
        return state.withLock { $0.objects[key] }
    }

    /// Entries in key order, filtered, with the revision they reflect.
    public func list(filter: WatchFilter) -> (entries: [CacheEntry], revision: Int64) {
        let page = page(filter: filter, startKey: nil, limit: nil, countRemaining: false)!
        return (page.entries, page.revision)
    }

    /// One page of a list: entries in key order from `startKey` (inclusive), at most `limit`
    /// of them, whether more match after them, and (when `countRemaining`) how many keys of the
    /// range follow the page, selectors not applied (as `remainingItemCount` counts). With
    /// `ifRevision`, nil unless the cache is exactly at that revision (a continuation served
    /// from the snapshot its first page saw).
    public func page(filter: WatchFilter, startKey: String?, limit: Int?, countRemaining: Bool,
                     ifRevision: Int64? = nil) -> CachePage? {
        state.withLock { s in
            if let ifRevision, ifRevision != s.revision || !s.ready { return nil }
            let prefix = filter.namespace.map { resourceKey.prefix(namespace: $0) } ?? resourceKey.prefix
            let range = s.order.range(prefix: prefix)
            var i = startKey.map { s.order.position(of: $0, in: range) } ?? range.lowerBound
            var out: [CacheEntry] = []
            if let limit { out.reserveCapacity(min(limit, range.count)) }
            var more = false
            while i < range.upperBound {
                guard let e = s.objects[s.order[i]] else { i += 1; continue }
                if filter.matches(e) {
                    if let limit, out.count == limit { more = true; break }
                    out.append(e)
                }
                i += 1
            }
            return CachePage(entries: out, revision: s.revision, more: more,
                             remaining: more && countRemaining ? range.upperBound - i : nil)
        }
    }

    public var count: Int { state.withLock { $0.objects.count } }

    /// Writes announced and not yet answered or abandoned.
    var pendingExpectedWrites: Int { state.withLock { $0.expected.count } }

    // MARK: Watches

    /// Starts a watch. `after` nil: ADDED events for every current object first (Kubernetes'
    /// resourceVersion "0"/unset semantics), then changes. Otherwise: every change after that
    /// revision, or `.tooOld` if it is before the history the cache keeps.
    public func watch(filter: WatchFilter, after: Int64?) throws -> CacheWatch {
        let (stream, continuation) = AsyncThrowingStream<CacheEvent, any Error>.makeStream(
            bufferingPolicy: .bufferingOldest(watcherBacklogLimit))
        var initial = 0
        var startRevision: Int64 = 0
        let id: Int = try state.withLock { s in
            if let error = s.stopped { throw error }
            if let after, after > 0 {
                guard after >= s.oldestResumable else {
                    throw WatchCacheError(code: .tooOld, oldestRevision: s.oldestResumable, requested: after)
                }
                // Replay history after the requested revision; history holds raw events, so
                // re-derive transitions against the object state just before each event.
                var lastSeen: [String: CacheEntry] = [:]
                for i in s.historyStart..<s.history.count {
                    let e = s.history[i]
                    if e.revision <= after {
                        if e.kind == .deleted { lastSeen[e.entry.key] = nil } else { lastSeen[e.entry.key] = e.entry }
                        continue
                    }
                    let previous = lastSeen[e.entry.key] ?? previousState(of: e, before: i, in: s)
                    if let delivered = Self.translate(e, previous: previous, for: filter) {
                        continuation.yield(delivered)
                    }
                    if e.kind == .deleted { lastSeen[e.entry.key] = nil } else { lastSeen[e.entry.key] = e.entry }
                }
            } else {
                for e in s.objects.values where filter.accepts(e) {
                    continuation.yield(CacheEvent(kind: .added, entry: e, revision: e.revision))
                    initial += 1
                }
            }
            startRevision = s.revision
            dropEnded(&s)
            let id = s.nextWatcherID
            s.nextWatcherID += 1
            s.watchers[id] = Watcher(filter: filter, continuation: continuation)
            return id
        }
        let cancel: @Sendable () -> Void = { [weak self] in
            self?.state.withLock { s in _ = s.watchers.removeValue(forKey: id) }
            continuation.finish()
        }
        // Runs inside the task's cancellation, which holds the task's lock; events are yielded
        // (resuming that task) under `state`'s lock. Taking `state` here could deadlock, so the
        // watcher is only noted, and dropped at the next event or watch.
        continuation.onTermination = { [weak self] _ in
            self?.terminated.withLock { $0.append(id) }
        }
        return CacheWatch(events: stream, initialEvents: initial, startRevision: startRevision, cancel: cancel)
    }

    /// The state of an event's object before history index `index`, looking back through history.
    private func previousState(of event: CacheEvent, before index: Int, in s: State) -> CacheEntry? {
        var i = index - 1
        while i >= s.historyStart {
            let e = s.history[i]
            if e.entry.key == event.entry.key { return e.kind == .deleted ? nil : e.entry }
            i -= 1
        }
        // Unknown before the window: if the event is a modification or deletion, it existed.
        return event.kind == .added ? nil : event.entry
    }

    /// The current revision for a bookmark event.
    public func bookmarkRevision() -> Int64 { revision }
}
