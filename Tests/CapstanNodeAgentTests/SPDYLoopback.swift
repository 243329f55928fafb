import CapstanHTTPUpgrade
import CapstanSPDY
import NIOCore
import NIOPosix
@testable import CapstanNodeAgent

typealias ByteChannel = NIOAsyncChannel<ByteBuffer, ByteBuffer>

/// Runs `body` with the port of `server` while each connection it accepts is handed to
/// `serve`; then closes the server, whether `body` returned or threw. With
/// `cancelConnections`, connections still open are cancelled instead of waited for.
func whileServing<Connection: Sendable, T: Sendable>(
    _ server: NIOAsyncChannel<Connection, Never>, cancelConnections: Bool = false,
    _ serve: @escaping @Sendable (Connection) async -> Void, _ body: (Int) async throws -> T
) async throws -> T {
    let port = server.channel.localAddress!.port!
    async let serving: Void = withDiscardingTaskGroup { group in
        try? await server.executeThenClose { inbound in
            for try await connection in inbound { group.addTask { await serve(connection) } }
        }
        if cancelConnections { group.cancelAll() }
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

/// Runs `body` with a loopback TCP server whose every connection is a server-side SPDY
/// connection handed to `handler`. The server is closed when `body` returns.
func withSPDYServer<T: Sendable>(_ handler: @escaping @Sendable (SPDYConnection) async -> Void,
                                 _ body: (Int) async throws -> T) async throws -> T {
    try await whileServing(try await bindLoopbackByteServer(), { connection in
        try? await connection.executeThenClose { inbound, outbound in
            let spdy = SPDYConnection(role: .server)
            async let handled: Void = handler(spdy)
            try? await spdy.run(inbound: inbound, write: { try await outbound.write($0) })
            await handled
        }
    }, body)
}

/// Connects a client-side SPDY connection to `port` for the length of `body`, then closes it.
func withSPDYClient<T: Sendable>(port: Int, _ body: (SPDYConnection) async throws -> T) async throws -> T {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture { try ByteChannel(wrappingChannelSynchronously: channel) }
        }
    return try await channel.executeThenClose { inbound, outbound in
        let spdy = SPDYConnection(role: .client)
        async let running: Void = spdy.run(inbound: inbound, write: { try await outbound.write($0) })
        do {
            let result = try await body(spdy)
            await spdy.close()
            try await running
            return result
        } catch {
            await spdy.close()
            try? await running
            throw error
        }
    }
}

/// A TCP server on loopback that echoes what it reads and half-closes when its peer does
/// (a stand-in for a pod's port). Closed when `body` returns.
func withEchoServer<T: Sendable>(_ body: (Int) async throws -> T) async throws -> T {
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelOption(.allowRemoteHalfClosure, value: true)
        .bind(host: "127.0.0.1", port: 0) { channel in
            channel.eventLoop.makeCompletedFuture {
                try ByteChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
            }
        }
    return try await whileServing(server, { connection in
        try? await connection.executeThenClose { inbound, outbound in
            for try await chunk in inbound { try await outbound.write(chunk) }
            outbound.finish()
        }
    }, body)
}

/// A port on loopback that nothing listens on (bound, then closed).
func closedPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress!.port!
    try await channel.close()
    return port
}

/// Runs `body` with an async byte channel seen as a ``RawConnection`` (as after an HTTP
/// upgrade); the channel is closed when `body` returns.
func withRawConnection<T: Sendable>(_ channel: ByteChannel, _ body: @escaping @Sendable (RawConnection) async throws -> T) async throws -> T {
    try await channel.executeThenClose { inbound, outbound in
        let (bytes, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let raw = RawConnection(inbound: bytes) { try await outbound.write($0) }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                do {
                    for try await buffer in inbound { continuation.yield(buffer) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
                return nil
            }
            group.addTask { try await body(raw) }
            while let next = try await group.next() {
                if let result = next {
                    group.cancelAll()
                    return result
                }
            }
            throw SPDYStreamError("the connection ended without a result")
        }
    }
}

/// A loopback TCP listener on a free port whose connections are raw byte channels.
func bindLoopbackByteServer() async throws -> NIOAsyncChannel<ByteChannel, Never> {
    try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .bind(host: "127.0.0.1", port: 0) { channel in
            channel.eventLoop.makeCompletedFuture { try ByteChannel(wrappingChannelSynchronously: channel) }
        }
}
