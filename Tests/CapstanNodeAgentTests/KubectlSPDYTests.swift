import CapstanSPDY
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization
import Testing
@testable import CapstanNodeAgent

/// Just enough of an API server for `kubectl port-forward pod/web`: legacy discovery, one
/// Running pod, and `pods/web/portforward` upgraded to raw SPDY (`X-Stream-Protocol-Version:
/// portforward.k8s.io`) or to WebSocket (`SPDY/3.1+portforward.k8s.io`), both served by the
/// agent's ``PortForwardHandler``. The real API server's proxy comes with the exec work; this
/// checks the SPDY side against the real Go client meanwhile.
private final class FakeAPIHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let documents: [String: String] = [
        "/api": #"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}"#,
        "/apis": #"{"kind":"APIGroupList","apiVersion":"v1","groups":[]}"#,
        "/api/v1": #"{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list"],"shortNames":["po"]},{"name":"pods/portforward","singularName":"","namespaced":true,"kind":"PodPortForwardOptions","verbs":["create","get"]},{"name":"pods/exec","singularName":"","namespaced":true,"kind":"PodExecOptions","verbs":["create","get"]}]}"#,
        "/api/v1/namespaces/default/pods/web": #"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","namespace":"default","uid":"u1"},"spec":{"containers":[{"name":"c","image":"busybox"}]},"status":{"phase":"Running","podIP":"127.0.0.1"}}"#,
    ]

    private var head: HTTPRequestHead?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
            let body = Self.documents[path]
            let status: HTTPResponseStatus = body == nil ? .notFound : .ok
            let text = body ?? #"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#
            let headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", String(text.utf8.count))])
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            self.head = nil
        }
    }
}

/// `Upgrade: SPDY/3.1` for `…/portforward` (protocol `portforward.k8s.io`) or `…/exec`
/// (remote-command versions): answer 101 with the chosen protocol, then SPDY on the socket.
private struct SPDYUpgrader: HTTPServerProtocolUpgrader, Sendable {
    let servePortForward: @Sendable (NIOAsyncChannel<ByteBuffer, ByteBuffer>) -> Void
    let serveExec: @Sendable (NIOAsyncChannel<ByteBuffer, ByteBuffer>, RemoteCommandProtocol, ExecRequest) -> Void
    let supportedProtocol = "SPDY/3.1"
    // NIO wants required headers named in `Connection` too, which kubectl does not do; the
    // protocol header is checked in buildUpgradeResponse instead.
    let requiredUpgradeHeaders: [String] = []

    private func offered(_ head: HTTPRequestHead) -> [String] {
        head.headers["X-Stream-Protocol-Version"].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    private func split(_ uri: String) -> (path: String, query: String) {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
    }

    func buildUpgradeResponse(channel: any Channel, upgradeRequest: HTTPRequestHead,
                              initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        var headers = initialResponseHeaders
        let (path, query) = split(upgradeRequest.uri)
        if path.hasSuffix("/portforward"), offered(upgradeRequest).contains("portforward.k8s.io") {
            headers.add(name: "X-Stream-Protocol-Version", value: "portforward.k8s.io")
        } else if path.hasSuffix("/exec"), let version = RemoteCommandProtocol.negotiate(offered(upgradeRequest)),
                  (try? ExecRequest(query: query)) != nil {
            headers.add(name: "X-Stream-Protocol-Version", value: version.rawValue)
        } else {
            return channel.eventLoop.makeFailedFuture(SPDYStreamError("no supported stream protocol in \(offered(upgradeRequest))"))
        }
        return channel.eventLoop.makeSucceededFuture(headers)
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        let channel = context.channel
        let (path, query) = split(upgradeRequest.uri)
        let version = RemoteCommandProtocol.negotiate(offered(upgradeRequest))
        return channel.pipeline.removeHandler(name: "api").flatMapThrowing {
            let bytes = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            if path.hasSuffix("/exec"), let version {
                serveExec(bytes, version, try ExecRequest(query: query))
            } else {
                servePortForward(bytes)
            }
        }
    }
}

private final class ServedUpgrades: Sendable { let kinds = Mutex<[String]>([]) }

/// Runs `body` with the server's port and a function listing the upgrades served so far
/// ("spdy" or "websocket").
private func withFakeAPIServer<T: Sendable>(_ body: (Int, @Sendable () -> [String]) async throws -> T) async throws -> T {
    let connections = Mutex<[Task<Void, Never>]>([])
    let served = ServedUpgrades()
    let handler = PortForwardHandler(pod: "default/web", dial: PortForwardHandler.dialTCP(host: "127.0.0.1"), clock: .system)
    let serveSPDY: @Sendable (NIOAsyncChannel<ByteBuffer, ByteBuffer>) -> Void = { channel in
        served.kinds.withLock { $0.append("spdy") }
        let task = Task<Void, Never> {
            try? await channel.executeThenClose { inbound, outbound in
                let spdy = SPDYConnection(role: .server)
                async let served: Void = handler.serve(spdy)
                try? await spdy.run(inbound: inbound, write: { try await outbound.write($0) })
                await served
            }
        }
        connections.withLock { $0.append(task) }
    }
    let serveExec: @Sendable (NIOAsyncChannel<ByteBuffer, ByteBuffer>, RemoteCommandProtocol, ExecRequest) -> Void = { channel, version, request in
        served.kinds.withLock { $0.append("spdy-exec \(version.rawValue)") }
        let task = Task<Void, Never> {
            try? await channel.executeThenClose { inbound, outbound in
                let spdy = SPDYConnection(role: .server)
                let exec = SPDYExecHandler(version: version, request: request, start: { try ProcessExecSession($0.command) }, clock: .system)
                async let served: Void = exec.serve(spdy)
                try? await spdy.run(inbound: inbound, write: { try await outbound.write($0) })
                await served
            }
        }
        connections.withLock { $0.append(task) }
    }
    let serveTunnel: @Sendable (NIOAsyncChannel<WebSocketFrame, WebSocketFrame>) -> Void = { channel in
        served.kinds.withLock { $0.append("websocket") }
        let task = Task {
            let spdy = SPDYConnection(role: .server)
            async let served: Void = handler.serve(spdy)
            try? await WebSocketTunnel.run(spdy, over: channel, maskOutgoing: false)
            await served
        }
        connections.withLock { $0.append(task) }
    }
    let webSocket = NIOWebSocketServerUpgrader(
        maxFrameSize: 1 << 20,
        shouldUpgrade: { channel, head in
            let offered = head.headers["Sec-WebSocket-Protocol"].flatMap { $0.split(separator: ",") }
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard offered.contains(WebSocketTunnel.portForwardSubprotocol) else { return channel.eventLoop.makeSucceededFuture(nil) }
            return channel.eventLoop.makeSucceededFuture(HTTPHeaders([("Sec-WebSocket-Protocol", WebSocketTunnel.portForwardSubprotocol)]))
        },
        upgradePipelineHandler: { channel, _ in
            channel.pipeline.removeHandler(name: "api").flatMapThrowing {
                serveTunnel(try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(wrappingChannelSynchronously: channel))
            }
        })
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { channel in
            channel.pipeline.configureHTTPServerPipeline(
                withServerUpgrade: (upgraders: [SPDYUpgrader(servePortForward: serveSPDY, serveExec: serveExec), webSocket], completionHandler: { _ in })
            ).flatMapThrowing {
                try channel.pipeline.syncOperations.addHandler(FakeAPIHandler(), name: "api")
            }
        }
        .bind(host: "127.0.0.1", port: 0).get()
    defer { _ = server.close() }
    let result = try await body(server.localAddress!.port!, { served.kinds.withLock { $0 } })
    for task in connections.withLock({ $0 }) { task.cancel() }
    return result
}

/// Lines of a child process's stdout, read on a thread of their own.
private func lines(of handle: FileHandle) -> AsyncStream<String> {
    AsyncStream { continuation in
        Thread {
            var pending = Data()
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                pending += data
                while let newline = pending.firstIndex(of: 0x0A) {
                    continuation.yield(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                    pending = Data(pending[pending.index(after: newline)...])
                }
            }
            continuation.finish()
        }.start()
    }
}

/// Everything a child process writes to `handle`, read on a thread of its own.
private func readToEnd(_ handle: FileHandle) async -> Data {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: handle.readDataToEndOfFile()) }.start()
    }
}

extension Tag {
    /// Drives the real kubectl binary.
    @Tag static var kubectl: Self
}

private let kubectlBinaries = ["1.30", "1.33"].map { "/usr/lib/google-cloud-sdk/bin/kubectl.\($0)" }

@Suite(.serialized, .tags(.kubectl), .enabled(if: (kubectlBinaries + ["/usr/lib/google-cloud-sdk/bin/kubectl.1.29"]).allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }))
struct KubectlSPDYTests {
    /// kubectl 1.30 speaks raw SPDY; 1.33 tunnels SPDY in WebSocket.
    @Test(arguments: kubectlBinaries)
    func realKubectlForwardsALocalConnection(binary: String) async throws {
        try await withEchoServer { echoPort in
            try await withFakeAPIServer { apiPort, served in
                try await withTemporaryKubeconfig(apiPort: apiPort) { kubeconfig in
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: binary)
                    process.arguments = ["--kubeconfig", kubeconfig, "port-forward", "pod/web", ":\(echoPort)", "--address", "127.0.0.1"]
                    let out = Pipe(), err = Pipe()
                    process.standardOutput = out
                    process.standardError = err
                    try process.run()
                    defer {
                        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                        process.waitUntilExit()
                    }
                    // "Forwarding from 127.0.0.1:NNNN -> ECHO"
                    var localPort: Int?
                    for await line in lines(of: out.fileHandleForReading) {
                        if let range = line.range(of: "127.0.0.1:"), let port = Int(line[range.upperBound...].prefix { $0.isNumber }) {
                            localPort = port
                            break
                        }
                    }
                    let port = try #require(localPort, "kubectl did not start forwarding: \(String(decoding: err.fileHandleForReading.availableData, as: UTF8.self))")
                    for round in 0..<3 {
                        let text = String(repeating: "round \(round) through kubectl;", count: 4_000)
                        #expect(try await echo(text, port: port) == text)
                    }
                    // One session for all three connections, over the transport this version uses.
                    #expect(served() == [binary.hasSuffix("1.30") ? "spdy" : "websocket"])
                }
            }
        }
    }

    /// kubectl 1.29 execs over SPDY only (offering v5 first); 1.33 tries WebSocket, is refused
    /// here, and falls back to SPDY.
    @Test(arguments: [("1.29", "v5.channel.k8s.io"), ("1.33", "v5.channel.k8s.io")])
    func realKubectlExecsOverSPDY(version: String, expectedProtocol: String) async throws {
        let binary = "/usr/lib/google-cloud-sdk/bin/kubectl.\(version)"
        try #require(FileManager.default.isExecutableFile(atPath: binary))
        try await withFakeAPIServer { apiPort, served in
            try await withTemporaryKubeconfig(apiPort: apiPort) { kubeconfig in
                let process = Process()
                process.executableURL = URL(fileURLWithPath: binary)
                process.arguments = ["--kubeconfig", kubeconfig, "exec", "-i", "web", "--", "sh", "-c", "tr a-z A-Z; echo to-stderr >&2; exit 3"]
                let input = Pipe(), out = Pipe(), err = Pipe()
                process.standardInput = input
                process.standardOutput = out
                process.standardError = err
                try process.run()
                try input.fileHandleForWriting.write(contentsOf: Data("hello from kubectl \(version)\n".utf8))
                try input.fileHandleForWriting.close()
                // Blocking reads on threads of their own: the cooperative pool serves the API.
                async let stdout = readToEnd(out.fileHandleForReading)
                async let stderr = readToEnd(err.fileHandleForReading)
                let (outData, errData) = await (stdout, stderr)
                process.waitUntilExit()
                let errText = String(decoding: errData, as: UTF8.self)
                #expect(String(decoding: outData, as: UTF8.self) == "HELLO FROM KUBECTL \(version)\n")
                #expect(errText.contains("to-stderr"))
                #expect(process.terminationStatus == 3, "stderr: \(errText)")
                #expect(served() == ["spdy-exec \(expectedProtocol)"])
            }
        }
    }

    /// Sends `text` on a new TCP connection, half-closes, and reads until the other side closes.
    private func echo(_ text: String, port: Int) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel,
                                                                configuration: .init(isOutboundHalfClosureEnabled: true))
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: text))
            outbound.finish()
            var received = ByteBuffer()
            for try await var chunk in inbound { received.writeBuffer(&chunk) }
            return String(buffer: received)
        }
    }

    private func withTemporaryKubeconfig<T>(apiPort: Int, _ body: (String) async throws -> T) async throws -> T {
        let path = NSTemporaryDirectory() + "capstan-spdy-\(UUID().uuidString).kubeconfig"
        let config = """
        apiVersion: v1
        kind: Config
        clusters: [{name: fake, cluster: {server: "http://127.0.0.1:\(apiPort)"}}]
        users: [{name: fake, user: {}}]
        contexts: [{name: fake, context: {cluster: fake, user: fake, namespace: default}}]
        current-context: fake
        """
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await body(path)
    }
}
