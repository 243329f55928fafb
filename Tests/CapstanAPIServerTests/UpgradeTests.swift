import CapstanAPIServer
import CapstanHTTPUpgrade
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Testing

/// `APIResponse.upgrade`: the HTTP server hands the connection over raw (the plumbing under
/// pods/exec and pods/attach, and later SPDY).
@Suite(.tags(.component)) struct UpgradeTests {
    /// Serves `/echo` as an upgrade that echoes bytes back, anything else as "ok".
    func withEchoServer(_ body: (Int) async throws -> Void) async throws {
        let server = HTTPServer(
            host: "127.0.0.1", port: 0, tls: nil, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            streams: StreamRegistry(), authenticate: { _, _ in nil },
            handler: { request in
                guard request.path == "/echo" else { return .text("ok") }
                return .upgrade { connection in
                    try await connection.writeResponseHead(status: .switchingProtocols, headers: ["Upgrade": "echo", "Connection": "Upgrade"])
                    for try await buffer in connection.inbound { try await connection.write(buffer) }
                }
            })
        let bound = AsyncStream<Int>.makeStream()
        let task = Task { try await server.run(onBound: { bound.continuation.yield($0) }) }
        var ports = bound.stream.makeAsyncIterator()
        let port = try #require(await ports.next())
        do {
            try await body(port)
        } catch {
            await server.shutdown()
            _ = await task.result
            throw error
        }
        await server.shutdown()
        _ = await task.result
    }

    /// Sends each message and collects the answer until it ends with its expected suffix.
    func converse(_ port: Int, _ steps: [(send: String, until: String)]) async throws -> [String] {
        try await UpgradeDialer.withConnection(host: "127.0.0.1", port: port, tls: nil) { connection in
            var answers: [String] = []
            var iterator = connection.inbound.makeAsyncIterator()
            for step in steps {
                try await connection.write(Array(step.send.utf8))
                var answer = ""
                while !answer.hasSuffix(step.until), let buffer = try await iterator.next() {
                    answer += String(buffer: buffer)
                }
                answers.append(answer)
            }
            return answers
        }
    }

    @Test func upgradedConnectionCarriesRawBytesBothWays() async throws {
        try await withEchoServer { port in
            let answers = try await converse(port, [
                ("GET /echo HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n", "\r\n\r\n"),
                // Bytes that look like HTTP are not parsed any more.
                ("GET / HTTP/1.1\r\n\r\n\u{1}\u{2}", "\u{2}"),
            ])
            #expect(answers[0].hasPrefix("HTTP/1.1 101 Switching Protocols\r\n") && answers[0].contains("Upgrade: echo"), "\(answers)")
            #expect(answers[1] == "GET / HTTP/1.1\r\n\r\n\u{1}\u{2}")
        }
    }

    @Test func refusedUpgradeClosesTheConnectionAndPlainRequestsKeepIt() async throws {
        try await withEchoServer { port in
            let answers = try await converse(port, [
                ("GET /a HTTP/1.1\r\nHost: test\r\n\r\n", "ok"),
                ("GET /b HTTP/1.1\r\nHost: test\r\n\r\n", "ok"),
                // An upgrade the route does not take is answered, and the connection is not reused.
                ("GET /c HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: other\r\n\r\n", "ok"),
            ])
            #expect(answers.count == 3 && answers.allSatisfy { $0.hasPrefix("HTTP/1.1 200") })
            #expect(!answers[0].lowercased().contains("connection: close") && answers[2].lowercased().contains("connection: close"), "\(answers)")
        }
    }
}
