import CapstanSPDY
import NIOCore
import NIOPosix
import NIOWebSocket
import Testing
@testable import CapstanNodeAgent

/// A loopback server speaking WebSocket frames from the first byte (as after a 101 with
/// `SPDY/3.1+portforward.k8s.io`), each connection a tunnelled SPDY server connection.
func withTunnelledSPDYServer<T: Sendable>(_ handler: @escaping @Sendable (SPDYConnection) async -> Void,
                                          _ body: (Int) async throws -> T) async throws -> T {
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .bind(host: "127.0.0.1", port: 0) { channel in
            channel.eventLoop.makeCompletedFuture { try WebSocketTunnel.wrap(channel) }
        }
    let port = server.channel.localAddress!.port!
    async let serving: Void = withDiscardingTaskGroup { group in
        try? await server.executeThenClose { inbound in
            for try await connection in inbound {
                group.addTask {
                    let spdy = SPDYConnection(role: .server)
                    async let handled: Void = handler(spdy)
                    try? await WebSocketTunnel.run(spdy, over: connection, maskOutgoing: false)
                    await handled
                }
            }
        }
    }
    do {
        let result = try await body(port)
        try? await server.channel.close()
        await serving
        return result
    } catch {
        try? await server.channel.close()
        await serving
        throw error
    }
}

@Suite struct PortForwardWebSocketTests {
    @Test func tunnelledPortForwardEchoes() async throws {
        try await withEchoServer { podPort in
            try await withTunnelledSPDYServer({ connection in
                await PortForwardHandler(pod: "default/web", dial: PortForwardHandler.dialTCP(host: "127.0.0.1"), clock: .system)
                    .serve(connection)
            }) { port in
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(host: "127.0.0.1", port: port) { channel in
                        channel.eventLoop.makeCompletedFuture { try WebSocketTunnel.wrap(channel) }
                    }
                let spdy = SPDYConnection(role: .client)
                async let tunnel: Void = WebSocketTunnel.run(spdy, over: channel, maskOutgoing: true)
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
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture { try WebSocketTunnel.wrap(channel) }
                }
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(WebSocketFrame(fin: true, opcode: .ping, maskKey: .random(), data: ByteBuffer(string: "p1")))
                let client = SPDYSession(role: .client)
                let id = try client.openStream(headers: ["streamType": "data"], finished: true)
                var wire = client.takeOutbound()!
                while wire.readableBytes > 0 {
                    let piece = wire.readSlice(length: min(7, wire.readableBytes))!
                    try await outbound.write(WebSocketFrame(fin: true, opcode: .binary, maskKey: .random(), data: piece))
                }
                var pong: String?
                var events: [SPDYSession.Event] = []
                for try await frame in inbound {
                    switch frame.opcode {
                    case .pong: pong = String(buffer: frame.unmaskedData)
                    case .binary: events += try client.receive(frame.unmaskedData)
                    default: break
                    }
                    if events.contains(where: { if case .data(_, _, true) = $0 { true } else { false } }) { break }
                }
                #expect(pong == "p1")
                #expect(events.first == .streamReplied(streamID: id, headers: ["seen": "data"], finished: false))
                #expect(events.dropFirst().first == .data(streamID: id, data: ByteBuffer(string: "hello data"), finished: false))
            }
        }
    }
}
