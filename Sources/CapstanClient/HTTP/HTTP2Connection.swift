import NIOCore
import NIOHTTP1
import NIOHTTP2
import Synchronization

/// One HTTP/2 connection to the server: every request and watch of a client is a stream on it.
/// Each stream channel gets an HTTP/1 codec, so the handlers written for HTTP/1.1 connections
/// (``HTTPConnectionHandler``, ``HTTPStreamHandler``) run a stream's request unchanged, and
/// closing a stream channel resets just that stream.
///
/// Flow control is per stream: a watch whose reader stops holds back its own stream (its
/// window fills), while the connection window is replenished as data arrives, so other streams
/// keep flowing.
final class HTTP2Connection: Sendable, Hashable {
    let channel: any Channel
    private let multiplexer: NIOHTTP2Handler.StreamMultiplexer
    private let status: Status

    /// Set by the connection's handler and its streams; read from any thread.
    final class Status: Sendable {
        let goingAway = Atomic<Bool>(false)
        /// The server's SETTINGS_MAX_CONCURRENT_STREAMS (unlimited until it says).
        let maxStreams = Atomic<Int>(.max)
        let openStreams = Atomic<Int>(0)
    }

    private init(channel: any Channel, multiplexer: NIOHTTP2Handler.StreamMultiplexer, status: Status) {
        self.channel = channel
        self.multiplexer = multiplexer
        self.status = status
    }

    /// Open, and the server has not sent GOAWAY: new streams may start on it.
    var isUsable: Bool { channel.isActive && !status.goingAway.load(ordering: .relaxed) }

    /// Fewer streams open than the server allows at once: a new one starts now rather than
    /// waiting for another to end.
    var hasStreamCapacity: Bool {
        status.openStreams.load(ordering: .relaxed) < status.maxStreams.load(ordering: .relaxed)
    }

    /// Adds the h2 handlers to a connection that negotiated h2 (on its event loop, before any
    /// byte of the server's is read).
    static func configure(_ channel: any Channel) throws -> HTTP2Connection {
        let sync = channel.pipeline.syncOperations
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .enablePush, value: 0),
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 100),
            HTTP2Setting(parameter: .maxHeaderListSize, value: 1 << 20),
        ]
        // Streams are paced by their own windows; the connection's must not make a slow one
        // hold back the others.
        connection.targetWindowSize = 1 << 20
        let multiplexer = try sync.configureHTTP2Pipeline(
            mode: .client, connectionConfiguration: connection, streamConfiguration: .init()
        ) { pushed in
            pushed.close()
        }
        let status = Status()
        try sync.addHandler(HTTP2ConnectionObserver(status: status))
        return HTTP2Connection(channel: channel, multiplexer: multiplexer, status: status)
    }

    /// Opens a stream whose pipeline speaks HTTP/1 parts; `configure` adds the handler that runs
    /// the request. Fails with a retriable error (nothing was sent) when the connection is gone.
    func openStream(configure: @escaping @Sendable (any Channel) throws -> Void) async throws -> any Channel {
        let future = multiplexer.createStreamChannel { stream in
            stream.eventLoop.makeCompletedFuture {
                let sync = stream.pipeline.syncOperations
                try sync.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .https))
                try configure(stream)
            }
        }
        do {
            let stream = try await future.get()
            let status = self.status
            status.openStreams.add(1, ordering: .relaxed)
            stream.closeFuture.whenComplete { _ in status.openStreams.subtract(1, ordering: .relaxed) }
            return stream
        } catch {
            throw APIClientError(.connectionClosed, "cannot open an HTTP/2 stream: \(error)", retryHint: .always)
        }
    }

    func close() {
        channel.close(promise: nil)
    }

    static func == (a: HTTP2Connection, b: HTTP2Connection) -> Bool { a === b }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// Watches the connection's own frames: after GOAWAY no new stream may start (those open
/// finish); a connection error closes the connection, failing its streams.
final class HTTP2ConnectionObserver: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame

    private let status: HTTP2Connection.Status

    init(status: HTTP2Connection.Status) {
        self.status = status
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data).payload {
        case .goAway:
            status.goingAway.store(true, ordering: .relaxed)
        case .settings(.settings(let settings)):
            for setting in settings where setting.parameter == .maxConcurrentStreams {
                status.maxStreams.store(setting.value, ordering: .relaxed)
            }
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A stream's error is that stream's business (its channel sees it too).
        if error is NIOHTTP2Errors.StreamError { return }
        status.goingAway.store(true, ordering: .relaxed)
        context.close(promise: nil)
    }
}
