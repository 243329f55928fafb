import CapstanHTTPUpgrade
import CapstanSPDY
import NIOCore
import NIOPosix
import Testing
@testable import CapstanNodeAgent

/// A loopback server speaking WebSocket frames from the first byte (as after a 101 with
/// `SPDY/3.1+portforward.k8s.io`), each connection a tunnelled SPDY server connection.
func withTunnelledSPDYServer<T: Sendable>(_ handler: @escaping @Sendable (SPDYConnection) async -> Void,
                                          _ body: (Int) async throws -> T) async throws -> T {
    try await whileServing(try await bindLoopbackByteServer(), { connection in
        _ = try? await withRawConnection(connection) { raw in
            let spdy = SPDYConnection(role: .server)
            async let handled: Void = handler(spdy)
            try? await WebSocketTunnel.run(spdy, over: raw, role: .server)
            await handled
            return true
        }
    }, body)
}

@Suite struct PortForwardWebSocketTests {
    @Test func tunnelledPortForwardEchoes() async throws {
        try await withEchoServer { podPort in
            try await withTunnelledSPDYServer({ connection in
                await PortForwardHandler(pod: "default/web", dial: PortForwardHandler.dialTCP(host: "127.0.0.1"), clock: .system)
                    .serve(connection)
            }) { port in
                try await UpgradeDialer.withConnection(host: "127.0.0.1", port: port, tls: nil) { raw in
                    let spdy = SPDYConnection(role: .client)
                    async let tunnel: Void = WebSocketTunnel.run(spdy, over: raw, role: .client)
                    let headers = { (type: String) in SPDYHeaders([("streamType", type), ("port", String(podPort)), ("requestID", "0")]) }
                    let errorStream = try await spdy.openStream(headers: headers("error"))
                    try await errorStream.finish()
                    let dataStream = try await spdy.openStream(headers: headers("data"))
                    let text = String(repeating: "tunnelled;", count: 20_000)
                    try await dataStream.write(text)
                    try await dataStream.finish()
                    #expect(String(buffer: try await dataStream.readAll()) == text)
                    #expect(try await errorStream.readAll().readableBytes == 0)
                    await spdy.close()
                    try await tunnel
                }
            }
        }
    }

    /// SPDY frames need not line up with WebSocket messages: here every message carries 7
    /// bytes, and a ping in between is answered.
    @Test func framesSplitAcrossMessagesAndPingsAreAnswered() async throws {
        try await withTunnelledSPDYServer({ connection in
            for await stream in connection.incomingStreams {
                try? await stream.reply(headers: ["seen": stream.headers["streamType"] ?? "-"])
                try? await stream.write("hello \(stream.headers["streamType"] ?? "")")
                try? await stream.finish()
            }
        }) { port in
            let (pong, events, id) = try await UpgradeDialer.withConnection(host: "127.0.0.1", port: port, tls: nil) { raw in
                func send(_ opcode: WebSocketFrame.Opcode, _ payload: [UInt8]) async throws {
                    try await raw.write(WebSocketFrame(opcode: opcode, payload: payload).encoded(mask: [9, 8, 7, 6]))
                }
                try await send(.ping, Array("p1".utf8))
                let client = SPDYSession(role: .client)
                let id = try client.openStream(headers: ["streamType": "data"], finished: true)
                var wire = client.takeOutbound()!
                while wire.readableBytes > 0 {
                    let piece = wire.readSlice(length: min(7, wire.readableBytes))!
                    try await send(.binary, Array(piece.readableBytesView))
                }
                var pong: String?
                var events: [SPDYSession.Event] = []
                var parser = WebSocketFrameParser(fromServer: true)
                reading: for try await buffer in raw.inbound {
                    parser.append(buffer.readableBytesView)
                    while let frame = try parser.next() {
                        switch frame.opcode {
                        case .pong: pong = String(decoding: frame.payload, as: UTF8.self)
                        case .binary: events += try client.receive(ByteBuffer(bytes: frame.payload))
                        default: break
                        }
                        if events.contains(where: { if case .data(_, _, true) = $0 { true } else { false } }) { break reading }
                    }
                }
                return (pong, events, id)
            }
            #expect(pong == "p1")
            #expect(events.first == .streamReplied(streamID: id, headers: ["seen": "data"], finished: false))
            #expect(events.dropFirst().first == .data(streamID: id, data: ByteBuffer(string: "hello data"), finished: false))
        }
    }
}
