import NIOCore
import NIOHTTP1
import NIOSSL

/// Takes a connection of an HTTP/1.1 server pipeline (`configureHTTPServerPipeline`, wrapped
/// in a `NIOAsyncChannel` of HTTP parts) out of HTTP: the HTTP handlers are removed, and
/// raw bytes travel as `.body` parts through the same async channel (``RawBytesAdapter``),
/// so the server's inbound iterator and outbound writer keep working.
///
/// Used for `Upgrade` requests: the upgrade handler gets a ``RawConnection`` and writes
/// the `101` (or an error) itself, then speaks the new protocol (WebSocket, SPDY) or relays.
public enum HTTPServerUpgrade {
    public typealias Inbound = NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator
    public typealias Outbound = NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>

    /// Whether the request asks to switch protocols (`Connection: Upgrade` and an `Upgrade` header).
    public static func isUpgradeRequest(_ headers: HTTPHeaders) -> Bool {
        guard headers.contains(name: "upgrade") else { return false }
        return headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
    }

    /// Switches the connection to raw bytes and runs `handler` with it; the connection is
    /// closed when the handler returns. Call it once the upgrade request's `.end` was read;
    /// bytes a client sends before it has the server's answer are dropped (upgrading clients
    /// wait for the `101`). `removeExtra` removes handlers the server added on
    /// top of the standard HTTP ones (e.g. a response compressor); it runs on the event loop.
    public static func run(
        channel: any Channel, inbound: inout Inbound, outbound: Outbound,
        removeExtra: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void = { _ in },
        handler: @escaping @Sendable (RawConnection) async throws -> Void
    ) async throws {
        try await channel.eventLoop.submit {
            let operations = channel.pipeline.syncOperations
            try removeExtra(operations)
            func remove<Handler: RemovableChannelHandler>(_ type: Handler.Type) {
                if let context = try? operations.context(handlerType: type) {
                    operations.removeHandler(context: context, promise: nil)
                }
            }
            remove(HTTPServerProtocolErrorHandler.self)
            remove(NIOHTTPResponseHeadersValidator.self)
            remove(HTTPServerPipelineHandler.self)
            remove(HTTPResponseEncoder.self)
            remove(ByteToMessageHandler<HTTPRequestDecoder>.self)
            if let tls = try? operations.handler(type: NIOSSLServerHandler.self) {
                try operations.addHandler(RawBytesAdapter(), position: .after(tls))
            } else {
                try operations.addHandler(RawBytesAdapter(), position: .first)
            }
        }.get()
        let (bytes, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let connection = RawConnection(inbound: bytes) { buffer in
            try await outbound.write(.body(.byteBuffer(buffer)))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { channel.close(promise: nil) }
                try await handler(connection)
            }
            do {
                while let part = try await inbound.next() {
                    if case .body(let buffer) = part { continuation.yield(buffer) }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
            try await group.waitForAll()
        }
    }
}

/// Raw bytes as HTTP body parts, both ways, for an async channel typed for HTTP parts.
final class RawBytesAdapter: ChannelDuplexHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(wrapInboundOut(.body(unwrapInboundIn(data))))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .body(.byteBuffer(let buffer)):
            context.write(wrapOutboundOut(buffer), promise: promise)
        case .head, .body(.fileRegion), .end:
            promise?.succeed(())
        }
    }
}
