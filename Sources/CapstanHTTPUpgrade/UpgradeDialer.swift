import NIOCore
import NIOPosix
import NIOSSL

/// Opens a TCP (optionally TLS) connection for an upgrade request and hands it over raw:
/// the caller writes the request and reads the response bytes itself (a proxy relays them).
public enum UpgradeDialer {
    public struct DialError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Connects to `host:port` and runs `body` with the connection; it is closed afterwards.
    public static func withConnection<Result: Sendable>(
        host: String, port: Int, tls: TLSConfiguration?, connectTimeout: TimeAmount = .seconds(5),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        _ body: @escaping @Sendable (RawConnection) async throws -> Result
    ) async throws -> Result {
        let context = try tls.map { try NIOSSLContext(configuration: $0) }
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let context {
                            let hostname = host.first?.isNumber == true || host.contains(":") ? nil : host
                            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: hostname))
                        }
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw DialError(description: "dial tcp \(host):\(port): \(error)")
        }
        let raw = channel.channel
        return try await channel.executeThenClose { inbound, outbound in
            let (bytes, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
            let connection = RawConnection(inbound: bytes) { buffer in try await outbound.write(buffer) }
            return try await withThrowingTaskGroup(of: Result.self) { group in
                group.addTask {
                    defer { raw.close(promise: nil) }
                    return try await body(connection)
                }
                do {
                    for try await buffer in inbound { continuation.yield(buffer) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
                guard let result = try await group.next() else { throw DialError(description: "connection ended") }
                return result
            }
        }
    }
}
