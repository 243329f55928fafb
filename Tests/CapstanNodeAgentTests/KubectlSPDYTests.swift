import CapstanHTTPUpgrade
import CapstanSPDY
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing
@testable import CapstanNodeAgent

/// Just enough of an API server for `kubectl port-forward pod/web` and `kubectl exec web`:
/// legacy discovery, one Running pod, and upgrades of `pods/web/portforward` and `pods/web/exec`
/// negotiated as the agent does (``StreamUpgrade``) and served by the agent's handlers
/// (``PortForwardHandler`` to loopback, ``SPDYExecHandler`` with local processes). WebSocket
/// exec is refused here, so newer kubectl falls back to SPDY. The whole path through the real
/// API server and agent, with runc, is in the integration tests.
private enum FakeAPI {
    static let documents: [String: String] = [
        "/api": #"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}"#,
        "/apis": #"{"kind":"APIGroupList","apiVersion":"v1","groups":[]}"#,
        "/api/v1": #"{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list"],"shortNames":["po"]},{"name":"pods/portforward","singularName":"","namespaced":true,"kind":"PodPortForwardOptions","verbs":["create","get"]},{"name":"pods/exec","singularName":"","namespaced":true,"kind":"PodExecOptions","verbs":["create","get"]}]}"#,
        "/api/v1/namespaces/default/pods/web": #"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","namespace":"default","uid":"u1"},"spec":{"containers":[{"name":"c","image":"busybox"}]},"status":{"phase":"Running","podIP":"127.0.0.1"}}"#,
    ]

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    static func serve(_ connection: Connection, served: ServedUpgrades) async {
        try? await connection.executeThenClose { inbound, outbound in
            var iterator = inbound.makeAsyncIterator()
            var head: HTTPRequestHead?
            while let part = try await iterator.next() {
                switch part {
                case .head(let h): head = h
                case .body: break
                case .end:
                    guard let request = head else { return }
                    head = nil
                    let parts = request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
                    let path = String(parts[0]), query = parts.count > 1 ? String(parts[1]) : ""
                    if HTTPServerUpgrade.isUpgradeRequest(request.headers) {
                        let handler = upgradeHandler(path: path, query: query, headers: request.headers, served: served)
                        try await HTTPServerUpgrade.run(channel: connection.channel, inbound: &iterator, outbound: outbound, handler: handler)
                        return
                    }
                    let body = documents[path]
                    let text = body ?? #"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#
                    let headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", String(text.utf8.count))])
                    try await outbound.write(.head(HTTPResponseHead(version: request.version, status: body == nil ? .notFound : .ok, headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(string: text))))
                    try await outbound.write(.end(nil))
                }
            }
        }
    }

    static func upgradeHandler(path: String, query: String, headers: HTTPHeaders,
                               served: ServedUpgrades) -> @Sendable (RawConnection) async throws -> Void {
        let upgrade: StreamUpgrade
        let options: RemoteCommand.Options?
        do {
            upgrade = try StreamUpgrade.negotiate(portForward: path.hasSuffix("/portforward"), headers: headers)
            if case .webSocketChannels = upgrade { throw LogRequestError(status: 400, "exec over WebSocket is refused here") }
            options = path.hasSuffix("/exec") ? try RemoteCommand.Options(query: query, requireCommand: true) : nil
        } catch {
            let message = Array("\(error)".utf8)
            return { connection in try await connection.writeResponse(status: .badRequest, headers: [:], body: message) }
        }
        let forward = PortForwardHandler(pod: "default/web", dial: PortForwardHandler.dialTCP(host: "127.0.0.1"), clock: .system)
        return { connection in
            try await connection.writeResponseHead(status: .switchingProtocols, headers: upgrade.responseHeaders)
            switch upgrade {
            case .spdyRemoteCommand(let version):
                guard let options else { return }
                served.kinds.withLock { $0.append("spdy-exec \(version.rawValue)") }
                let command = options.command
                let exec = SPDYExecHandler(streamProtocol: version, options: options, start: { try ProcessExecSession(command) }, clock: .system)
                await ContainerStreams.serveSPDY(connection, exec.serve)
            case .spdyPortForward:
                served.kinds.withLock { $0.append("spdy") }
                await ContainerStreams.serveSPDY(connection, forward.serve)
            case .webSocketPortForward:
                served.kinds.withLock { $0.append("websocket") }
                let spdy = SPDYConnection(role: .server)
                async let handled: Void = forward.serve(spdy)
                try? await WebSocketTunnel.run(spdy, over: connection, role: .server)
                await handled
            case .webSocketChannels:
                return
            }
        }
    }
}

private final class ServedUpgrades: Sendable { let kinds = Mutex<[String]>([]) }

/// Runs `body` with the server's port and a function listing the upgrades served so far
/// ("spdy", "websocket" or "spdy-exec VERSION").
private func withFakeAPIServer<T: Sendable>(_ body: (Int, @Sendable () -> [String]) async throws -> T) async throws -> T {
    let served = ServedUpgrades()
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .bind(host: "127.0.0.1", port: 0) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                return try FakeAPI.Connection(wrappingChannelSynchronously: channel)
            }
        }
    return try await whileServing(server, cancelConnections: true, { await FakeAPI.serve($0, served: served) }) {
        try await body($0, { served.kinds.withLock { $0 } })
    }
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
