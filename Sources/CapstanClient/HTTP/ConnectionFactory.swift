import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS

/// What a new connection speaks, as ALPN settled it.
enum NegotiatedConnection: Sendable {
    /// HTTP/1.1 codecs and the caller's handler are in place.
    case http1(any Channel)
    /// h2: requests are streams on it.
    case http2(HTTP2Connection)
}

/// Opens connections to the API server: TCP, then TLS (verifying the server against the
/// configured CA, presenting the client certificate, offering h2 and http/1.1 through ALPN),
/// then HTTP/1.1 codecs or the h2 handlers, whichever the server chose. Plain-HTTP connections
/// speak HTTP/1.1. The future a `connect` returns completes once the TLS handshake has, so a
/// failure there means nothing was sent.
struct ConnectionFactory: Sendable {
    let address: ServerAddress
    let group: any EventLoopGroup
    let connectTimeout: TimeAmount
    private let sslContext: NIOSSLContext?
    private let serverHostname: String?
    /// TLS with h2 in ALPN: a new connection may turn out HTTP/2.
    let offersHTTP2: Bool

    init(configuration: ClientConfiguration, address: ServerAddress, group: any EventLoopGroup) throws {
        self.address = address
        self.group = group
        self.connectTimeout = configuration.connectTimeout.timeAmount
        self.offersHTTP2 = address.useTLS && configuration.http2
        guard address.useTLS else {
            sslContext = nil
            serverHostname = nil
            return
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.applicationProtocols = configuration.http2 ? ["h2", "http/1.1"] : ["http/1.1"]
        // Closing sends close_notify and waits this long for the server's; like Go's client, do
        // not let a busy server (a watch stream) hold a close for NIOSSL's default 5 seconds.
        tls.shutdownTimeout = .milliseconds(200)
        do {
            if let ca = configuration.certificateAuthorityPEM {
                let roots = try NIOSSLCertificate.fromPEMBytes(ca)
                guard !roots.isEmpty else {
                    throw APIClientError.configuration("the certificate authority holds no PEM certificate")
                }
                tls.trustRoots = .certificates(roots)
            }
            if let certificate = configuration.clientCertificatePEM, let key = configuration.clientKeyPEM {
                let chain = try NIOSSLCertificate.fromPEMBytes(certificate)
                guard !chain.isEmpty else {
                    throw APIClientError.configuration("the client certificate holds no PEM certificate")
                }
                tls.certificateChain = chain.map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            }
            if configuration.insecureSkipTLSVerify {
                tls.certificateVerification = .none
            }
            sslContext = try NIOSSLContext(configuration: tls)
        } catch let error as APIClientError {
            throw error
        } catch {
            throw APIClientError.configuration("TLS configuration: \(error)")
        }
        // An IP address is verified against the certificate's IP SANs (NIOSSL uses the peer
        // address when no host name is given) and cannot be sent as SNI.
        if let name = configuration.tlsServerName, !name.isEmpty {
            serverHostname = name
        } else {
            serverHostname = address.hostIsIPAddress ? nil : address.host
        }
    }

    /// Connects, completes the TLS handshake, and, for HTTP/1.1, adds the codecs and runs
    /// `configure` on the event loop to add the handlers after them (for h2, the connection's
    /// handlers). Fails with ``APIClientError/Code/connectionFailed`` (retriable: nothing was
    /// sent), naming a handshake failure (an unknown CA) as such.
    func connect(http1 configure: @escaping @Sendable (any Channel) throws -> Void) -> EventLoopFuture<NegotiatedConnection> {
        let sslContext = self.sslContext
        let serverHostname = self.serverHostname
        let address = self.address
        return ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    guard let sslContext else {
                        try sync.addHTTPClientHandlers()
                        try configure(channel)
                        return
                    }
                    try sync.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: serverHostname))
                    let waiter = TLSHandshakeWaiter(promise: channel.eventLoop.makePromise())
                    try sync.addHandler(waiter)
                    // Buffers what the server sends until the handlers for the chosen protocol are in.
                    let negotiation = NIOTypedApplicationProtocolNegotiationHandler<NegotiatedConnection> { result, channel in
                        channel.eventLoop.makeCompletedFuture {
                            if case .negotiated("h2") = result {
                                return .http2(try HTTP2Connection.configure(channel))
                            }
                            try channel.pipeline.syncOperations.addHTTPClientHandlers()
                            try configure(channel)
                            return .http1(channel)
                        }
                    }
                    try sync.addHandler(negotiation)
                    waiter.negotiated = negotiation.protocolNegotiationResult
                }
            }
            .connect(host: address.host, port: address.port)
            .flatMap { channel in
                // Wait for the handshake, so its failure is reported as what it is.
                guard let waiter = try? channel.pipeline.syncOperations.handler(type: TLSHandshakeWaiter.self),
                      let negotiated = waiter.negotiated else {
                    return channel.eventLoop.makeSucceededFuture(.http1(channel))
                }
                return waiter.promise.futureResult.flatMap { negotiated }.flatMapError { error in
                    channel.close(promise: nil)
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .flatMapErrorThrowing { error in
                if let tls = error as? NIOSSLError, case .handshakeFailed = tls {
                    throw APIClientError(.connectionFailed, "TLS handshake with \(address.hostHeader) failed: \(error)", retryHint: .always)
                }
                throw APIClientError(.connectionFailed, "cannot connect to \(address.hostHeader): \(error)", retryHint: .always)
            }
    }

    /// How a connection error bears on the request in flight: a failed TLS handshake means no
    /// request byte was sent.
    static func classify(_ error: any Error, context: String) -> APIClientError {
        if let error = error as? APIClientError { return error }
        if let tls = error as? NIOSSLError, case .handshakeFailed = tls {
            return APIClientError(.connectionFailed, "TLS handshake failed: \(error)", retryHint: .always)
        }
        return APIClientError(.connectionClosed, "\(context): \(error)", retryHint: .idempotentOnly)
    }
}

/// Completes `promise` when the TLS handshake has (or fails it with the handshake's error, or
/// when the connection closes first).
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let promise: EventLoopPromise<Void>
    /// What ALPN settles, once the handshake is done.
    var negotiated: EventLoopFuture<NegotiatedConnection>?
    private var done = false

    init(promise: EventLoopPromise<Void>) { self.promise = promise }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls, !done {
            done = true
            promise.succeed(())
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !done {
            done = true
            promise.fail(error)
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(APIClientError(.connectionFailed, "the server closed the connection during the TLS handshake", retryHint: .always))
        }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(ChannelError.ioOnClosedChannel)
        }
    }
}
