import CapstanStorage
import Synchronization

/// A watch that starts in the past: it first reads `(after, through]` from the table in
/// chunks, on demand (so a slow consumer holds back the reading, not memory), then hands
/// over to its channel, where the hub has been queueing the live events after `through`.
final class SQLiteWatcher: WatchSource {
    private struct Replay {
        var cursor: Int64
        var pending: [WatchEvent] = []
        var index = 0
        var done = false
    }

    static let chunk = 512

    private let channel: WatchChannel
    private let readers: SQLiteReadPool
    private let prefix: String
    private let through: Int64
    private let replay: Mutex<Replay>

    init(channel: WatchChannel, readers: SQLiteReadPool, prefix: String, after: Int64, through: Int64) {
        self.channel = channel
        self.readers = readers
        self.prefix = prefix
        self.through = through
        self.replay = Mutex(Replay(cursor: after))
    }

    func next() async throws -> WatchMessage? {
        while true {
            enum Step { case message(WatchMessage), live, fetch(Int64) }
            let step: Step = replay.withLock { replay in
                if replay.index < replay.pending.count {
                    replay.index += 1
                    return .message(.event(replay.pending[replay.index - 1]))
                }
                return replay.done ? .live : .fetch(replay.cursor)
            }
            switch step {
            case .message(let message):
                return message
            case .live:
                return try await channel.next()
            case .fetch(let cursor):
                if Task.isCancelled {
                    cancel()
                    return nil
                }
                if channel.isEnded {
                    // Cancelled, or fell behind: the channel says which.
                    replay.withLock { $0.done = true }
                    continue
                }
                let events: [WatchEvent]
                do {
                    events = try readers.read { connection throws(StorageError) in
                        let (_, compacted) = try connection.revisions()
                        if cursor < compacted {
                            throw .compacted(requested: cursor, compactRevision: compacted)
                        }
                        return try connection.readChanges(prefix: prefix, after: cursor, through: through, limit: Self.chunk)
                    }
                } catch {
                    cancel()
                    throw error
                }
                replay.withLock { replay in
                    replay.pending = events
                    replay.index = 0
                    if events.count < Self.chunk {
                        replay.cursor = through
                        replay.done = true
                    } else {
                        replay.cursor = events[events.count - 1].revision
                    }
                }
            }
        }
    }

    func cancel() {
        replay.withLock { replay in
            replay.done = true
            replay.pending = []
            replay.index = 0
        }
        channel.cancel()
    }
}
