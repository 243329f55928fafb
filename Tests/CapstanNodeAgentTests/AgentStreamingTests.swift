import CapstanAPI
import CapstanClient
import CapstanContainerRuntime
import CapstanHTTPUpgrade
import CapstanPKI
import CapstanSPDY
import CapstanTesting
import Foundation
import NIOCore
import NIOSSL
import Synchronization
import Testing
@testable import CapstanNodeAgent

/// A minimal WebSocket client for the agent's and API server's upgrade endpoints.
struct WebSocketTestClient {
    let port: Int
    let tls: TLSConfiguration

    struct Exchange: Sendable {
        var statusLine = ""
        var head = ""
        var body = ""
        var frames: [WebSocketFrame] = []

        /// The data of channel `channel`'s messages, joined (binary protocols).
        func channel(_ channel: UInt8) -> String {
            String(decoding: frames.filter { $0.opcode == .binary && $0.payload.first == channel }.flatMap { $0.payload.dropFirst() }, as: UTF8.self)
        }
    }

    init(port: Int, pki: ClusterPKI) throws {
        self.port = port
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(pki.adminCertificatePEM.utf8)).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(pki.adminPrivateKeyPEM.utf8), format: .pem))
        tls.certificateVerification = .none
        self.tls = tls
    }

    /// Sends the upgrade request, then `messages` (masked), and collects what comes back until
    /// the server closes. `headers` replace the WebSocket ones when given.
    func exchange(_ path: String, protocols: String = "v5.channel.k8s.io", headers: [(String, String)]? = nil,
                  send messages: [WebSocketFrame] = [], onUpgrade: @escaping @Sendable () async -> Void = {}) async throws -> Exchange {
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for (name, value) in headers ?? [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"),
                                         ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Protocol", protocols)] {
            request += "\(name): \(value)\r\n"
        }
        request += "\r\n"
        let bytes = Array(request.utf8)
        return try await UpgradeDialer.withConnection(host: "127.0.0.1", port: port, tls: tls) { connection in
            try await connection.write(bytes)
            var exchange = Exchange()
            var received: [UInt8] = []
            var parser = WebSocketFrameParser(fromServer: true)
            var upgraded = false
            var sent = false
            for try await buffer in connection.inbound {
                if upgraded {
                    parser.append(buffer.readableBytesView)
                } else {
                    received += buffer.readableBytesView
                    guard let end = received.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
                    exchange.head = String(decoding: received[..<end.lowerBound], as: UTF8.self)
                    exchange.statusLine = String(exchange.head.split(separator: "\r\n").first ?? "")
                    let rest = received[end.upperBound...]
                    guard exchange.statusLine.contains(" 101 ") else {
                        exchange.body = String(decoding: rest, as: UTF8.self)
                        continue
                    }
                    upgraded = true
                    parser.append(rest)
                }
                if !sent {
                    sent = true
                    await onUpgrade()
                    for message in messages { try await connection.write(message.encoded(mask: [1, 2, 3, 4])) }
                }
                while let frame = try parser.next() {
                    exchange.frames.append(frame)
                    if frame.opcode == .close { return exchange }
                }
            }
            return exchange
        }
    }
}

@Suite(.serialized) struct AgentStreamingTests {
    /// A fake agent serving on loopback with a pod `shell` (container `app`) running.
    func withShellPod(_ body: (FakeContainerRuntime, NodeAgent, RunningServer) async throws -> Void) async throws {
        try await withClient { client, server in
            let endpoint = try AgentServerConfiguration.selfSigned(nodeName: "node-1", ipAddresses: ["127.0.0.1"], bindAddress: "127.0.0.1",
                                                                   port: 0, clientCAPEM: server.pki.caCertificatePEM)
            try await withFakeAgent(client, server: endpoint) { runtime, agent in
                _ = try await client.create(boundPod("shell", command: ["fake", "run"]))
                #expect(await eventually { (try? await client.get(CoreV1.Pod.self, name: "shell", namespace: "default"))?.status?.phase == "Running" })
                try await body(runtime, agent, server)
            }
        }
    }

    @Test func execStreamsStdinOutputAndExitStatus() async throws {
        try await withShellPod { _, agent, server in
            let ws = try WebSocketTestClient(port: try #require(agent.serverPort), pki: server.pki)
            let cat = try await ws.exchange("/exec/default/shell/app?command=fake&command=cat&stdin=true&stdout=true&stderr=true",
                                            send: [WebSocketFrame(opcode: .binary, payload: [0] + Array("hello\n".utf8)),
                                                   WebSocketFrame(opcode: .binary, payload: [255, 0])])
            #expect(cat.statusLine == "HTTP/1.1 101 Switching Protocols")
            #expect(cat.head.contains("Sec-WebSocket-Protocol: v5.channel.k8s.io") && cat.head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
            #expect(cat.channel(1) == "hello\n")
            #expect(cat.channel(3) == #"{"metadata":{},"status":"Success"}"#)
            #expect(cat.frames.last?.opcode == .close)

            let failing = try await ws.exchange("/exec/default/shell/app?command=fake&command=exit&command=3&stdout=true",
                                                protocols: "v4.channel.k8s.io")
            #expect(failing.channel(3).contains(#""reason":"NonZeroExitCode""#) && failing.channel(3).contains(#""message":"3""#))

            let stderr = try await ws.exchange("/exec/default/shell/app?command=fake&command=stderr&command=oops&stdout=true&stderr=true")
            #expect(stderr.channel(2) == "oops\n" && stderr.channel(1).isEmpty)

            let terminal = try await ws.exchange("/exec/default/shell/app?command=fake&command=echo&command=hi&stdout=true&stdin=true&tty=true")
            #expect(terminal.channel(1) == "hi\r\n")

            // base64: text frames, channel digit first.
            let base64 = try await ws.exchange("/exec/default/shell/app?command=fake&command=echo&command=hi&stdout=true",
                                               protocols: "base64.channel.k8s.io")
            #expect(base64.frames.first == WebSocketFrame(opcode: .text, payload: Array("1aGkK".utf8)))
        }
    }

    @Test func badRequestsAreHTTPErrorsBeforeTheUpgrade() async throws {
        try await withShellPod { _, agent, server in
            let ws = try WebSocketTestClient(port: try #require(agent.serverPort), pki: server.pki)
            let plain = try await ws.exchange("/exec/default/shell/app?command=ls&stdout=true", headers: [("Connection", "close")])
            #expect(plain.statusLine.contains(" 400 ") && plain.body.contains("Upgrade request required"))
            let unknownProtocol = try await ws.exchange("/exec/default/shell/app?command=ls&stdout=true", protocols: "v9.channel.k8s.io")
            #expect(unknownProtocol.statusLine.contains(" 400 "))
            let noCommand = try await ws.exchange("/exec/default/shell/app?stdout=true")
            #expect(noCommand.statusLine.contains(" 400 ") && noCommand.body.contains("at least 1 command"))
            let missingPod = try await ws.exchange("/exec/default/nope/app?command=ls&stdout=true")
            #expect(missingPod.statusLine.contains(" 404 "))
            let missingContainer = try await ws.exchange("/exec/default/shell/other?command=ls&stdout=true")
            #expect(missingContainer.statusLine.contains(" 404 "))
        }
    }

    @Test func apiServerChecksThePodAndContainerAndRequiresAnUpgrade() async throws {
        try await withShellPod { _, _, server in
            let api = try WebSocketTestClient(port: server.port, pki: server.pki)
            let plain = try await api.exchange("/api/v1/namespaces/default/pods/shell/exec?command=ls&stdout=true", headers: [("Connection", "close")])
            #expect(plain.statusLine.contains(" 400 ") && plain.body.contains("Upgrade request required"), "\(plain)")
            let badContainer = try await api.exchange("/api/v1/namespaces/default/pods/shell/exec?command=ls&stdout=true&container=nope")
            #expect(badContainer.statusLine.contains(" 400 ") && badContainer.body.contains("container nope is not valid for pod shell"), "\(badContainer)")
            let missing = try await api.exchange("/api/v1/namespaces/default/pods/nope/attach?stdout=true")
            #expect(missing.statusLine.contains(" 404 ") && missing.body.contains(#""reason":"NotFound""#), "\(missing)")
        }
    }

    /// Sends a raw SPDY port-forward upgrade for `path` to `port` and, once answered with a
    /// 101, forwards one connection to pod port 80. Returns the response head (the whole
    /// response when refused) and what the pair's error stream carried (nil without a 101).
    func spdyPortForward(port: Int, tls: TLSConfiguration, path: String) async throws -> (head: String, error: String?) {
        let request = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
            + "X-Stream-Protocol-Version: portforward.k8s.io\r\nContent-Length: 0\r\n\r\n"
        return try await UpgradeDialer.withConnection(host: "127.0.0.1", port: port, tls: tls) { raw in
            try await raw.write(Array(request.utf8))
            let (bytes, feed) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
            let (heads, headFeed) = AsyncStream<String>.makeStream()
            return try await withThrowingTaskGroup(of: (head: String, error: String?)?.self) { group in
                group.addTask {
                    var received: [UInt8] = []
                    var upgraded = false
                    do {
                        for try await buffer in raw.inbound {
                            if upgraded {
                                feed.yield(buffer)
                                continue
                            }
                            received += buffer.readableBytesView
                            guard let end = received.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
                            let head = String(decoding: received[..<end.lowerBound], as: UTF8.self)
                            headFeed.yield(head)
                            headFeed.finish()
                            upgraded = head.hasPrefix("HTTP/1.1 101")
                            if upgraded, end.upperBound < received.count { feed.yield(ByteBuffer(bytes: received[end.upperBound...])) }
                        }
                        feed.finish()
                    } catch {
                        feed.finish(throwing: error)
                    }
                    headFeed.finish()
                    // Refused: the whole response (head and body).
                    return upgraded ? nil : (String(decoding: received, as: UTF8.self), nil)
                }
                group.addTask {
                    var headIterator = heads.makeAsyncIterator()
                    let head = await headIterator.next() ?? ""
                    guard head.hasPrefix("HTTP/1.1 101") else { return nil }
                    let spdy = SPDYConnection(role: .client)
                    async let running: Void = spdy.run(inbound: bytes, write: { try await raw.write($0) })
                    let headers = { (type: String) in SPDYHeaders([("streamType", type), ("port", "80"), ("requestID", "0")]) }
                    let errorStream = try await spdy.openStream(headers: headers("error"))
                    try await errorStream.finish()
                    let dataStream = try await spdy.openStream(headers: headers("data"))
                    let message = String(buffer: try await errorStream.readAll())
                    _ = try? await dataStream.readAll()
                    await spdy.close()
                    try? await running
                    return (head, message)
                }
                while let next = try await group.next() {
                    if let result = next {
                        group.cancelAll()
                        return result
                    }
                }
                return ("", nil)
            }
        }
    }

    @Test func portForwardChecksPortsAndThePodAndReportsDialErrorsOnTheErrorStream() async throws {
        try await withShellPod { _, agent, server in
            let tls = try WebSocketTestClient(port: server.port, pki: server.pki).tls
            let base = "/api/v1/namespaces/default/pods"
            for (query, message) in [("ports=http", #"invalid port \"http\""#), ("ports=80,0", #"invalid port \"0\""#),
                                     ("ports=", "a port number is required"), ("ports=80&ports=70000", #"invalid port \"70000\""#)] {
                let result = try await spdyPortForward(port: server.port, tls: tls, path: "\(base)/shell/portforward?\(query)")
                #expect(result.head.contains(" 400 ") && result.head.contains(#""reason":"BadRequest""#) && result.head.contains(message)
                        && result.error == nil, "\(query): \(result)")
            }
            let missing = try await spdyPortForward(port: server.port, tls: tls, path: "\(base)/nope/portforward")
            #expect(missing.head.contains(" 404 ") && missing.head.contains(#""reason":"NotFound""#), "\(missing)")
            _ = try await agent.client.create(boundPod("elsewhere", command: ["fake", "run"], node: "node-2"))
            let pending = try await spdyPortForward(port: server.port, tls: tls, path: "\(base)/elsewhere/portforward")
            #expect(pending.head.contains(" 400 ") && pending.head.contains("it is not running"), "\(pending)")
            // The agent (on loopback; the node's address is the host's, not dialled here)
            // answers the SPDY upgrade, and the fake runtime's pods have no IP, so the dial
            // fails on the pair's error stream. The proxied path is in the integration tests.
            let forwarded = try await spdyPortForward(port: try #require(agent.serverPort), tls: tls, path: "/portforward/default/shell")
            #expect(forwarded.head.contains("X-Stream-Protocol-Version: portforward.k8s.io"), "\(forwarded)")
            #expect(forwarded.error == "error forwarding port 80 to pod default/shell: pod has no IP address on this node", "\(forwarded)")
        }
    }

    @Test func apiServerAnswersAnUnreachableAgentWithServiceUnavailable() async throws {
        try await withClient { client, server in
            // A node whose agent address answers nothing: a port bound here and closed again.
            let closedPort = LoopbackPort.unused()
            var node = try await client.create(CoreV1.Node(metadata: MetaV1.ObjectMeta(name: "ghost")))
            node.status = CoreV1.NodeStatus(addresses: [CoreV1.NodeAddress(address: "127.0.0.1", type: "InternalIP")],
                                            daemonEndpoints: CoreV1.NodeDaemonEndpoints(kubeletEndpoint: CoreV1.DaemonEndpoint(Port: Int32(closedPort))))
            _ = try await client.updateStatus(node)
            _ = try await client.create(boundPod("lost", command: ["sleep", "1"], node: "ghost"))
            let api = try WebSocketTestClient(port: server.port, pki: server.pki)
            let result = try await api.exchange("/api/v1/namespaces/default/pods/lost/exec?command=ls&stdout=true")
            #expect(result.statusLine.contains(" 503 ") && result.body.contains("error dialing backend"), "\(result)")
        }
    }

    @Test func attachWritesStdinOfAContainerThatHasOne() async throws {
        try await withClient { client, server in
            let endpoint = try AgentServerConfiguration.selfSigned(nodeName: "node-1", ipAddresses: ["127.0.0.1"], bindAddress: "127.0.0.1",
                                                                   port: 0, clientCAPEM: server.pki.caCertificatePEM)
            try await withFakeAgent(client, server: endpoint) { runtime, agent in
                var pod = boundPod("catter", command: ["fake", "cat"])
                pod.spec?.restartPolicy = "Never"
                pod.spec?.containers[0].stdin = true
                pod.spec?.containers[0].stdinOnce = true
                _ = try await client.create(pod)
                #expect(await eventually { (try? await client.get(CoreV1.Pod.self, name: "catter", namespace: "default"))?.status?.phase == "Running" })
                let ws = try WebSocketTestClient(port: try #require(agent.serverPort), pki: server.pki)
                let result = try await ws.exchange("/attach/default/catter/app?stdin=true&stdout=true",
                                                   send: [WebSocketFrame(opcode: .binary, payload: [0] + Array("typed\n".utf8)),
                                                          WebSocketFrame(opcode: .binary, payload: [255, 0])])
                #expect(result.channel(1) == "typed\n", "\(result.frames)")
                #expect(result.channel(3) == #"{"metadata":{},"status":"Success"}"#)
                #expect(runtime.calls.contains { $0.operation == .attachStdin })
            }
        }
    }

    @Test func attachStreamsOutputUntilTheContainerExits() async throws {
        try await withShellPod { runtime, agent, server in
            let ws = try WebSocketTestClient(port: try #require(agent.serverPort), pki: server.pki)
            let id = try #require(try await runtime.listContainers(ContainerFilter(state: .running)).first?.id)
            // The container exits 7 once the session is open; the session ends with that code.
            let result = try await ws.exchange("/attach/default/shell/app?stdout=true") { runtime.exit(id, code: 7) }
            #expect(result.statusLine == "HTTP/1.1 101 Switching Protocols")
            #expect(result.channel(3).contains(#""message":"7""#), "\(result.frames)")
        }
    }
}

/// A loopback port nothing listens on (bound by the OS, then closed).
enum LoopbackPort {
    static func unused() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
