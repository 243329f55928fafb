/// The producer side of a watch, implemented by backends (see `WatchChannel`).
///
/// One consumer at a time calls `next()`; `cancel()` may be called from anywhere, more than
/// once, and must free the watch's resources.
public protocol WatchSource: AnyObject, Sendable {
    /// The next message, waiting for one if needed. Returns nil once the watch was cancelled;
    /// throws (for example `.compacted`) when the backend ends the watch.
    func next() async throws -> WatchMessage?
    /// Stops the watch: later `next()` calls return nil, the backend forgets the watcher.
    func cancel()
}

/// The messages of one watch, in revision order. Single consumer: iterate it from one task.
///
/// The watch is cancelled, and its resources freed, when the iterating task is cancelled,
/// when `cancel()` is called, or when the stream and its iterators are dropped.
public struct WatchStream: AsyncSequence, Sendable {
    public typealias Element = WatchMessage
    public typealias Failure = any Error

    fileprivate final class Handle: Sendable {
        let source: any WatchSource
        init(_ source: any WatchSource) { self.source = source }
        deinit { source.cancel() }
    }

    private let handle: Handle

    public init(_ source: any WatchSource) {
        self.handle = Handle(source)
    }

    /// Ends the watch now.
    public func cancel() {
        handle.source.cancel()
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        public typealias Element = WatchMessage
        public typealias Failure = any Error
        fileprivate let handle: Handle

        public mutating func next() async throws -> WatchMessage? {
            try await handle.source.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(handle: handle)
    }
}
