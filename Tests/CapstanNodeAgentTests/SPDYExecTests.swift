import CapstanContainerRuntime
import CapstanSPDY
import CapstanTesting
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
@testable import CapstanNodeAgent

/// A local process behind the runtime's ``ExecSession``: the narrow edge runc's exec fills in
/// the agent. Reader threads (not the cooperative pool) drain its pipes.
final class ProcessExecSession: ExecSession, @unchecked Sendable {
    let stdout: AsyncStream<[UInt8]>
    let stderr: AsyncStream<[UInt8]>
    private let process = Process()
    private let input = Pipe()
    private final class ExitState: Sendable {
        let value = Mutex<(code: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))
    }
    private let exit = ExitState()

    init(_ command: [String]) throws {
        let outPipe = Pipe(), errPipe = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.standardInput = input
        process.standardOutput = outPipe
        process.standardError = errPipe
        let (out, outContinuation) = AsyncStream<[UInt8]>.makeStream()
        let (err, errContinuation) = AsyncStream<[UInt8]>.makeStream()
        stdout = out
        stderr = err
        let exit = self.exit
        process.terminationHandler = { process in
            let waiters = exit.value.withLock { state in
                state.code = process.terminationStatus
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: process.terminationStatus) }
        }
        try process.run()
        for (handle, continuation) in [(outPipe.fileHandleForReading, outContinuation), (errPipe.fileHandleForReading, errContinuation)] {
            Thread {
                while true {
                    let data = handle.availableData
                    if data.isEmpty { break }
                    continuation.yield(Array(data))
                }
                continuation.finish()
            }.start()
        }
    }

    func writeStdin(_ bytes: [UInt8]) async throws {
        try input.fileHandleForWriting.write(contentsOf: Data(bytes))
    }

    func closeStdin() async { try? input.fileHandleForWriting.close() }

    func resize(_ size: TerminalSize) async {}

    func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            let code: Int32? = exit.value.withLock { state in
                if let code = state.code { return code }
                state.waiters.append(continuation)
                return nil
            }
            if let code { continuation.resume(returning: code) }
        }
    }

    /// Kills the process (this test process started it, so its PID is ours to signal).
    func terminate() async {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Prints the resizes it gets and exits 0 after the `expected`-th.
final class ResizeRecordingSession: ExecSession {
    let stdout: AsyncStream<[UInt8]>
    let stderr = AsyncStream<[UInt8]> { $0.finish() }
    private let out: AsyncStream<[UInt8]>.Continuation
    private let state = Mutex<(remaining: Int, waiters: [CheckedContinuation<Void, Never>])>((0, []))

    init(expected: Int) {
        (stdout, out) = AsyncStream.makeStream()
        state.withLock { $0.remaining = expected }
    }

    func writeStdin(_ bytes: [UInt8]) async throws {}
    func closeStdin() async {}
    func resize(_ size: TerminalSize) async {
        out.yield(Array("\(size.width)x\(size.height);".utf8))
        let waiters = state.withLock { state in
            state.remaining -= 1
            guard state.remaining == 0 else { return [CheckedContinuation<Void, Never>]() }
            defer { state.waiters = [] }
            return state.waiters
        }
        if state.withLock({ $0.remaining == 0 }) { out.finish() }
        for waiter in waiters { waiter.resume() }
    }
    func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state in
                guard state.remaining > 0 else { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        return 0
    }
    func terminate() async {}
}

@Suite struct SPDYRemoteCommandTests {
    typealias Options = RemoteCommand.Options

    @Test func negotiatesTheClientsFirstVersionServedOverSPDY() {
        #expect(SPDYRemoteCommand.negotiate(["v5.channel.k8s.io, v4.channel.k8s.io, v3.channel.k8s.io"]) == .v5)
        #expect(SPDYRemoteCommand.negotiate(["v6.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io"]) == .v4)
        #expect(SPDYRemoteCommand.negotiate(["v4.base64.channel.k8s.io", "channel.k8s.io"]) == .v1)
        #expect(SPDYRemoteCommand.negotiate(["portforward.k8s.io"]) == nil)
        #expect(SPDYRemoteCommand.negotiate([]) == nil)
    }

    @Test func expectedStreamsFollowTheRequest() throws {
        let tty = try Options(query: "command=sh&stdin=true&stdout=true&stderr=true&tty=true", requireCommand: true)
        #expect(SPDYRemoteCommand.expectedStreams(for: tty, protocol: .v4) == [.error, .stdin, .stdout, .resize])
        #expect(SPDYRemoteCommand.expectedStreams(for: tty, protocol: .v2) == [.error, .stdin, .stdout])
        let plain = try Options(query: "command=ls&stdout=true&stderr=true", requireCommand: true)
        #expect(SPDYRemoteCommand.expectedStreams(for: plain, protocol: .v5) == [.error, .stdout, .stderr])
    }

    @Test func upgradesAreChosenFromTheHeaders() throws {
        let spdyExec: HTTPHeaders = ["Connection": "Upgrade", "Upgrade": "SPDY/3.1",
                                     "X-Stream-Protocol-Version": "v4.channel.k8s.io", "X-Stream-Protocol-Version": "v3.channel.k8s.io"]
        #expect(try StreamUpgrade.negotiate(portForward: false, headers: spdyExec) == .spdyRemoteCommand(.v4))
        #expect(StreamUpgrade.spdyRemoteCommand(.v4).responseHeaders.first(name: "X-Stream-Protocol-Version") == "v4.channel.k8s.io")
        let spdyForward: HTTPHeaders = ["Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": "portforward.k8s.io"]
        #expect(try StreamUpgrade.negotiate(portForward: true, headers: spdyForward) == .spdyPortForward)
        let tunnel: HTTPHeaders = ["Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                                   "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": "SPDY/3.1+portforward.k8s.io"]
        #expect(try StreamUpgrade.negotiate(portForward: true, headers: tunnel) == .webSocketPortForward(key: "dGhlIHNhbXBsZSBub25jZQ=="))
        #expect(StreamUpgrade.webSocketPortForward(key: "dGhlIHNhbXBsZSBub25jZQ==").responseHeaders.first(name: "Sec-WebSocket-Accept")
                == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        // Wrong pairings are clear 400s, not a hang.
        #expect(throws: LogRequestError(status: 400, "port-forward over SPDY needs X-Stream-Protocol-Version: portforward.k8s.io")) {
            try StreamUpgrade.negotiate(portForward: true, headers: spdyExec)
        }
        #expect(throws: LogRequestError.self) { try StreamUpgrade.negotiate(portForward: false, headers: spdyForward) }
        #expect(throws: LogRequestError.self) { try StreamUpgrade.negotiate(portForward: false, headers: ["Connection": "Upgrade", "Upgrade": "h2c"]) }
        #expect(throws: LogRequestError(status: 400, "Upgrade request required")) { try StreamUpgrade.negotiate(portForward: true, headers: [:]) }
    }

    @Test func resizeObjectsAreSplitFromAnyChunking() {
        var decoder = TerminalSizeDecoder()
        let text = Array(#"{"Width":80,"Height":24}{"Width":120,"Height":40}"#.utf8) + Array(#"{"Width":1"#.utf8)
        var sizes: [TerminalSize] = []
        for byte in text { sizes += decoder.feed([byte]) }
        #expect(sizes == [TerminalSize(width: 80, height: 24), TerminalSize(width: 120, height: 40)])
        #expect(decoder.feed(Array(#"0,"Height":2}"#.utf8)) == [TerminalSize(width: 10, height: 2)])
    }
}

/// Exec over SPDY on loopback TCP, with real processes behind the session.
@Suite struct SPDYExecHandlerTests {
    typealias Version = RemoteCommand.StreamProtocol

    /// Options as kubectl's query gives them.
    func options(_ command: [String], stdin: Bool = false, stderr: Bool = true, tty: Bool = false) -> RemoteCommand.Options {
        let query = (command.map { "command=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) }
            + ["stdin=\(stdin)", "stdout=true", "stderr=\(stderr)", "tty=\(tty)"]).joined(separator: "&")
        return try! RemoteCommand.Options(query: query, requireCommand: true)
    }

    func handler(_ version: Version, _ request: RemoteCommand.Options, clock: AgentClock = .system,
                 start: (@Sendable () async throws -> any ExecSession)? = nil) -> @Sendable (SPDYConnection) async -> Void {
        let command = request.command
        let start = start ?? { try ProcessExecSession(command) }
        return { connection in
            await SPDYExecHandler(streamProtocol: version, options: request, start: start, clock: clock).serve(connection)
        }
    }

    struct Outcome {
        var stdout = ""
        var stderr = ""
        var error = ""
    }

    /// Opens the streams as client-go does (error first), sends `stdin`, collects the rest.
    func exec(_ client: SPDYConnection, _ request: RemoteCommand.Options, version: Version, stdin: String = "",
              resizes: [String] = []) async throws -> Outcome {
        func open(_ type: SPDYRemoteCommand.StreamType) async throws -> SPDYStream {
            try await client.openStream(headers: ["streamType": type.rawValue])
        }
        let errorStream = try await open(.error)
        try await errorStream.finish()
        var outputs: [SPDYRemoteCommand.StreamType: SPDYStream] = [:]
        for type in SPDYRemoteCommand.expectedStreams(for: request, protocol: version).sorted(by: { $0.rawValue < $1.rawValue }) where type != .error {
            let stream = try await open(type)
            switch type {
            case .stdin:
                try await stream.write(stdin)
                try await stream.finish()
            case .resize:
                for size in resizes { try await stream.write(size) }
            default:
                outputs[type] = stream
            }
        }
        var outcome = Outcome()
        if let out = outputs[.stdout] { outcome.stdout = String(buffer: try await out.readAll()) }
        if let err = outputs[.stderr] { outcome.stderr = String(buffer: try await err.readAll()) }
        outcome.error = String(buffer: try await errorStream.readAll())
        return outcome
    }

    @Test func stdinInOutputsOutAndExitCodeReported() async throws {
        let request = options(["sh", "-c", "cat; echo oops >&2; exit 3"], stdin: true)
        let outcome = try await withSPDYServer(handler(.v4, request)) { port in
            try await withSPDYClient(port: port) { client in
                try await exec(client, request, version: .v4, stdin: "hello over spdy\n")
            }
        }
        #expect(outcome.stdout == "hello over spdy\n")
        #expect(outcome.stderr == "oops\n")
        #expect(outcome.error.contains(#""reason":"NonZeroExitCode""#))
        #expect(outcome.error.contains(#"{"message":"3","reason":"ExitCode"}"#))
    }

    @Test func successAndOlderVersions() async throws {
        let request = options(["sh", "-c", "echo ok"])
        for (version, expectedError) in [(Version.v5, #""status":"Success""#), (.v2, ""), (.v1, "")] {
            let outcome = try await withSPDYServer(handler(version, request)) { port in
                try await withSPDYClient(port: port) { client in try await exec(client, request, version: version) }
            }
            #expect(outcome.stdout == "ok\n")
            if expectedError.isEmpty { #expect(outcome.error == "") } else { #expect(outcome.error.contains(expectedError)) }
        }
        let failing = options(["sh", "-c", "exit 7"], stderr: false)
        let outcome = try await withSPDYServer(handler(.v3, failing)) { port in
            try await withSPDYClient(port: port) { client in try await exec(client, failing, version: .v3) }
        }
        #expect(outcome.error == "command terminated with non-zero exit code: exit status 7")
    }

    @Test func startFailureIsAStatusOnTheErrorStream() async throws {
        struct NoContainer: Error, CustomStringConvertible { var description: String { "container \"app\" is not running" } }
        let request = options(["true"], stderr: false)
        let outcome = try await withSPDYServer(handler(.v4, request, start: { throw NoContainer() })) { port in
            try await withSPDYClient(port: port) { client in try await exec(client, request, version: .v4) }
        }
        #expect(outcome.stdout == "")
        #expect(outcome.error.contains(#""message":"container \"app\" is not running""#))
        #expect(outcome.error.contains(#""status":"Failure""#))
    }

    @Test func ttyResizesReachTheSession() async throws {
        let request = options(["sh"], stdin: true, tty: true)
        let outcome = try await withSPDYServer(handler(.v4, request, start: { ResizeRecordingSession(expected: 2) })) { port in
            try await withSPDYClient(port: port) { client in
                try await exec(client, request, version: .v4, resizes: [#"{"Width":80,"Height":24}{"Width":"#, #"100,"Height":30}"#])
            }
        }
        #expect(outcome.stdout == "80x24;100x30;")
        #expect(outcome.error.contains(#""status":"Success""#))
    }

    @Test func missingStreamsTimeOut() async throws {
        let manual = ManualClock()
        let clock = AgentClock(manual, epoch: Date(timeIntervalSince1970: 0))
        let request = options(["true"], stdin: true, stderr: false)
        final class Flag: Sendable { let value = Mutex(false) }
        let started = Flag()
        try await withSPDYServer(handler(.v4, request, clock: clock, start: {
            started.value.withLock { $0 = true }
            return try ProcessExecSession(["true"])
        })) { port in
            try await withSPDYClient(port: port) { client in
                let errorStream = try await client.openStream(headers: ["streamType": "error"])
                // No stdin and stdout streams: after the timeout the server gives up.
                while manual.sleeperCount == 0 { await Task.yield() }
                manual.advance(by: .seconds(30))
                _ = errorStream
                await #expect(throws: (any Error).self) {
                    _ = try await client.openStream(headers: ["streamType": "stdin"])
                }
            }
        }
        #expect(!started.value.withLock { $0 })
    }
}
