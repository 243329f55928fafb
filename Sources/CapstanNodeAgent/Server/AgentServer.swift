import CapstanHTTPUpgrade
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The agent's HTTPS endpoint (kubelet's port): `GET /containerLogs/NS/POD/CONTAINER` with the
/// query of ``LogOptions``, answered as `text/plain` (chunked while following); `GET|POST
/// /exec/NS/POD/CONTAINER?command=…` and `/attach/NS/POD/CONTAINER?…` as WebSocket or SPDY/3.1
/// upgrades, `GET|POST /portforward/NS/POD` as SPDY/3.1 upgrades (raw, or tunnelled in
/// WebSocket) (``ContainerStreams``: the connection leaves HTTP through ``HTTPServerUpgrade``);
/// and `/healthz`.
/// With a client CA configured, clients must present a certificate it signed (the API server's).
final class AgentServer: Sendable {
    let port: Int
    private let channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    private let task: Task<Void, Never>

    private init(port: Int, channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>,
                 task: Task<Void, Never>) {
        self.port = port
        self.channel = channel
        self.task = task
    }

    static func start(configuration: AgentServerConfiguration, logs: ContainerLogSource, streams: ContainerStreams,
                      logger: Logger) async throws -> AgentServer {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(configuration.certificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(configuration.privateKeyPEM.utf8), format: .pem)))
        if let ca = configuration.clientCAPEM {
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(ca.utf8)))
        }
        let context = try NIOSSLContext(configuration: tls)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: configuration.bindAddress, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        let port = channel.channel.localAddress?.port ?? configuration.port
        let task = Task {
            await withDiscardingTaskGroup { group in
                do {
                    try await channel.executeThenClose { inbound in
                        for try await connection in inbound {
                            group.addTask { await serve(connection, logs: logs, streams: streams, logger: logger) }
                        }
                    }
                } catch {
                    logger.debug("agent server stopped", metadata: ["error": "\(error)"])
                }
                group.cancelAll()
            }
        }
        return AgentServer(port: port, channel: channel, task: task)
    }

    func stop() async {
        try? await channel.channel.close()
        task.cancel()
        await task.value
    }

    private static func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
                              logs: ContainerLogSource, streams: ContainerStreams, logger: Logger) async {
        try? await connection.executeThenClose { inbound, outbound in
            var iterator = inbound.makeAsyncIterator()
            var head: HTTPRequestHead?
            while let part = try await iterator.next() {
                switch part {
                case .head(let h): head = h
                case .body: break
                case .end:
                    guard let request = head else { return }
                    switch try await respond(request, logs: logs, streams: streams, outbound: outbound) {
                    case .served(let keepAlive):
                        if !keepAlive { return }
                    case .upgrade(let handler):
                        try await HTTPServerUpgrade.run(channel: connection.channel, inbound: &iterator, outbound: outbound, handler: handler)
                        return
                    }
                    head = nil
                }
            }
        }
    }

    private enum Outcome {
        /// Answered; whether the connection may serve another request.
        case served(keepAlive: Bool)
        /// The connection leaves HTTP and goes to this handler.
        case upgrade(@Sendable (RawConnection) async throws -> Void)
    }

    /// Answers one request.
    private static func respond(_ request: HTTPRequestHead, logs: ContainerLogSource, streams: ContainerStreams,
                                outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws -> Outcome {
        let (path, query) = split(request.uri)
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map { String($0).removingPercentEncoding ?? String($0) }
        // The decoder stops after a request that asks for an upgrade: such a connection is not reused.
        let keepAlive = request.isKeepAlive && !request.headers.contains(name: "upgrade")
        func reply(_ status: HTTPResponseStatus, _ body: String) async throws -> Outcome {
            var headers = HTTPHeaders([("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", String(body.utf8.count))])
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            try await outbound.write(.head(HTTPResponseHead(version: request.version, status: status, headers: headers)))
            try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body))))
            try await outbound.write(.end(nil))
            return .served(keepAlive: keepAlive)
        }
        if segments.count == 4, let kind = ContainerStreams.Kind(rawValue: segments[0]), request.method == .GET || request.method == .POST {
            do {
                return .upgrade(try await streams.upgrade(kind, namespace: segments[1], pod: segments[2], container: segments[3],
                                                          query: query, headers: request.headers))
            } catch {
                return try await reply(HTTPResponseStatus(statusCode: error.status), error.description + "\n")
            }
        }
        if segments.count == 3, segments[0] == "portforward", request.method == .GET || request.method == .POST {
            do {
                return .upgrade(try await streams.portForward(namespace: segments[1], pod: segments[2], headers: request.headers))
            } catch {
                return try await reply(HTTPResponseStatus(statusCode: error.status), error.description + "\n")
            }
        }
        guard request.method == .GET else { return try await reply(.methodNotAllowed, "method not allowed\n") }
        if segments == ["healthz"] { return try await reply(.ok, "ok") }
        guard segments.count == 4, segments[0] == "containerLogs" else { return try await reply(.notFound, "404 page not found\n") }
        let stream: AsyncThrowingStream<String, any Error>
        do {
            let options = try LogOptions(query: query)
            stream = try await logs.stream(namespace: segments[1], pod: segments[2], container: segments[3], options: options)
        } catch {
            return try await reply(HTTPResponseStatus(statusCode: error.status), error.description + "\n")
        }
        let headers = HTTPHeaders([("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked")])
        try await outbound.write(.head(HTTPResponseHead(version: request.version, status: .ok, headers: headers)))
        for try await line in stream { try await outbound.write(.body(.byteBuffer(ByteBuffer(string: line)))) }
        try await outbound.write(.end(nil))
        return .served(keepAlive: keepAlive)
    }

    private static func split(_ uri: String) -> (String, String) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, "") }
        return (String(uri[..<mark]), String(uri[uri.index(after: mark)...]))
    }
}
