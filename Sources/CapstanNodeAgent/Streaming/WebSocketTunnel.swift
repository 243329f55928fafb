import CapstanHTTPUpgrade
import NIOCore

/// SPDY carried inside WebSocket binary messages, as kubectl 1.31+ does for port-forward
/// (subprotocol `SPDY/3.1+portforward.k8s.io`): the payloads of binary messages, in order,
/// are the SPDY byte stream; message boundaries mean nothing. Outgoing SPDY bytes go out as
/// one binary message per write. Pings are answered; a close frame (or the end of the
/// socket) ends the SPDY connection. The framing is ``WebSocketFrame``'s.
enum WebSocketTunnel {
    static let portForwardSubprotocol = "SPDY/3.1+portforward.k8s.io"

    /// Which end of the WebSocket this is: clients mask what they send, servers do not.
    enum Role: Sendable { case server, client }

    /// Runs `connection` over the WebSocket on `raw` (its upgrade done) until either side ends it.
    static func run(_ connection: SPDYConnection, over raw: RawConnection, role: Role) async throws {
        let (bytes, input) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let send: @Sendable (WebSocketFrame) async throws -> Void = { frame in
            let mask: [UInt8]? = role == .client ? (0..<4).map { _ in UInt8.random(in: 0...255) } : nil
            try await raw.write(frame.encoded(mask: mask))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var parser = WebSocketFrameParser(fromServer: role == .client)
                do {
                    for try await buffer in raw.inbound {
                        parser.append(buffer.readableBytesView)
                        while let frame = try parser.next() {
                            switch frame.opcode {
                            case .binary: input.yield(ByteBuffer(bytes: frame.payload))
                            case .ping: try await send(WebSocketFrame(opcode: .pong, payload: frame.payload))
                            case .close:
                                try? await send(.close())
                                input.finish()
                                return
                            default: break  // text has no meaning here; pongs need no answer
                            }
                        }
                    }
                    input.finish()
                } catch {
                    input.finish(throwing: error)
                }
            }
            try await connection.run(inbound: bytes, write: { data in
                try await send(WebSocketFrame(opcode: .binary, payload: Array(data.readableBytesView)))
            })
            // The SPDY side is done: say goodbye and stop reading.
            try? await send(.close())
            group.cancelAll()
        }
    }
}
