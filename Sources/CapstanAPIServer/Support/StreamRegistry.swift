import Synchronization

/// Long-running responses (watches) register here so shutdown can end them all.
public final class StreamRegistry: Sendable {
    private struct State {
        var closed = false
        var streams: [Int: @Sendable () -> Void] = [:]
        var next = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Registers `stop`; nil when already shut down (the stream should not start).
    func register(_ stop: @escaping @Sendable () -> Void) -> Int? {
        state.withLock { s in
            if s.closed { return nil }
            let id = s.next
            s.next += 1
            s.streams[id] = stop
            return id
        }
    }

    func unregister(_ id: Int) {
        _ = state.withLock { $0.streams.removeValue(forKey: id) }
    }

    /// Ends every registered stream and refuses new ones.
    public func closeAll() {
        let stops = state.withLock { s in
            s.closed = true
            defer { s.streams = [:] }
            return Array(s.streams.values)
        }
        for stop in stops { stop() }
    }

    public var count: Int { state.withLock { $0.streams.count } }
}
