import Synchronization

/// A single-consumer queue of watch messages that backends push into (from any thread,
/// without blocking) and a `WatchStream` pulls from.
///
/// The queue holds at most `limit` undelivered messages: a watcher that falls further
/// behind is ended with `.unavailable` after the messages already queued, never with a gap.
public final class WatchChannel: WatchSource {
    private enum End {
        case cancelled
        case failed(StorageError)
        case delivered
    }

    private struct State {
        var buffer: [WatchMessage] = []
        var head = 0
        var waiter: CheckedContinuation<WatchMessage?, any Error>?
        var end: End?
        var cancelNotified = false

        var count: Int { buffer.count - head }

        mutating func pop() -> WatchMessage? {
            guard head < buffer.count else { return nil }
            let message = buffer[head]
            head += 1
            if head == buffer.count {
                buffer.removeAll(keepingCapacity: buffer.capacity <= 1024)
                head = 0
            } else if head >= 1024 && head * 2 >= buffer.count {
                buffer.removeFirst(head)
                head = 0
            }
            return message
        }
    }

    public let limit: Int
    private let state = Mutex(State())
    private let onCancel: @Sendable () -> Void

    /// - Parameters:
    ///   - limit: most undelivered messages kept before the watch ends with `.unavailable`.
    ///   - onCancel: called once when the consumer cancels (not when the producer finishes).
    public init(limit: Int = 100_000, onCancel: @escaping @Sendable () -> Void = {}) {
        self.limit = limit
        self.onCancel = onCancel
    }

    /// Queues a message. Returns false when the channel is over its limit (it then ends
    /// with `.unavailable` after the queued messages) or already ended; the producer should
    /// then forget this channel.
    @discardableResult
    public func send(_ message: WatchMessage) -> Bool {
        send(message, ignoringLimit: false)
    }

    /// Queues a message regardless of the limit (for a bounded replay done at registration).
    @discardableResult
    public func sendIgnoringLimit(_ message: WatchMessage) -> Bool {
        send(message, ignoringLimit: true)
    }

    private func send(_ message: WatchMessage, ignoringLimit: Bool) -> Bool {
        enum Outcome { case queued, ended, handOff(CheckedContinuation<WatchMessage?, any Error>) }
        let outcome: Outcome = state.withLock { state in
            if state.end != nil { return .ended }
            if let waiter = state.waiter {
                state.waiter = nil
                return .handOff(waiter)
            }
            if !ignoringLimit && state.count >= limit {
                state.end = .failed(StorageError(
                    .unavailable,
                    "watcher fell behind by more than \(limit) undelivered messages; watch again"))
                return .ended
            }
            state.buffer.append(message)
            return .queued
        }
        switch outcome {
        case .queued: return true
        case .ended: return false
        case .handOff(let waiter):
            waiter.resume(returning: message)
            return true
        }
    }

    /// Ends the watch after the queued messages: with `error` thrown to the consumer, or
    /// normally (`next()` returns nil) when `error` is nil.
    public func finish(throwing error: StorageError? = nil) {
        let waiter: CheckedContinuation<WatchMessage?, any Error>? = state.withLock { state in
            guard state.end == nil else { return nil }
            guard let waiter = state.waiter else {
                state.end = error.map { .failed($0) } ?? .delivered
                return nil
            }
            // A waiting consumer has an empty buffer: hand it the end directly.
            state.waiter = nil
            state.end = .delivered
            return waiter
        }
        if let waiter {
            if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
        }
    }

    /// Whether the channel has ended (finished, failed or cancelled).
    public var isEnded: Bool { state.withLock { $0.end != nil } }

    /// Number of queued, undelivered messages.
    public var queuedCount: Int { state.withLock { $0.count } }

    public func next() async throws -> WatchMessage? {
        if let result = try takeReady() { return result.message }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<WatchMessage?, any Error>) in
                enum Action { case deliver(WatchMessage?), fail(any Error), wait }
                let action: Action = state.withLock { state in
                    if let message = state.pop() { return .deliver(message) }
                    switch state.end {
                    case .failed(let error):
                        state.end = .delivered
                        return .fail(error)
                    case .cancelled, .delivered:
                        return .deliver(nil)
                    case nil:
                        if state.waiter != nil {
                            return .fail(StorageError.invalidArgument(
                                "a watch stream was iterated from two tasks at once"))
                        }
                        state.waiter = continuation
                        return .wait
                    }
                }
                switch action {
                case .deliver(let message): continuation.resume(returning: message)
                case .fail(let error): continuation.resume(throwing: error)
                case .wait: break
                }
            }
        } onCancel: {
            self.cancel()
        }
    }

    private struct Ready { var message: WatchMessage? }

    /// A message or the end, if available without waiting.
    private func takeReady() throws -> Ready? {
        let result: Result<Ready?, StorageError> = state.withLock { state in
            if let message = state.pop() { return .success(Ready(message: message)) }
            switch state.end {
            case .failed(let error):
                state.end = .delivered
                return .failure(error)
            case .cancelled, .delivered:
                return .success(Ready(message: nil))
            case nil:
                return .success(nil)
            }
        }
        return try result.get()
    }

    public func cancel() {
        let (waiter, notify): (CheckedContinuation<WatchMessage?, any Error>?, Bool) = state.withLock { state in
            if state.end == nil { state.end = .cancelled }
            state.buffer = []
            state.head = 0
            let waiter = state.waiter
            state.waiter = nil
            let notify = !state.cancelNotified
            state.cancelNotified = true
            return (waiter, notify)
        }
        waiter?.resume(returning: nil)
        if notify { onCancel() }
    }
}
