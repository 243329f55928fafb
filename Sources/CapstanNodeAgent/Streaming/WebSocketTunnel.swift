import NIOCore
import NIOWebSocket

/// SPDY carried inside WebSocket binary messages, as kubectl 1.31+ does for port-forward
/// (subprotocol `SPDY/3.1+portforward.k8s.io`): the payloads of binary (and continuation)
/// frames, in order, are the SPDY byte stream; message boundaries mean nothing. Outgoing
/// SPDY bytes go out as one binary message per write. Pings are answered; a close frame
/// (or the end of the socket) ends the SPDY connection.
enum WebSocketTunnel {
    static let portForwardSubprotocol = "SPDY/3.1+portforward.k8s.io"

    typealias Channel = NIOAsyncChannel<WebSocketFrame, WebSocketFrame>

    /// Adds WebSocket framing to a channel whose HTTP upgrade is done (101 sent or received)
    /// and wraps it for async use.
    static func wrap(_ channel: any NIOCore.Channel, maxFrameSize: Int = 1 << 20) throws -> Channel {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxFrameSize)))
        try channel.pipeline.syncOperations.addHandler(WebSocketFrameEncoder())
        return try Channel(wrappingChannelSynchronously: channel)
    }

    /// Runs `connection` over the WebSocket until either side ends it. Clients mask what
    /// they send (`maskOutgoing`); servers do not.
    static func run(_ connection: SPDYConnection, over channel: Channel, maskOutgoing: Bool) async throws {
        try await channel.executeThenClose { inbound, outbound in
            let (bytes, input) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
            let mask: @Sendable () -> WebSocketMaskingKey? = { maskOutgoing ? .random() : nil }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        for try await frame in inbound {
                            switch frame.opcode {
                            case .binary, .continuation:
                                input.yield(frame.unmaskedData)
                            case .ping:
                                try await outbound.write(WebSocketFrame(fin: true, opcode: .pong, maskKey: mask(), data: frame.unmaskedData))
                            case .connectionClose:
                                try? await outbound.write(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: mask(),
                                                                         data: ByteBuffer(bytes: [0x03, 0xE8])))
                                input.finish()
                                return
                            default:
                                // Text messages have no meaning in this protocol; pongs need no answer.
                                break
                            }
                        }
                        input.finish()
                    } catch {
                        input.finish(throwing: error)
                    }
                }
                try await connection.run(inbound: bytes, write: { data in
                    try await outbound.write(WebSocketFrame(fin: true, opcode: .binary, maskKey: mask(), data: data))
                })
                // The SPDY side is done: say goodbye and stop reading.
                try? await outbound.write(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: mask(),
                                                         data: ByteBuffer(bytes: [0x03, 0xE8])))
                group.cancelAll()
            }
        }
    }
}
