import CapstanAPIMachinery
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A client of the Kubernetes API over TLS: requests on HTTP/1.1 keep-alive connections from a
/// pool, one request at a time per connection; watches as streams of one HTTP/2 connection when
/// the server speaks h2 (as kube-apiserver does), else on connections of their own
/// (``ClientConfiguration/http2ForRequests`` puts requests on h2 too). x509 client-certificate
/// or bearer-token authentication; timeouts; retries where they are safe.
///
/// Failed requests throw the server's `Status` as ``APIError``, and client-side failures as
/// ``APIClientError``. Call ``shutdown()`` when done.
///
/// ```swift
/// let client = try APIClient(kubeconfigPath: dataDirectory + "/kubeconfig")
/// let pod = try await client.get(CoreV1.Pod.self, name: "web", namespace: "default")
/// ```
public final class APIClient: Sendable {
    /// An HTTP method; open for growth.
    public struct Method: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let get = Method(rawValue: "GET")
        public static let head = Method(rawValue: "HEAD")
        public static let post = Method(rawValue: "POST")
        public static let put = Method(rawValue: "PUT")
        public static let patch = Method(rawValue: "PATCH")
        public static let delete = Method(rawValue: "DELETE")
        public static let options = Method(rawValue: "OPTIONS")

        /// Sending it twice has the effect of sending it once (RFC 9110): safe to retry when a
        /// connection broke mid-request.
        public var isIdempotent: Bool {
            switch rawValue {
            case "GET", "HEAD", "PUT", "DELETE", "OPTIONS": return true
            default: return false
            }
        }

        public var description: String { rawValue }
    }

    /// Query parameters in order; written as a dictionary literal (`["limit": "10"]`) or appended to.
    public struct Query: Sendable, ExpressibleByDictionaryLiteral {
        public var items: [(name: String, value: String)]

        public init(_ items: [(name: String, value: String)] = []) { self.items = items }
        public init(dictionaryLiteral elements: (String, String)...) {
            items = elements.map { (name: $0.0, value: $0.1) }
        }

        public mutating func append(_ name: String, _ value: String) { items.append((name, value)) }
        public var isEmpty: Bool { items.isEmpty }
        public subscript(name: String) -> String? { items.first(where: { $0.name == name })?.value }
    }

    /// Response headers (names compared case-insensitively).
    public struct Headers: Sendable, Sequence {
        let storage: HTTPHeaders

        init(_ storage: HTTPHeaders) { self.storage = storage }

        /// The first value of `name`.
        public subscript(name: String) -> String? { storage.first(name: name) }
        public func values(_ name: String) -> [String] { storage[name] }
        public func makeIterator() -> some IteratorProtocol<(name: String, value: String)> { storage.makeIterator() }
    }

    /// A response: status, headers, and the body as bytes.
    public struct Response: Sendable {
        public var status: Int
        public var headers: Headers
        public var body: [UInt8]
    }

    public let configuration: ClientConfiguration
    let logger: Logger
    let address: ServerAddress
    let factory: ConnectionFactory
    /// Requests.
    let pool: ConnectionPool
    /// Streams (watches, logs): the h2 connection that carries them. `pool` itself when requests
    /// go over h2 too.
    let streamFactory: ConnectionFactory
    let streamPool: ConnectionPool
    private let baseHeaders: HTTPHeaders
    private let requestTimeout: TimeAmount?
    private let streams = Mutex(OpenStreams())

    private struct OpenStreams {
        var channels: [ObjectIdentifier: any Channel] = [:]
        /// Streams of a ``LocalTransport`` (held weakly: a reader drops its stream when done).
        var locals: [WeakLocalStream] = []
        var isShutdown = false
    }

    private struct WeakLocalStream {
        weak var stream: LocalByteStream?
    }

    /// A client for `configuration`; connections open on first use.
    public init(configuration: ClientConfiguration,
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "capstan.client")) throws {
        self.configuration = configuration
        self.logger = logger
        let address = try ServerAddress(configuration.server)
        self.address = address
        let streamFactory = try ConnectionFactory(configuration: configuration, address: address, group: eventLoopGroup)
        if configuration.http2ForRequests || !streamFactory.offersHTTP2 {
            factory = streamFactory
        } else {
            var http1 = configuration
            http1.http2 = false
            factory = try ConnectionFactory(configuration: http1, address: address, group: eventLoopGroup)
        }
        self.pool = ConnectionPool(factory: factory, maxConnections: configuration.maxConnections,
                                   maxIdle: configuration.maxIdleConnections,
                                   streamsPerConnection: configuration.http2StreamsPerConnection,
                                   idleTimeout: configuration.idleConnectionTimeout.timeAmount, logger: logger)
        self.streamFactory = streamFactory
        self.streamPool = factory.offersHTTP2 == streamFactory.offersHTTP2 ? pool
            : ConnectionPool(factory: streamFactory, maxConnections: configuration.maxConnections, maxIdle: 0, logger: logger)
        self.requestTimeout = configuration.requestTimeout.map(\.timeAmount)
        var headers = HTTPHeaders()
        headers.add(name: "host", value: address.hostHeader)
        headers.add(name: "user-agent", value: configuration.userAgent)
        if let token = configuration.bearerToken, !token.isEmpty {
            headers.add(name: "authorization", value: "Bearer \(token)")
        } else if let basic = configuration.basicAuth {
            headers.add(name: "authorization", value: "Basic \(Base64.encode(Array("\(basic.username):\(basic.password)".utf8)))")
        }
        self.baseHeaders = headers
    }

    /// A client for a context (default: the current one) of the kubeconfig at `kubeconfigPath`.
    public convenience init(kubeconfigPath: String, context: String? = nil,
                            eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                            logger: Logger = Logger(label: "capstan.client")) throws {
        let kubeconfig = try Kubeconfig.load(path: kubeconfigPath)
        try self.init(configuration: kubeconfig.configuration(context: context), eventLoopGroup: eventLoopGroup, logger: logger)
    }

    deinit {
        let channels = streams.withLock { Array($0.channels.values) }
        for channel in channels { channel.close(promise: nil) }
        pool.close()
        if streamPool !== pool { streamPool.close() }
    }

    /// Closes idle connections and open watches and fails waiting requests; requests in flight
    /// finish. Later requests fail with ``APIClientError/Code/shutdown``.
    public func shutdown() async {
        let (channels, locals) = streams.withLock { s in
            s.isShutdown = true
            defer { s.locals = [] }
            return (Array(s.channels.values), s.locals.compactMap(\.stream))
        }
        for stream in locals { stream.close() }
        await pool.shutdown()
        if streamPool !== pool { await streamPool.shutdown() }
        for channel in channels {
            try? await channel.close()
        }
    }

    /// Connections currently open, leased or opening for requests and for the watches' h2
    /// connection (not counting watches' own HTTP/1.1 connections); an h2 connection counts once.
    public var pooledConnectionCount: Int {
        pool.connectionCount + (streamPool === pool ? 0 : streamPool.connectionCount)
    }

    /// Watches (and other streams) currently open: h2 streams, or HTTP/1.1 connections of their own.
    public var openStreamCount: Int { streams.withLock { $0.channels.count + $0.locals.count { $0.stream != nil } } }

    // MARK: Requests

    /// Sends a request and returns the response once its body has arrived.
    ///
    /// - Parameters:
    ///   - path: the absolute path (`/api/v1/namespaces/default/pods`), not percent-decoded again.
    ///   - query: parameters, percent-encoded here.
    ///   - body: sent with `contentType` (default `application/json`).
    ///   - accept: the `Accept` header (default `application/json`).
    /// - Throws: ``APIError`` for a response outside 2xx (its `Status` body decoded),
    ///   ``APIClientError`` for connection failures, timeouts and shutdown.
    public func request(method: Method, path: String, query: Query = [:], body: [UInt8]? = nil,
                        contentType: String? = nil, accept: String? = nil) async throws -> Response {
        let request = makeRequest(method: method, path: path, query: query, body: body, contentType: contentType, accept: accept)
        var attempt = 0
        var backoff = configuration.retryBackoff
        while true {
            let response: HTTPResponse
            do {
                response = try await send(request)
            } catch let error as APIClientError where attempt < configuration.maxRetries && Self.mayRetry(error, method) {
                attempt += 1
                logger.debug("retrying \(method) \(path) after: \(error)", metadata: ["attempt": "\(attempt)"])
                try await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(2))
                continue
            }
            let status = Int(response.head.status.code)
            if (200..<300).contains(status) {
                return Response(status: status, headers: Headers(response.head.headers), body: Array(response.body.readableBytesView))
            }
            if attempt < configuration.maxRetries, status == 429 || (500..<600).contains(status),
               let delay = response.head.headers.first(name: "retry-after").flatMap(Int.init), delay >= 0 {
                attempt += 1
                logger.debug("\(method) \(path): \(status), retrying after \(delay)s", metadata: ["attempt": "\(attempt)"])
                try await Task.sleep(for: .seconds(min(delay, 30)))
                continue
            }
            throw APIError(statusBody: Array(response.body.readableBytesView), httpStatus: status)
        }
    }

    static func mayRetry(_ error: APIClientError, _ method: Method) -> Bool {
        switch error.retryHint {
        case .always: return true
        case .idempotentOnly: return method.isIdempotent
        case .never: return false
        }
    }

    func makeRequest(method: Method, path: String, query: Query, body: [UInt8]?, contentType: String?, accept: String?) -> HTTPRequest {
        var uri = address.pathPrefix + path
        if !query.isEmpty {
            uri += "?"
            uri += PercentEncoding.query(query.items)
        }
        var headers = baseHeaders
        headers.add(name: "accept", value: accept ?? "application/json")
        var buffer: ByteBuffer?
        if let body {
            headers.add(name: "content-type", value: contentType ?? "application/json")
            buffer = ByteBuffer(bytes: body)
        } else if method == .post || method == .put || method == .patch {
            headers.add(name: "content-length", value: "0")
        }
        let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method.rawValue), uri: uri, headers: headers)
        return HTTPRequest(head: head, body: buffer)
    }

    private func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        if let local = configuration.localTransport { return try await sendLocally(request, to: local) }
        let connection = try await pool.lease()
        do {
            let response = try await connection.execute(request, timeout: requestTimeout)
            pool.release(connection, reusable: response.keepAlive)
            return response
        } catch {
            pool.release(connection, reusable: false)
            if Task.isCancelled { throw CancellationError() }
            throw error
        }
    }

    /// A request answered by a server in this process: the whole response, streamed bodies
    /// included, as one buffer.
    private func sendLocally(_ request: HTTPRequest, to local: any LocalTransport) async throws -> HTTPResponse {
        if streams.withLock({ $0.isShutdown }) { throw APIClientError(.shutdown, "the client was shut down") }
        let body = request.body.map { Array($0.readableBytesView) } ?? []
        let response = await local.respond(method: request.head.method, uri: request.head.uri, headers: request.head.headers, body: body)
        let bytes: [UInt8]
        switch response.body {
        case .bytes(let b): bytes = b
        case .stream(let stream): bytes = try await stream.collect()
        }
        return HTTPResponse(head: HTTPResponseHead(version: .http1_1, status: response.status, headers: response.headers),
                            body: ByteBuffer(bytes: bytes), keepAlive: true)
    }

    // MARK: Streams

    /// Opens an h2 stream (or, on HTTP/1.1, a connection of its own), sends a GET, and returns
    /// once a 2xx response head arrived; the body is then read with ``StreamingResponse/nextChunk()``.
    func openStream(path: String, query: Query, accept: String? = nil) async throws -> StreamingResponse {
        if streams.withLock({ $0.isShutdown }) { throw APIClientError(.shutdown, "the client was shut down") }
        let request = makeRequest(method: .get, path: path, query: query, body: nil, contentType: nil, accept: accept)
        if let local = configuration.localTransport { return try await openLocalStream(request, on: local) }
        let addHandler: @Sendable (any Channel) throws -> Void = { channel in
            try channel.pipeline.syncOperations.addHandler(HTTPStreamHandler(eventLoop: channel.eventLoop))
        }
        let channel: any Channel
        switch try await streamPool.openMultiplexedStream(configure: addHandler) {
        case .opened(let stream):
            channel = stream
        case let shared:
            switch try await streamFactory.connect(http1: addHandler).get() {
            case .http1(let own):
                channel = own
            case .http2(let multiplexed):
                if case .full = shared {
                    // Every stream the server allows on the shared connection is open: this
                    // connection carries just this stream.
                    channel = try await multiplexed.openStream(configure: addHandler)
                    channel.closeFuture.whenComplete { _ in multiplexed.close() }
                } else {
                    // The server speaks h2 now: the connection joins the pool and carries this stream.
                    channel = try await streamPool.adopt(multiplexed).openStream(configure: addHandler)
                }
            }
        }
        let key = ObjectIdentifier(channel)
        let registered = streams.withLock { s -> Bool in
            if s.isShutdown { return false }
            s.channels[key] = channel
            return true
        }
        guard registered else {
            try? await channel.close()
            throw APIClientError(.shutdown, "the client was shut down")
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.streams.withLock { $0.channels.removeValue(forKey: key) }
        }
        do {
            let handler = try await channel.eventLoop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: HTTPStreamHandler.self), eventLoop: channel.eventLoop)
            }.get()
            try await channel.writeAndFlush(request)
            var head: HTTPResponseHead?
            while head == nil {
                guard let part = try await StreamingResponse.nextPart(channel: channel, handler: handler) else {
                    throw APIClientError(.connectionClosed, "the server closed the connection before responding", retryHint: .idempotentOnly)
                }
                if case .head(let h) = part, !(100..<200).contains(h.status.code) { head = h }
            }
            let status = Int(head!.status.code)
            guard (200..<300).contains(status) else {
                var body: [UInt8] = []
                while body.count < 1 << 20,
                      let chunk = try await StreamingResponse.nextBodyChunk(channel: channel, handler: handler) {
                    body.append(contentsOf: chunk.readableBytesView)
                }
                try? await channel.close()
                throw APIError(statusBody: body, httpStatus: status)
            }
            return StreamingResponse(head: head!, channel: channel, handler: handler)
        } catch {
            try? await channel.close()
            if Task.isCancelled { throw CancellationError() }
            throw error
        }
    }

    private func openLocalStream(_ request: HTTPRequest, on local: any LocalTransport) async throws -> StreamingResponse {
        let response = await local.respond(method: .GET, uri: request.head.uri, headers: request.head.headers, body: [])
        let stream: LocalByteStream
        switch response.body {
        case .stream(let s):
            stream = s
        case .bytes(let bytes):
            stream = LocalByteStream(limit: .max)
            try await stream.write(bytes)
            stream.finish()
        }
        let head = HTTPResponseHead(version: .http1_1, status: response.status, headers: response.headers)
        guard (200..<300).contains(Int(response.status.code)) else {
            let body = (try? await stream.collect(limit: 1 << 20)) ?? []
            stream.close()
            throw APIError(statusBody: body, httpStatus: Int(response.status.code))
        }
        let registered = streams.withLock { s -> Bool in
            if s.isShutdown { return false }
            s.locals.removeAll { $0.stream == nil }
            s.locals.append(WeakLocalStream(stream: stream))
            return true
        }
        guard registered else {
            stream.close()
            throw APIClientError(.shutdown, "the client was shut down")
        }
        return StreamingResponse(head: head, local: stream)
    }
}
