import CapstanStorage
import Synchronization

/// Fans committed changes out to the watchers of one `SQLiteStorage`, in revision order.
///
/// The writer thread publishes each committed batch here before acknowledging it, so
/// `published` is the revision every live watcher has been sent. A watcher from an older
/// revision replays `(after, published-at-registration]` from the table (`SQLiteWatcher`)
/// while live events after that point queue in its channel: no gap, no duplicate.
final class SQLiteWatchHub: Sendable {
    private struct Watcher {
        var prefix: String
        var minRevision: Int64
        var channel: WatchChannel
    }

    private struct State {
        var published: Int64
        var compactRevision: Int64
        var watchers: [Int: Watcher] = [:]
        /// Watchers whose prefix is empty or ends in `/` (every watch the registry makes), by
        /// prefix: an event finds them through the `/`-ended prefixes of its key, not by a
        /// scan of every watcher.
        var bySegmentPrefix: [String: Set<Int>] = [:]
        /// Watchers with any other prefix, matched byte by byte.
        var otherPrefixes: Set<Int> = []
        var nextID = 0
        var closed: StorageError?

        static func isSegmentPrefix(_ prefix: String) -> Bool { prefix.isEmpty || prefix.utf8.last == UInt8(ascii: "/") }

        mutating func add(_ id: Int, _ watcher: Watcher) {
            watchers[id] = watcher
            if Self.isSegmentPrefix(watcher.prefix) {
                bySegmentPrefix[watcher.prefix, default: []].insert(id)
            } else {
                otherPrefixes.insert(id)
            }
        }

        mutating func remove(_ id: Int) {
            guard let watcher = watchers.removeValue(forKey: id) else { return }
            if Self.isSegmentPrefix(watcher.prefix) {
                bySegmentPrefix[watcher.prefix]?.remove(id)
                if bySegmentPrefix[watcher.prefix]?.isEmpty == true { bySegmentPrefix[watcher.prefix] = nil }
            } else {
                otherPrefixes.remove(id)
            }
        }

        /// The watchers whose prefix `key` starts with.
        func matching(_ key: String) -> [Int] {
            var ids: [Int] = []
            if let all = bySegmentPrefix[""] { ids.append(contentsOf: all) }
            let utf8 = key.utf8
            var index = utf8.startIndex
            while let slash = utf8[index...].firstIndex(of: UInt8(ascii: "/")) {
                index = utf8.index(after: slash)
                if let found = bySegmentPrefix[String(key[..<index])] { ids.append(contentsOf: found) }
            }
            for id in otherPrefixes {
                if let watcher = watchers[id], StorageKey.hasPrefix(key, watcher.prefix) { ids.append(id) }
            }
            return ids
        }
    }

    private let state: Mutex<State>
    let bufferLimit: Int

    init(published: Int64, compactRevision: Int64, bufferLimit: Int) {
        self.state = Mutex(State(published: published, compactRevision: compactRevision))
        self.bufferLimit = bufferLimit
    }

    /// Registers a watcher. Returns its channel and, when it needs history from the table,
    /// the revision up to which it must replay (inclusive) before reading the channel.
    func register(prefix: String, after: Int64) throws(StorageError) -> (channel: WatchChannel, replayThrough: Int64?) {
        try state.withLock { state throws(StorageError) in
            if let closed = state.closed { throw closed }
            if after < state.compactRevision {
                throw .compacted(requested: after, compactRevision: state.compactRevision)
            }
            let id = state.nextID
            state.nextID += 1
            let channel = WatchChannel(limit: bufferLimit, onCancel: { [weak self] in self?.remove(id) })
            state.add(id, Watcher(prefix: prefix, minRevision: max(after, state.published), channel: channel))
            return (channel, after < state.published ? state.published : nil)
        }
    }

    private func remove(_ id: Int) {
        state.withLock { $0.remove(id) }
    }

    /// Sends a committed batch (events in revision order) to the matching watchers.
    func publish(_ events: [WatchEvent], through revision: Int64) {
        state.withLock { state in
            // Events in revision order; each watcher's in that order too.
            for event in events {
                for id in state.matching(event.key) {
                    guard let watcher = state.watchers[id], event.revision > watcher.minRevision else { continue }
                    if !watcher.channel.send(.event(event)) { state.remove(id) }
                }
            }
            state.published = max(state.published, revision)
        }
    }

    func setCompactRevision(_ revision: Int64) {
        state.withLock { $0.compactRevision = max($0.compactRevision, revision) }
    }

    func requestProgress() throws(StorageError) {
        try state.withLock { state throws(StorageError) in
            if let closed = state.closed { throw closed }
            let revision = state.published
            for (id, watcher) in state.watchers where watcher.minRevision <= revision {
                if !watcher.channel.send(.progress(revision: revision)) { state.remove(id) }
            }
        }
    }

    var publishedRevision: Int64 { state.withLock { $0.published } }

    /// Ends every watch with `error`; later registrations throw it.
    func close(_ error: StorageError) {
        let channels = state.withLock { state in
            state.closed = error
            let channels = state.watchers.values.map(\.channel)
            state.watchers = [:]
            state.bySegmentPrefix = [:]
            state.otherPrefixes = []
            return channels
        }
        for channel in channels { channel.finish(throwing: error) }
    }
}
