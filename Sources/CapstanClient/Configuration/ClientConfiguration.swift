/// Where the API server is, how to trust it, who the client is, and how the client behaves
/// (connections, timeouts, retries). Made from a kubeconfig with ``Kubeconfig/configuration(context:)``
/// or by hand.
public struct ClientConfiguration: Sendable {
    /// `https://HOST:PORT[/PREFIX]`, or `http://` for a server without TLS.
    public var server: String
    /// CA certificates (PEM) that verify the server; nil trusts the system's roots.
    public var certificateAuthorityPEM: [UInt8]?
    /// The client certificate chain (PEM), for x509 client authentication.
    public var clientCertificatePEM: [UInt8]?
    /// The client key (PEM: PKCS#8, SEC1 or PKCS#1).
    public var clientKeyPEM: [UInt8]?
    /// Sent as `Authorization: Bearer ...`.
    public var bearerToken: String?
    /// Sent as `Authorization: Basic ...` when no bearer token is set.
    public var basicAuth: (username: String, password: String)?
    /// The name to verify the server certificate against (and send as SNI) instead of the URL's host.
    public var tlsServerName: String?
    /// Skips verifying the server's certificate. For tests against throwaway servers only.
    public var insecureSkipTLSVerify = false
    /// A server in this process that answers every request instead of a connection to
    /// `server` (the API server's own scheduler and controllers; see ``LocalTransport``).
    /// The server decides who the requests come from; credentials here are not sent.
    public var localTransport: (any LocalTransport)?
    /// The namespace typed helpers use when none is given and the object names none.
    public var namespace = "default"

    /// Offer HTTP/2 when connecting over TLS. A server that accepts it gets one connection that
    /// carries every watch (a stream each), instead of a connection per watch; otherwise (and
    /// over plain HTTP) watches get HTTP/1.1 connections of their own.
    public var http2 = true
    /// Send ordinary requests over HTTP/2 too (when `http2` is on and the server accepts it):
    /// the watches' connection carries them, and more open while requests pile up (see
    /// `http2StreamsPerConnection`). Off, requests use the HTTP/1.1 keep-alive pool, which costs
    /// less per request on both ends.
    public var http2ForRequests = false
    /// With `http2ForRequests`: requests in flight on every h2 connection that make the client
    /// open one more (up to `maxConnections`): a connection is served by one event loop on each
    /// side, so a busy client spreads its requests over several. Watches stay on the first.
    public var http2StreamsPerConnection = 16
    /// How long an h2 connection opened for a burst stays open without requests.
    public var idleConnectionTimeout: Duration = .seconds(90)
    /// HTTP/1.1 keep-alive connections to the server for ordinary requests (one request at a
    /// time each). Watches use connections of their own.
    public var maxConnections = 32
    /// Of those, how many are kept open while idle (others close as they come back). Each kept
    /// connection holds TLS state and buffers on both ends; busy clients raise it toward
    /// `maxConnections`.
    public var maxIdleConnections = 4
    /// Time allowed to connect, including the TLS handshake.
    public var connectTimeout: Duration = .seconds(10)
    /// Time allowed for one request (not watches), from sending it to the end of the response;
    /// nil waits forever.
    public var requestTimeout: Duration? = .seconds(60)
    /// How many times a request is sent again after a connection failure (any method, when nothing
    /// was sent) or a connection closed mid-request (idempotent methods only), or after a 429 or
    /// 5xx answer carrying `Retry-After`.
    public var maxRetries = 3
    /// The first pause before a retry; doubled each time up to 2 seconds.
    public var retryBackoff: Duration = .milliseconds(50)
    public var userAgent = "capstan-client/1.0"

    public init(server: String) {
        self.server = server
    }
}
