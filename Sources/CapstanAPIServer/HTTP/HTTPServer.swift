import CapstanAPIMachinery
import CapstanHTTPUpgrade
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOHTTPCompression
import NIOPosix
import NIOSSL
import Synchronization

/// Serves HTTP/2 and HTTP/1.1 over TLS (ALPN picks; see `HTTPServer+HTTP2.swift`), or HTTP/1.1
/// on plain TCP for tests that ask for it, and hands each request to a handler. Connections are
/// handled with structured concurrency on NIO async channels; `shutdown()` stops accepting, ends
/// streaming responses and lets in-flight requests finish.
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
    /// Offer h2 in ALPN (TLS only).
    let http2: Bool
    let http2MaxConcurrentStreams: Int

    struct State {
        var channel: (any Channel)?
        var port: Int?
        var shuttingDown = false
        /// Open HTTP/1.1 connections and whether each is between requests (idle).
        var connections: [ObjectIdentifier: (channel: any Channel, idle: Bool)] = [:]
        /// Open h2 connections.
        var multiplexed: [ObjectIdentifier: any Channel] = [:]
        /// Connections taken over by an upgrade (exec, attach); closed at shutdown.
        var upgraded: [ObjectIdentifier: any Channel] = [:]
    }

    /// Streaming responses, ended at shutdown.
    public let streams: StreamRegistry

    let state = Mutex(State())

    public init(host: String, port: Int, tls: TLSConfiguration?, maxBodyBytes: Int = 3 * 1024 * 1024,
                http2: Bool = true, http2MaxConcurrentStreams: Int = HTTPServer.defaultMaxConcurrentStreams,
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
        self.http2 = http2
        self.http2MaxConcurrentStreams = http2MaxConcurrentStreams
    }

    /// The bound port (useful with port 0).
    public var port: Int? { state.withLock { $0.port } }

    /// Client connections open now (HTTP/1.1 and h2).
    public var connectionCount: Int { state.withLock { $0.connections.count + $0.multiplexed.count } }

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// Binds and serves until `shutdown()` or cancellation. `onBound` runs once listening.
    public func run(onBound: @Sendable (Int) -> Void = { _ in }) async throws {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        guard var tls else {
            let server = try await bootstrap.bind(host: host, port: requestedPort) { channel in
                channel.eventLoop.makeCompletedFuture { try Self.configureHTTP1(channel) }
            }
            try await accept(server, onBound: onBound) { connection in await self.serve(connection) }
            return
        }
        if http2 { tls.applicationProtocols = ["h2", "http/1.1"] }
        let sslContext = try NIOSSLContext(configuration: tls)
        let maxStreams = http2MaxConcurrentStreams
        let server = try await bootstrap.bind(host: host, port: requestedPort) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                return try Self.configureNegotiation(channel, maxConcurrentStreams: maxStreams)
            }
        }
        try await accept(server, onBound: onBound) { negotiated in
            do {
                switch try await negotiated.get() {
                case .http1_1(let connection): await self.serve(connection)
                case .http2((let channel, let streams)): await self.serveHTTP2(channel, streams: streams)
                }
            } catch {
                self.logger.trace("connection set-up failed: \(error)")
            }
        }
    }

    /// Records the listening channel, reports the port, and serves each accepted connection in
    /// a child task until the listener closes.
    private func accept<Accepted: Sendable>(_ server: NIOAsyncChannel<Accepted, Never>, onBound: @Sendable (Int) -> Void,
                                            serve: @escaping @Sendable (Accepted) async -> Void) async throws {
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
                    group.addTask { await serve(connection) }
                }
            }
        }
    }

    /// An HTTP/1.1 connection's handlers (after TLS, if any).
    static func configureHTTP1(_ channel: any Channel) throws -> Connection {
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
        try addCompressor(channel)
        return try Connection(wrappingChannelSynchronously: channel)
    }

    /// gzip for large responses when the client accepts it, as Kubernetes does.
    static func addCompressor(_ channel: any Channel) throws {
        try channel.pipeline.syncOperations.addHandler(HTTPResponseCompressor(
            initialByteBufferCapacity: 0,
            responseCompressionPredicate: { head, _ in
                guard head.headers.contains(name: Gzip.marker) else { return .doNotCompress }
                head.headers.remove(name: Gzip.marker)
                return .compressIfPossible
            }))
    }

    /// Stops accepting connections and ends every streaming response; requests in flight finish.
    public func shutdown() async {
        let (channel, idle, multiplexed) = state.withLock { s in
            s.shuttingDown = true
            return (s.channel, s.connections.values.filter(\.idle).map(\.channel) + Array(s.upgraded.values),
                    Array(s.multiplexed.values))
        }
        streams.closeAll()
        try? await channel?.close()
        // Idle keep-alive connections close now; busy ones close after their current response.
        for c in idle { c.close(promise: nil) }
        // h2 connections get GOAWAY and close once their streams have finished.
        for c in multiplexed { Self.quiesce(c) }
    }

    var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }

    func peerCertificate(_ channel: any Channel) async -> [UInt8]? {
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
            // Shutting down. An async channel dropped before `executeThenClose` traps, so close
            // it through that.
            try? await connection.executeThenClose { _, _ in }
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
                    // The decoder stops parsing after a request that asks for an upgrade, so a
                    // connection whose upgrade is refused is not reused.
                    let keepAlive = head.isKeepAlive && !isShuttingDown && !head.headers.contains(name: "upgrade")
                    let (response, tooLarge) = try await respond(to: head, reading: &iterator) {
                        if certificate == nil { certificate = .some(await peerCertificate(channel)) }
                        return certificate ?? nil
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
                    try await write(response, version: head.version, keepAlive: keepAlive, head: head, to: outbound, on: channel)
                    if !keepAlive || tooLarge { break }
                }
            }
        } catch {
            logger.trace("connection ended: \(error)")
        }
    }

    /// Reads the body of the request `head` began and runs the handler, or answers 413 when the
    /// body is larger than `maxBodyBytes` (the caller then closes the connection).
    func respond(to head: HTTPRequestHead, reading iterator: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator,
                 certificate: () async -> [UInt8]?) async throws -> (response: APIResponse, tooLarge: Bool) {
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
        if tooLarge {
            return (.error(.requestEntityTooLarge("the request body is larger than \(maxBodyBytes) bytes")), true)
        }
        let user = authenticate(await certificate(), head.headers)
        let request = APIRequest(method: head.method, uri: head.uri, headers: head.headers, body: body, user: user)
        return (await handler(request), false)
    }

    func write(_ response: APIResponse, version: HTTPVersion, keepAlive: Bool, head request: HTTPRequestHead,
               to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>, on channel: any Channel) async throws {
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
            // The client going away (its connection closed, or its h2 stream reset) cancels the
            // stream, as kube-apiserver cancels a request's context: a watch waiting for events
            // must not outlive its client.
            let producer = Task { try await produce(writer) }
            channel.closeFuture.whenComplete { _ in producer.cancel() }
            try await withTaskCancellationHandler { try await producer.value } onCancel: { producer.cancel() }
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
