import CapstanSPDY
import Foundation
import NIOCore
import Testing
@testable import CapstanNodeAgent

@Suite struct PortForwardCoreTests {
    let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func pairsStreamsByRequestID() {
        var core = PortForwardCore()
        #expect(core.streamOpened(1, headers: ["streamType": "error", "port": "80", "requestID": "0"], at: t0) == nil)
        #expect(core.streamOpened(3, headers: ["streamType": "error", "port": "81", "requestID": "1"], at: t0) == nil)
        #expect(core.streamOpened(5, headers: ["streamType": "data", "port": "81", "requestID": "1"], at: t0)
                == .forward(.init(requestID: "1", port: 81, errorStreamID: 3, dataStreamID: 5)))
        #expect(core.streamOpened(7, headers: ["streamType": "data", "port": "80", "requestID": "0"], at: t0)
                == .forward(.init(requestID: "0", port: 80, errorStreamID: 1, dataStreamID: 7)))
        #expect(core.waitingPairs == 0)
    }

    @Test func clientsWithoutRequestIDPairByStreamID() {
        var core = PortForwardCore()
        #expect(core.streamOpened(1, headers: ["streamType": "error", "port": "8080"], at: t0) == nil)
        #expect(core.streamOpened(3, headers: ["streamType": "data", "port": "8080"], at: t0)
                == .forward(.init(requestID: "1", port: 8080, errorStreamID: 1, dataStreamID: 3)))
    }

    @Test func badStreamsAreRejectedOrFailed() {
        var core = PortForwardCore()
        #expect(core.streamOpened(1, headers: ["streamType": "stdin"], at: t0)
                == .reject(streamID: 1, reason: "unknown streamType \"stdin\""))
        #expect(core.streamOpened(3, headers: ["port": "80"], at: t0)
                == .reject(streamID: 3, reason: "the stream has no streamType header"))
        #expect(core.streamOpened(5, headers: ["streamType": "error", "requestID": "9"], at: t0) == nil)
        #expect(core.streamOpened(7, headers: ["streamType": "error", "requestID": "9"], at: t0)
                == .reject(streamID: 7, reason: "request 9 already has an error stream"))
        #expect(core.streamOpened(9, headers: ["streamType": "data", "port": "http", "requestID": "9"], at: t0)
                == .fail(errorStreamID: 5, dataStreamID: 9, message: "invalid port \"http\": want a number from 1 to 65535"))
        #expect(core.streamOpened(11, headers: ["streamType": "error", "requestID": "10"], at: t0) == nil)
        #expect(core.streamOpened(13, headers: ["streamType": "data", "port": "70000", "requestID": "10"], at: t0)
                == .fail(errorStreamID: 11, dataStreamID: 13, message: "invalid port \"70000\": want a number from 1 to 65535"))
    }

    @Test func incompletePairsExpire() {
        var core = PortForwardCore(pairTimeout: .seconds(30))
        #expect(core.streamOpened(1, headers: ["streamType": "error", "port": "80", "requestID": "a"], at: t0) == nil)
        #expect(core.streamOpened(3, headers: ["streamType": "data", "port": "80", "requestID": "b"], at: t0.addingTimeInterval(10)) == nil)
        #expect(core.expire(at: t0.addingTimeInterval(29)) == [])
        #expect(core.expire(at: t0.addingTimeInterval(30)) == [
            .fail(errorStreamID: 1, dataStreamID: nil, message: "timed out waiting for the other stream of request a"),
        ])
        #expect(core.expire(at: t0.addingTimeInterval(40)) == [
            .fail(errorStreamID: nil, dataStreamID: 3, message: "timed out waiting for the other stream of request b"),
        ])
        #expect(core.waitingPairs == 0)
    }
}

/// The handler over real loopback TCP: a SPDY client written here (the codec in client mode)
/// plays kubectl, an echo server plays the pod's port.
@Suite struct PortForwardHandlerTests {
    func handler(pod: String = "default/web") -> @Sendable (SPDYConnection) async -> Void {
        { connection in
            await PortForwardHandler(pod: pod, dial: PortForwardHandler.dialTCP(host: "127.0.0.1"), clock: .system)
                .serve(connection)
        }
    }

    /// What kubectl does for one local connection: error stream (closed for writing at once),
    /// data stream, copy. Returns what came back on the data and error streams.
    func forward(_ connection: SPDYConnection, port: Int, requestID: Int, send: ByteBuffer) async throws -> (ByteBuffer, String) {
        let headers = { (type: String) in SPDYHeaders([("streamType", type), ("port", String(port)), ("requestID", String(requestID))]) }
        let errorStream = try await connection.openStream(headers: headers("error"))
        try await errorStream.finish()
        let dataStream = try await connection.openStream(headers: headers("data"))
        async let received = dataStream.readAll(limit: 64 << 20)
        var rest = send
        while rest.readableBytes > 0 {
            try await dataStream.write(rest.readSlice(length: min(rest.readableBytes, 100_000))!)
        }
        try await dataStream.finish()
        let data = try await received
        let message = String(buffer: try await errorStream.readAll())
        return (data, message)
    }

    @Test func forwardsBytesBothWaysAndEndsThePair() async throws {
        try await withEchoServer { podPort in
            try await withSPDYServer(handler()) { port in
                try await withSPDYClient(port: port) { client in
                    let (data, message) = try await forward(client, port: podPort, requestID: 0, send: ByteBuffer(string: "GET / HTTP/1.0\r\n\r\n"))
                    #expect(String(buffer: data) == "GET / HTTP/1.0\r\n\r\n")
                    #expect(message == "")
                }
            }
        }
    }

    @Test func largeTransfersFlowWithinTheWindows() async throws {
        // 8 MiB each way: far past the 64 KiB windows and the connection's buffers.
        let size = 8 << 20
        let block = (0..<65_521).map { UInt8(truncatingIfNeeded: $0 &* 31) }  // a prime length: no alignment luck
        var payload = ByteBuffer()
        while payload.readableBytes < size { payload.writeBytes(block.prefix(size - payload.readableBytes)) }
        let sent = payload
        try await withEchoServer { podPort in
            try await withSPDYServer(handler()) { port in
                try await withSPDYClient(port: port) { client in
                    let start = ContinuousClock.now
                    let (data, message) = try await forward(client, port: podPort, requestID: 0, send: sent)
                    let elapsed = ContinuousClock.now - start
                    #expect(data == sent)
                    #expect(message == "")
                    print("port-forward: 8 MiB echoed through SPDY in \(elapsed)")
                }
            }
        }
    }

    @Test func concurrentConnectionsShareOneSession() async throws {
        try await withEchoServer { podPort in
            try await withSPDYServer(handler()) { port in
                try await withSPDYClient(port: port) { client in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for request in 0..<8 {
                            group.addTask {
                                let text = String(repeating: "request \(request);", count: 5_000)
                                let (data, message) = try await forward(client, port: podPort, requestID: request, send: ByteBuffer(string: text))
                                #expect(String(buffer: data) == text)
                                #expect(message == "")
                            }
                        }
                        try await group.waitForAll()
                    }
                }
            }
        }
    }

    @Test func refusedConnectionIsReportedOnTheErrorStream() async throws {
        let nothing = try await closedPort()
        try await withSPDYServer(handler(pod: "default/web")) { port in
            try await withSPDYClient(port: port) { client in
                let (data, message) = try await forward(client, port: nothing, requestID: 0, send: ByteBuffer(string: "hi"))
                #expect(data.readableBytes == 0)
                #expect(message.hasPrefix("error forwarding port \(nothing) to pod default/web: "))
                #expect(message.lowercased().contains("refused"))
            }
        }
    }

    @Test func invalidStreamsAreResetAndBadPortsReported() async throws {
        try await withSPDYServer(handler()) { port in
            try await withSPDYClient(port: port) { client in
                let stray = try await client.openStream(headers: ["streamType": "stdin", "port": "80", "requestID": "0"])
                await #expect(throws: (any Error).self) { _ = try await stray.readAll() }

                let errorStream = try await client.openStream(headers: ["streamType": "error", "port": "http", "requestID": "1"])
                let dataStream = try await client.openStream(headers: ["streamType": "data", "port": "http", "requestID": "1"])
                #expect(String(buffer: try await errorStream.readAll()) == "invalid port \"http\": want a number from 1 to 65535")
                #expect(try await dataStream.readAll().readableBytes == 0)
            }
        }
    }
}
