import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS

/// Opens connections to the API server: TCP, then TLS (verifying the server against the
/// configured CA, presenting the client certificate), then HTTP/1.1 codecs. The future a
/// `connect` returns completes once the TLS handshake has, so a failure there means nothing
/// was sent.
struct ConnectionFactory: Sendable {
    let address: ServerAddress
    let group: any EventLoopGroup
    let connectTimeout: TimeAmount
    private let sslContext: NIOSSLContext?
    private let serverHostname: String?

    init(configuration: ClientConfiguration, address: ServerAddress, group: any EventLoopGroup) throws {
        self.address = address
        self.group = group
        self.connectTimeout = configuration.connectTimeout.timeAmount
        guard address.useTLS else {
            sslContext = nil
            serverHostname = nil
            return
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.applicationProtocols = ["http/1.1"]
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

    /// Connects, completes the TLS handshake, and runs `configure` on the event loop to add the
    /// handlers after the HTTP codec. Fails with ``APIClientError/Code/connectionFailed``
    /// (retriable: nothing was sent), naming a handshake failure (an unknown CA) as such.
    func connect(configure: @escaping @Sendable (any Channel) throws -> Void) -> EventLoopFuture<any Channel> {
        let sslContext = self.sslContext
        let serverHostname = self.serverHostname
        let address = self.address
        return ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let sslContext {
                        try sync.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: serverHostname))
                        try sync.addHandler(TLSHandshakeWaiter(promise: channel.eventLoop.makePromise()))
                    }
                    try sync.addHTTPClientHandlers()
                    try configure(channel)
                }
            }
            .connect(host: address.host, port: address.port)
            .flatMap { channel in
                // Wait for the handshake, so its failure is reported as what it is.
                guard let waiter = try? channel.pipeline.syncOperations.handler(type: TLSHandshakeWaiter.self) else {
                    return channel.eventLoop.makeSucceededFuture(channel)
                }
                return waiter.promise.futureResult.map { channel }.flatMapError { error in
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
