import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The agent's HTTPS endpoint (kubelet's port): `GET /containerLogs/NS/POD/CONTAINER` with the
/// query of ``LogOptions``, answered as `text/plain` (chunked while following), and `/healthz`.
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

    static func start(configuration: AgentServerConfiguration, logs: ContainerLogSource, logger: Logger) async throws -> AgentServer {
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
                            group.addTask { await serve(connection, logs: logs, logger: logger) }
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
                              logs: ContainerLogSource, logger: Logger) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            for try await part in inbound {
                switch part {
                case .head(let h): head = h
                case .body: break
                case .end:
                    guard let request = head else { return }
                    let keepAlive = try await respond(request, logs: logs, outbound: outbound)
                    if !keepAlive { return }
                    head = nil
                }
            }
        }
    }

    /// Answers one request; returns whether the connection may serve another.
    private static func respond(_ request: HTTPRequestHead, logs: ContainerLogSource,
                                outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws -> Bool {
        let (path, query) = split(request.uri)
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map { String($0).removingPercentEncoding ?? String($0) }
        func reply(_ status: HTTPResponseStatus, _ body: String) async throws -> Bool {
            var headers = HTTPHeaders([("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", String(body.utf8.count))])
            if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
            try await outbound.write(.head(HTTPResponseHead(version: request.version, status: status, headers: headers)))
            try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body))))
            try await outbound.write(.end(nil))
            return request.isKeepAlive
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
        return request.isKeepAlive
    }

    private static func split(_ uri: String) -> (String, String) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, "") }
        return (String(uri[..<mark]), String(uri[uri.index(after: mark)...]))
    }
}
