import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOHTTPCompression
import NIOTLS

/// HTTP/2 over TLS: ALPN picks `h2` or `http/1.1` per connection. An h2 connection carries many
/// requests at once, one stream each; every stream is turned back into the HTTP/1 request and
/// response parts the per-request code already serves, so a request behaves the same on both.
/// Upgrades (exec, attach, port-forward) stay on HTTP/1.1, which clients pick for them.
extension HTTPServer {
    /// What ALPN chose for a TLS connection: an HTTP/1.1 connection, or an h2 connection and
    /// the stream channels its client opens.
    typealias Negotiated = NIONegotiatedHTTPVersion<Connection, (any Channel, NIOHTTP2Handler.AsyncStreamMultiplexer<Connection>)>

    /// Streams one client may have open at once. Long-running watches each hold one, so this is
    /// generous: the value Kubernetes' aggregated API servers use (kube-apiserver's own default
    /// is Go's 250).
    public static let defaultMaxConcurrentStreams = 1000

    /// Adds ALPN to a TLS connection's pipeline; the future completes once the connection is
    /// configured for the protocol chosen (HTTP/1.1 when the client offered no ALPN).
    static func configureNegotiation(_ channel: any Channel, maxConcurrentStreams: Int) throws -> EventLoopFuture<Negotiated> {
        let negotiation = NIOTypedApplicationProtocolNegotiationHandler<Negotiated> { result, channel in
            channel.eventLoop.makeCompletedFuture {
                switch result {
                case .negotiated("h2"):
                    return .http2(try configureHTTP2(channel, maxConcurrentStreams: maxConcurrentStreams))
                default:
                    return .http1_1(try configureHTTP1(channel))
                }
            }
        }
        try channel.pipeline.syncOperations.addHandler(negotiation)
        return negotiation.protocolNegotiationResult
    }

    /// The h2 connection's handlers: the frame codec and stream multiplexer, and the connection
    /// manager that sends GOAWAY and closes once the streams finish when asked to quiesce.
    private static func configureHTTP2(_ channel: any Channel, maxConcurrentStreams: Int) throws -> (any Channel, NIOHTTP2Handler.AsyncStreamMultiplexer<Connection>) {
        var configuration = NIOHTTP2Handler.Configuration()
        configuration.connection.initialSettings = nioDefaultSettings.map { setting in
            setting.parameter == .maxConcurrentStreams ? HTTP2Setting(parameter: .maxConcurrentStreams, value: maxConcurrentStreams) : setting
        }
        // Many streams of one client deliver data at once; do not let the connection window,
        // rather than each stream's, pace them.
        configuration.connection.targetWindowSize = 1 << 20
        let manager = NIOHTTP2ServerConnectionManagementHandler.Configuration(
            maxIdleTime: nil, maxAge: nil, maxGraceTime: .seconds(60), keepalive: nil)
        let multiplexer = try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(
            mode: .server, connectionManagerConfiguration: manager, http2HandlerConfiguration: configuration
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                try addCompressor(stream)
                return try Connection(wrappingChannelSynchronously: stream)
            }
        }
        return (channel, multiplexer)
    }

    /// Serves the streams of one h2 connection until it closes. At shutdown the connection is
    /// asked to quiesce: GOAWAY, streams in flight finish (watches end), then it closes.
    func serveHTTP2(_ channel: any Channel, streams: NIOHTTP2Handler.AsyncStreamMultiplexer<Connection>) async {
        let key = ObjectIdentifier(channel)
        let accepted = state.withLock { s in
            s.multiplexed[key] = channel
            return !s.shuttingDown
        }
        defer { _ = state.withLock { $0.multiplexed.removeValue(forKey: key) } }
        if !accepted { Self.quiesce(channel) }
        let certificate = await peerCertificate(channel)
        do {
            try await withThrowingDiscardingTaskGroup { group in
                for try await stream in streams.inbound {
                    group.addTask { await self.serveStream(stream, certificate: certificate) }
                }
            }
        } catch {
            logger.trace("h2 connection ended: \(error)")
        }
        try? await channel.close()
    }

    /// One request on one stream.
    private func serveStream(_ stream: Connection, certificate: [UInt8]?) async {
        do {
            try await stream.executeThenClose { inbound, outbound in
                var iterator = inbound.makeAsyncIterator()
                while let part = try await iterator.next() {
                    guard case .head(let head) = part else { continue }
                    var (response, _) = try await respond(to: head, reading: &iterator) { certificate }
                    if case .upgrade = response.body {
                        // h2 has no Upgrade; clients dial HTTP/1.1 for exec, attach and port-forward.
                        response = .error(.badRequest("upgrade requests need HTTP/1.1, not HTTP/2"))
                    }
                    try await write(response, version: head.version, keepAlive: true, head: head, to: outbound, on: stream.channel)
                    // Closing the stream channel now would reset the stream while response
                    // data still waits for the client's flow-control window; the channel
                    // closes by itself once the stream has ended on both sides.
                    try await stream.channel.closeFuture.get()
                    return
                }
            }
        } catch {
            logger.trace("h2 stream ended: \(error)")
        }
    }

    /// Sends GOAWAY; the connection closes once its streams have finished.
    static func quiesce(_ channel: any Channel) {
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
    }
}
