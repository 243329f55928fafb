import NIOCore
import NIOHTTP1

/// A response read chunk by chunk on a connection of its own (watches, and later logs). Reading
/// is pulled: the socket is read only while fewer than a few parts wait, so a slow consumer
/// slows the server's writes through TCP instead of growing a buffer. Closing (or dropping) it
/// closes the connection.
final class StreamingResponse: Sendable {
    private enum Source: Sendable {
        case connection(any Channel, NIOLoopBound<HTTPStreamHandler>)
        /// A server in this process (``LocalTransport``).
        case local(LocalByteStream)
    }

    let head: HTTPResponseHead
    private let source: Source

    init(head: HTTPResponseHead, channel: any Channel, handler: NIOLoopBound<HTTPStreamHandler>) {
        self.head = head
        self.source = .connection(channel, handler)
    }

    init(head: HTTPResponseHead, local: LocalByteStream) {
        self.head = head
        self.source = .local(local)
    }

    deinit {
        close()
    }

    /// The next chunk of the body; nil at its end. Cancelling the calling task closes the connection.
    func nextChunk() async throws -> ByteBuffer? {
        switch source {
        case .connection(let channel, let handler):
            return try await Self.nextBodyChunk(channel: channel, handler: handler)
        case .local(let stream):
            return try await stream.next().map { ByteBuffer(bytes: $0) }
        }
    }

    func close() {
        switch source {
        case .connection(let channel, let handler): Self.close(channel, handler)
        case .local(let stream): stream.close()
        }
    }

    /// Closes the connection, or resets the h2 stream unless its response is complete (the
    /// stream then closes by itself; a reset would be one more RST_STREAM the server counts).
    private static func close(_ channel: any Channel, _ handler: NIOLoopBound<HTTPStreamHandler>) {
        guard channel.parent != nil else {
            channel.close(promise: nil)
            return
        }
        channel.eventLoop.execute {
            if !handler.value.isComplete { channel.close(promise: nil) }
        }
    }

    static func nextPart(channel: any Channel, handler: NIOLoopBound<HTTPStreamHandler>) async throws -> HTTPClientResponsePart? {
        try await withTaskCancellationHandler {
            try await channel.eventLoop.flatSubmit { handler.value.next() }.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    static func nextBodyChunk(channel: any Channel, handler: NIOLoopBound<HTTPStreamHandler>) async throws -> ByteBuffer? {
        while true {
            switch try await nextPart(channel: channel, handler: handler) {
            case .body(let buffer)?: return buffer
            case .end?, nil: return nil
            case .head?: throw APIClientError(.invalidResponse, "a second response head in one response")
            }
        }
    }
}

/// Buffers response parts until ``next()`` asks for them, holding back socket reads while
/// `highWatermark` parts wait.
final class HTTPStreamHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPRequest
    typealias OutboundOut = HTTPClientRequestPart

    private let highWatermark = 8
    private var buffer = CircularBuffer<HTTPClientResponsePart>()
    private var waiter: EventLoopPromise<HTTPClientResponsePart?>?
    /// Set once the connection ends: nil after a complete response, else the failure.
    private var terminal: Result<Void, any Error>?
    private var sawEnd = false
    /// The whole response has arrived.
    var isComplete: Bool { sawEnd }
    private var readHeld = false
    private var context: ChannelHandlerContext?
    private let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        finish(.failure(APIClientError(.connectionClosed, "the stream's handler was removed")))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        var head = request.head
        if let body = request.body {
            head.headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        } else {
            context.write(wrapOutboundOut(.head(head)), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        if buffer.count >= highWatermark {
            readHeld = true
        } else {
            context.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if case .end = part { sawEnd = true }
        if let waiter {
            self.waiter = nil
            waiter.succeed(part)
        } else {
            buffer.append(part)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(ConnectionFactory.classify(error, context: "stream error")))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if sawEnd {
            finish(.success(()))
        } else {
            finish(.failure(APIClientError(.connectionClosed, "the server closed the stream", retryHint: .idempotentOnly)))
        }
        context.fireChannelInactive()
    }

    private func finish(_ result: Result<Void, any Error>) {
        if terminal == nil { terminal = result }
        if let waiter {
            self.waiter = nil
            switch terminal! {
            case .success: waiter.succeed(nil)
            case .failure(let error): waiter.fail(error)
            }
        }
    }

    /// The next part; nil after the connection closed following a complete response.
    func next() -> EventLoopFuture<HTTPClientResponsePart?> {
        if let part = buffer.popFirst() {
            if readHeld, buffer.count < highWatermark / 2 {
                readHeld = false
                context?.read()
            }
            return eventLoop.makeSucceededFuture(part)
        }
        if let terminal {
            switch terminal {
            case .success: return eventLoop.makeSucceededFuture(nil)
            case .failure(let error): return eventLoop.makeFailedFuture(error)
            }
        }
        let promise = eventLoop.makePromise(of: HTTPClientResponsePart?.self)
        waiter = promise
        if readHeld {
            readHeld = false
            context?.read()
        }
        return promise.futureResult
    }
}
