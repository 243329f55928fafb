import NIOCore

/// Answers the server's HTTP/2 PING requests in front of the HTTP/2 handler, so a connection
/// to etcd can carry any number of calls.
///
/// etcd's gRPC server estimates bandwidth with a PING after nearly every request it reads, so
/// a client receives about one PING per call. swift-nio-http2 counts every PING (and SETTINGS)
/// frame it receives and closes the connection with GOAWAY(ENHANCE_YOUR_CALM) after 200 of
/// them within 30 s, failing every call still on it, and grpc-swift-nio-transport does not
/// make that limit configurable. So the requests are taken out of the byte stream here and
/// answered as HTTP/2 requires (an ACK with the same payload); everything else, including
/// the ACKs of the client's own keepalive PINGs, reaches the HTTP/2 handler unchanged.
///
/// Only for plaintext connections (it reads the bytes as they come off the socket), added
/// first in the pipeline before the connection reads anything.
final class EtcdPingResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var filter = HTTP2PingFilter()
    private var unflushed = false

    init() {}

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let output = filter.process(unwrapInboundIn(data))
        for payload in output.pings {
            context.write(wrapOutboundOut(HTTP2PingFilter.ack(payload)), promise: nil)
            unflushed = true
        }
        for buffer in output.forward {
            context.fireChannelRead(wrapInboundOut(buffer))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if unflushed {
            unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    /// Adds a responder first in `channel`'s pipeline (for `onCreateTCPConnection`).
    static func install(on channel: any Channel) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(EtcdPingResponder(), position: .first)
        }
    }
}
