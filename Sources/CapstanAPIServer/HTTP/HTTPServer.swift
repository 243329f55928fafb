import CapstanAPIMachinery
import CapstanHTTPUpgrade
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPCompression
import NIOPosix
import NIOSSL
import Synchronization

/// Serves HTTP/1.1 over TLS (or plain TCP for tests that ask for it) and hands each request to
/// a handler. Connections are handled with structured concurrency on NIO async channels;
/// `shutdown()` stops accepting, ends streaming responses and lets in-flight requests finish.
public final class HTTPServer: Sendable {
    public typealias Handler = @Sendable (APIRequest) async -> APIResponse
    public typealias Authenticate = @Sendable (_ peerCertificateDER: [UInt8]?, _ headers: HTTPHeaders) -> UserInfo?

    public let host: String
    let requestedPort: Int
    let tls: TLSConfiguration?
    let handler: Handler
    let authenticate: Authenticate
    let maxBodyBytes: Int
    let logger: Logger
    let group: any EventLoopGroup

    private struct State {
        var channel: (any Channel)?
        var port: Int?
        var shuttingDown = false
        /// Open connections and whether each is between requests (idle).
        var connections: [ObjectIdentifier: (channel: any Channel, idle: Bool)] = [:]
        /// Connections taken over by an upgrade (exec, attach); closed at shutdown.
        var upgraded: [ObjectIdentifier: any Channel] = [:]
    }

    /// Streaming responses, ended at shutdown.
    public let streams: StreamRegistry

    private let state = Mutex(State())

    public init(host: String, port: Int, tls: TLSConfiguration?, maxBodyBytes: Int = 3 * 1024 * 1024,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
                streams: StreamRegistry,
                authenticate: @escaping Authenticate, handler: @escaping Handler) {
        self.host = host
        self.requestedPort = port
        self.tls = tls
        self.handler = handler
        self.authenticate = authenticate
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
        self.group = group
        self.streams = streams
    }

    /// The bound port (useful with port 0).
    public var port: Int? { state.withLock { $0.port } }

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// Binds and serves until `shutdown()` or cancellation. `onBound` runs once listening.
    public func run(onBound: @Sendable (Int) -> Void = { _ in }) async throws {
        let sslContext = try tls.map { try NIOSSLContext(configuration: $0) }
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: requestedPort) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    // gzip for large responses when the client accepts it, as Kubernetes does.
                    try channel.pipeline.syncOperations.addHandler(HTTPResponseCompressor(
                        initialByteBufferCapacity: 0,
                        responseCompressionPredicate: { head, _ in
                            guard head.headers.contains(name: Gzip.marker) else { return .doNotCompress }
                            head.headers.remove(name: Gzip.marker)
                            return .compressIfPossible
                        }))
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        let port = server.channel.localAddress?.port ?? requestedPort
        let alreadyStopping = state.withLock { s in
            s.channel = server.channel
            s.port = port
            return s.shuttingDown
        }
        if alreadyStopping { try? await server.channel.close() }
        onBound(port)
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    group.addTask { await self.serve(connection) }
                }
            }
        }
    }

    /// Stops accepting connections and ends every streaming response; requests in flight finish.
    public func shutdown() async {
        let (channel, idle) = state.withLock { s in
            s.shuttingDown = true
            return (s.channel, s.connections.values.filter(\.idle).map(\.channel) + Array(s.upgraded.values))
        }
        streams.closeAll()
        try? await channel?.close()
        // Idle keep-alive connections close now; busy ones close after their current response.
        for c in idle { c.close(promise: nil) }
    }

    var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }

    private func peerCertificate(_ channel: any Channel) async -> [UInt8]? {
        guard tls != nil else { return nil }
        return try? await channel.eventLoop.submit { () -> [UInt8]? in
            let handler = try channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
            return try handler.peerCertificate?.toDERBytes()
        }.get()
    }

    /// Marks a connection idle (waiting for its next request) or busy; false once shutting down.
    private func setIdle(_ channel: any Channel, _ idle: Bool) -> Bool {
        state.withLock { s in
            s.connections[ObjectIdentifier(channel)] = (channel, idle)
            return !s.shuttingDown
        }
    }

    private func serve(_ connection: Connection) async {
        let channel = connection.channel
        defer {
            state.withLock { s in
                s.connections.removeValue(forKey: ObjectIdentifier(channel))
                s.upgraded.removeValue(forKey: ObjectIdentifier(channel))
            }
        }
        guard setIdle(channel, true) else {
            try? await channel.close()
            return
        }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var iterator = inbound.makeAsyncIterator()
                var certificate: [UInt8]?? = nil
                while let part = try await iterator.next() {
                    guard case .head(let head) = part else { continue }
                    _ = setIdle(channel, false)
                    defer { if !setIdle(channel, true) { channel.close(promise: nil) } }
                    var body: [UInt8] = []
                    var tooLarge = false
                    if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                        tooLarge = true
                    }
                    reading: while let next = try await iterator.next() {
                        switch next {
                        case .body(let buffer):
                            if body.count + buffer.readableBytes > maxBodyBytes { tooLarge = true }
                            if !tooLarge { body.append(contentsOf: buffer.readableBytesView) }
                        case .end:
                            break reading
                        case .head:
                            throw HTTPParserError.invalidInternalState
                        }
                    }
                    // The decoder stops parsing after a request that asks for an upgrade, so a
                    // connection whose upgrade is refused is not reused.
                    let keepAlive = head.isKeepAlive && !isShuttingDown && !head.headers.contains(name: "upgrade")
                    let response: APIResponse
                    if tooLarge {
                        response = .error(.requestEntityTooLarge("the request body is larger than \(maxBodyBytes) bytes"))
                    } else {
                        if certificate == nil { certificate = .some(await peerCertificate(channel)) }
                        let user = authenticate(certificate ?? nil, head.headers)
                        let request = APIRequest(method: head.method, uri: head.uri, headers: head.headers, body: body, user: user)
                        response = await handler(request)
                    }
                    if case .upgrade(let upgrade) = response.body {
                        state.withLock { $0.upgraded[ObjectIdentifier(channel)] = channel }
                        try await HTTPServerUpgrade.run(channel: channel, inbound: &iterator, outbound: outbound, removeExtra: { operations in
                            if let compressor = try? operations.handler(type: HTTPResponseCompressor.self) {
                                operations.removeHandler(compressor, promise: nil)
                            }
                        }, handler: upgrade)
                        break
                    }
                    try await write(response, version: head.version, keepAlive: keepAlive, head: head, to: outbound)
                    if !keepAlive || tooLarge { break }
                }
            }
        } catch {
            logger.trace("connection ended: \(error)")
        }
    }

    private func write(_ response: APIResponse, version: HTTPVersion, keepAlive: Bool, head request: HTTPRequestHead,
                       to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws {
        var headers = response.headers
        if !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
        switch response.body {
        case .bytes(let bytes):
            if bytes.count >= Gzip.threshold, Gzip.accepted(by: request.headers) {
                // The compressor sets the framing; the uncompressed length would be wrong.
                headers.add(name: Gzip.marker, value: "1")
                headers.remove(name: "content-length")
            } else {
                headers.replaceOrAdd(name: "content-length", value: String(bytes.count))
            }
            // One hand-over to the event loop for the whole response (head, body, end).
            let head = HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: response.status, headers: headers))
            if request.method != .HEAD, !bytes.isEmpty {
                try await outbound.write(contentsOf: [head, .body(.byteBuffer(ByteBuffer(bytes: bytes))), .end(nil)])
            } else {
                try await outbound.write(contentsOf: [head, .end(nil)])
            }
        case .upgrade:
            // Handled by `serve` before any response is written.
            break
        case .stream(let produce):
            headers.remove(name: "content-length")
            try await outbound.write(.head(HTTPResponseHead(version: version, status: response.status, headers: headers)))
            let writer = OutboundStreamWriter(outbound: outbound)
            try await produce(writer)
            try await outbound.write(.end(nil))
        }
    }
}

struct OutboundStreamWriter: ResponseStreamWriter {
    let outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>

    func write(_ bytes: [UInt8]) async throws {
        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: bytes))))
    }
}

/// Responses at least this large are gzipped for clients that accept it (Kubernetes' threshold).
enum Gzip {
    static let threshold = 128 * 1024
    /// An internal header telling the compressor a response qualifies; never sent.
    static let marker = "x-capstan-compressible"

    static func accepted(by headers: HTTPHeaders) -> Bool {
        headers[canonicalForm: "accept-encoding"].contains { $0.lowercased().hasPrefix("gzip") || $0.lowercased().hasPrefix("deflate") }
    }
}
