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
        var nextID = 0
        var closed: StorageError?
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
            state.watchers[id] = Watcher(prefix: prefix, minRevision: max(after, state.published), channel: channel)
            return (channel, after < state.published ? state.published : nil)
        }
    }

    private func remove(_ id: Int) {
        state.withLock { _ = $0.watchers.removeValue(forKey: id) }
    }

    /// Sends a committed batch (events in revision order) to the matching watchers.
    func publish(_ events: [WatchEvent], through revision: Int64) {
        state.withLock { state in
            if !events.isEmpty {
                for (id, watcher) in state.watchers {
                    for event in events where event.revision > watcher.minRevision {
                        guard StorageKey.hasPrefix(event.key, watcher.prefix) else { continue }
                        if !watcher.channel.send(.event(event)) {
                            state.watchers[id] = nil
                            break
                        }
                    }
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
                if !watcher.channel.send(.progress(revision: revision)) { state.watchers[id] = nil }
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
            return channels
        }
        for channel in channels { channel.finish(throwing: error) }
    }
}
