import NIOCore
import NIOHTTP1
import Synchronization

/// An API server in this process that answers a client without a connection: the server's own
/// scheduler and controllers (as kube-apiserver's loopback client serves its post-start hooks).
/// Requests take the server's whole path (routing, authorization, admission, storage, the
/// watch cache); only TLS, HTTP framing and the event-loop hops are left out. Set
/// ``ClientConfiguration/localTransport`` to use one.
public protocol LocalTransport: Sendable {
    /// Answers one request; `uri` is the path with its percent-encoded query.
    func respond(method: HTTPMethod, uri: String, headers: HTTPHeaders, body: [UInt8]) async -> LocalResponse
}

/// A response of a ``LocalTransport``: its bytes, or a stream the server writes (watches).
public struct LocalResponse: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        case stream(LocalByteStream)
    }

    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: Body

    public init(status: HTTPResponseStatus, headers: HTTPHeaders, body: Body) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// The body of a streamed local response, from the server's writer to the client's reader.
/// The writer waits while `limit` bytes are unread, so a slow reader slows the server (as TCP
/// would) instead of growing a buffer. Closing it (the reader left) makes the writer's next
/// write throw and runs `onClose`, which cancels the server's producer.
public final class LocalByteStream: Sendable {
    private struct State {
        var chunks: [[UInt8]] = []
        var readIndex = 0
        var unread = 0
        /// Set when the writer finished: nil for a complete body, else the failure.
        var end: Result<Void, any Error>?
        var closed = false
        var reader: CheckedContinuation<[UInt8]?, any Error>?
        var writer: CheckedContinuation<Void, any Error>?
        var onClose: (@Sendable () -> Void)?

        mutating func take() -> [UInt8] {
            let chunk = chunks[readIndex]
            chunks[readIndex] = []
            readIndex += 1
            unread -= chunk.count
            if readIndex == chunks.count {
                chunks.removeAll(keepingCapacity: true)
                readIndex = 0
            }
            return chunk
        }
    }

    private let state = Mutex(State())
    public let limit: Int

    public init(limit: Int = 1 << 20) {
        self.limit = limit
    }

    /// Called once when the reader closes the stream before the writer finished.
    public func setOnClose(_ action: @escaping @Sendable () -> Void) {
        let closedAlready = state.withLock { s -> Bool in
            if s.closed { return true }
            s.onClose = action
            return false
        }
        if closedAlready { action() }
    }

    // MARK: Writer

    /// Hands a chunk to the reader; waits while too much is unread. Throws `CancellationError`
    /// once the reader closed the stream.
    public func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        let (reader, mustWait) = try state.withLock { s throws -> (CheckedContinuation<[UInt8]?, any Error>?, Bool) in
            if s.closed { throw CancellationError() }
            if let reader = s.reader {
                s.reader = nil
                return (reader, false)
            }
            s.chunks.append(bytes)
            s.unread += bytes.count
            return (nil, s.unread > limit)
        }
        if let reader {
            reader.resume(returning: bytes)
            return
        }
        guard mustWait else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let ready = state.withLock { s -> Result<Void, any Error>? in
                if s.closed { return .failure(CancellationError()) }
                if s.unread <= limit { return .success(()) }
                s.writer = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    /// Ends the body: `error` nil after its last chunk, else the reader gets it after the chunks before it.
    public func finish(throwing error: (any Error)? = nil) {
        let reader = state.withLock { s -> CheckedContinuation<[UInt8]?, any Error>? in
            guard s.end == nil else { return nil }
            s.end = error.map { .failure($0) } ?? .success(())
            s.onClose = nil
            defer { s.reader = nil }
            return s.reader
        }
        if let reader {
            if let error { reader.resume(throwing: error) } else { reader.resume(returning: nil) }
        }
    }

    // MARK: Reader

    /// The next chunk; nil at the end. Cancelling the calling task closes the stream.
    public func next() async throws -> [UInt8]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8]?, any Error>) in
                let (result, writer) = state.withLock { s -> (Result<[UInt8]?, any Error>?, CheckedContinuation<Void, any Error>?) in
                    if s.readIndex < s.chunks.count {
                        let chunk = s.take()
                        var writer: CheckedContinuation<Void, any Error>?
                        if s.unread <= limit, let waiting = s.writer {
                            s.writer = nil
                            writer = waiting
                        }
                        return (.success(chunk), writer)
                    }
                    if s.closed { return (.failure(CancellationError()), nil) }
                    switch s.end {
                    case .success?: return (.success(nil), nil)
                    case .failure(let error)?: return (.failure(error), nil)
                    case nil:
                        s.reader = continuation
                        return (nil, nil)
                    }
                }
                writer?.resume()
                if let result { continuation.resume(with: result) }
            }
        } onCancel: {
            close()
        }
    }

    /// The whole body, read to its end; once `limit` bytes are read, the rest is left and the
    /// stream closed. A failed read closes the stream and throws.
    public func collect(limit: Int = .max) async throws -> [UInt8] {
        var body: [UInt8] = []
        do {
            while body.count < limit, let chunk = try await next() { body += chunk }
        } catch {
            close()
            throw error
        }
        if body.count >= limit { close() }
        return body
    }

    /// The reader is done: pending and later writes fail, and the writer's producer is told.
    public func close() {
        let (reader, writer, onClose) = state.withLock { s in
            if s.closed { return (nil, nil, nil) as (CheckedContinuation<[UInt8]?, any Error>?, CheckedContinuation<Void, any Error>?, (@Sendable () -> Void)?) }
            s.closed = true
            s.chunks.removeAll()
            s.readIndex = 0
            s.unread = 0
            defer {
                s.reader = nil
                s.writer = nil
                s.onClose = nil
            }
            return (s.reader, s.writer, s.onClose)  // nil once the writer finished
        }
        reader?.resume(throwing: CancellationError())
        writer?.resume(throwing: CancellationError())
        onClose?()
    }
}
