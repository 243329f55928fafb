import NIOCore
import NIOHTTP1
import Synchronization

/// A request as written: head and optional body.
struct HTTPRequest: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?
}

/// A complete response; `keepAlive` says whether the connection may serve another request.
struct HTTPResponse: Sendable {
    var head: HTTPResponseHead
    var body: ByteBuffer
    var keepAlive: Bool
}

/// One keep-alive HTTP/1.1 connection of the pool, serving one request at a time; or one h2
/// stream (on `multiplexed`), serving one request.
final class HTTPConnection: Sendable, Hashable {
    let id: Int
    let channel: any Channel
    /// The h2 connection this stream channel belongs to; nil for an HTTP/1.1 connection.
    let multiplexed: HTTP2Connection?
    private let served = Atomic<Int>(0)
    private let closeReason: CloseReason

    init(id: Int, channel: any Channel, closeReason: CloseReason, multiplexed: HTTP2Connection? = nil) {
        self.id = id
        self.channel = channel
        self.closeReason = closeReason
        self.multiplexed = multiplexed
    }

    /// An h2 stream rather than a connection.
    var isStream: Bool { multiplexed != nil }

    /// True once it has served a request (a failure on it may be a server closing an idle connection).
    var isReused: Bool { served.load(ordering: .relaxed) > 0 }

    /// Adds the handler that runs requests; `onClose` runs when the connection closes, after
    /// `closeReason` holds why (when an error closed it).
    static func configure(_ channel: any Channel, closeReason: CloseReason, onClose: @escaping @Sendable () -> Void) throws {
        try channel.pipeline.syncOperations.addHandler(HTTPConnectionHandler(closeReason: closeReason, onClose: onClose))
    }

    /// Sends the request and collects the whole response. Cancelling the calling task closes the
    /// connection (HTTP/1.1 has no other way to abandon a request).
    func execute(_ request: HTTPRequest, timeout: TimeAmount?) async throws -> HTTPResponse {
        served.add(1, ordering: .relaxed)
        let promise = channel.eventLoop.makePromise(of: HTTPResponse.self)
        let pending = PendingRequest(request: request, promise: promise, timeout: timeout)
        let closeReason = self.closeReason
        channel.writeAndFlush(pending).whenFailure { error in
            // Failed before or while writing: never on the wire if the channel was already closed
            // (a failed TLS handshake closes it before the first write).
            if let error = error as? ChannelError, error == .ioOnClosedChannel {
                promise.fail(closeReason.error.map { APIClientError($0.code, $0.message, status: $0.status, retryHint: .always) }
                    ?? APIClientError(.connectionClosed, "the connection was closed before the request was sent", retryHint: .always))
            } else {
                promise.fail(APIClientError(.connectionClosed, "writing the request failed: \(error)", retryHint: .idempotentOnly))
            }
        }
        let channel = self.channel
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    func close() {
        channel.close(promise: nil)
    }

    static func == (a: HTTPConnection, b: HTTPConnection) -> Bool { a === b }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// What the handler is asked to write: the request and where its response goes.
struct PendingRequest: Sendable {
    var request: HTTPRequest
    var promise: EventLoopPromise<HTTPResponse>
    var timeout: TimeAmount?
}

/// Writes one request at a time and accumulates its response.
final class HTTPConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = PendingRequest
    typealias OutboundOut = HTTPClientRequestPart

    private enum State {
        case idle
        case waitingForHead(EventLoopPromise<HTTPResponse>)
        case receivingBody(EventLoopPromise<HTTPResponse>, HTTPResponseHead, ByteBuffer?)
        case closed
    }

    private var state = State.idle
    private var timer: Scheduled<Void>?
    private let closeReason: CloseReason
    private let onClose: @Sendable () -> Void

    init(closeReason: CloseReason, onClose: @escaping @Sendable () -> Void) {
        self.closeReason = closeReason
        self.onClose = onClose
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let pending = unwrapOutboundIn(data)
        switch state {
        case .idle:
            break
        case .closed:
            pending.promise.fail(APIClientError(.connectionClosed, "the connection was closed before the request was sent", retryHint: .always))
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        case .waitingForHead, .receivingBody:
            pending.promise.fail(APIClientError(.connectionClosed, "the connection is busy", retryHint: .always))
            promise?.succeed(())
            return
        }
        state = .waitingForHead(pending.promise)
        var head = pending.request.head
        if let body = pending.request.body {
            head.headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        } else {
            context.write(wrapOutboundOut(.head(head)), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
        if let timeout = pending.timeout {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: timeout) {
                let (handler, context) = loopBound.value
                handler.timedOut(context: context)
            }
        }
    }

    private func timedOut(context: ChannelHandlerContext) {
        timer = nil
        fail(APIClientError(.timeout, "no complete response within the request timeout", retryHint: .never))
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard case .waitingForHead(let promise) = state else { return }
            // Interim responses (100 Continue) precede the real one.
            if head.status.code >= 100, head.status.code < 200, head.status.code != 101 { return }
            state = .receivingBody(promise, head, nil)
        case .body(var part):
            guard case .receivingBody(let promise, let head, var body) = state else { return }
            state = .closed  // release the buffer's reference while appending
            if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
            state = .receivingBody(promise, head, body)
        case .end:
            guard case .receivingBody(let promise, let head, let body) = state else { return }
            timer?.cancel()
            timer = nil
            // An h2 stream ends by itself once both sides have; closing it now would reset it.
            let keepAlive = head.version.major >= 2 || head.isKeepAlive
            state = keepAlive ? .idle : .closed
            promise.succeed(HTTPResponse(head: head, body: body ?? ByteBuffer(), keepAlive: keepAlive))
            if !keepAlive { context.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let classified = ConnectionFactory.classify(error, context: "connection error")
        closeReason.record(classified)
        fail(classified)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(APIClientError(.connectionClosed, "the server closed the connection before the response was complete", retryHint: .idempotentOnly))
        state = .closed
        onClose()
        context.fireChannelInactive()
    }

    private func fail(_ error: APIClientError) {
        timer?.cancel()
        timer = nil
        switch state {
        case .waitingForHead(let promise), .receivingBody(let promise, _, _):
            state = .closed
            promise.fail(error)
        case .idle, .closed:
            break
        }
    }
}

/// Why a connection closed, when an error closed it (a failed TLS handshake, a reset), for the
/// request that finds it closed.
final class CloseReason: Sendable {
    private let value = Mutex<APIClientError?>(nil)

    var error: APIClientError? { value.withLock { $0 } }

    func record(_ error: APIClientError) {
        value.withLock { if $0 == nil { $0 = error } }
    }
}
