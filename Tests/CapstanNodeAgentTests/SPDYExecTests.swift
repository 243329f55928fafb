import CapstanSPDY
import CapstanTesting
import Foundation
import NIOCore
import Synchronization
import Testing
@testable import CapstanNodeAgent

/// A local process behind ``ExecSession``: the narrow edge a runtime's streaming exec fills in
/// the agent. Reader threads (not the cooperative pool) drain its pipes.
final class ProcessExecSession: ExecSession, @unchecked Sendable {
    let stdout: AsyncStream<ByteBuffer>
    let stderr: AsyncStream<ByteBuffer>
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
        let (out, outContinuation) = AsyncStream<ByteBuffer>.makeStream()
        let (err, errContinuation) = AsyncStream<ByteBuffer>.makeStream()
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
                    continuation.yield(ByteBuffer(bytes: data))
                }
                continuation.finish()
            }.start()
        }
    }

    func writeStdin(_ bytes: ByteBuffer) async throws {
        try input.fileHandleForWriting.write(contentsOf: Data(bytes.readableBytesView))
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
}

/// Prints the resizes it gets and exits 0 after the `expected`-th.
final class ResizeRecordingSession: ExecSession {
    let stdout: AsyncStream<ByteBuffer>
    let stderr = AsyncStream<ByteBuffer> { $0.finish() }
    private let out: AsyncStream<ByteBuffer>.Continuation
    private let state = Mutex<(remaining: Int, waiters: [CheckedContinuation<Void, Never>])>((0, []))

    init(expected: Int) {
        (stdout, out) = AsyncStream.makeStream()
        state.withLock { $0.remaining = expected }
    }

    func writeStdin(_ bytes: ByteBuffer) async throws {}
    func closeStdin() async {}
    func resize(_ size: TerminalSize) async {
        out.yield(ByteBuffer(string: "\(size.width)x\(size.height);"))
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
}

@Suite struct RemoteCommandProtocolTests {
    @Test func negotiatesTheClientsFirstSupportedVersion() {
        #expect(RemoteCommandProtocol.negotiate(["v5.channel.k8s.io, v4.channel.k8s.io, v3.channel.k8s.io"]) == .v5)
        #expect(RemoteCommandProtocol.negotiate(["v6.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io"]) == .v4)
        #expect(RemoteCommandProtocol.negotiate(["channel.k8s.io"]) == .v1)
        #expect(RemoteCommandProtocol.negotiate(["portforward.k8s.io"]) == nil)
        #expect(RemoteCommandProtocol.negotiate([]) == nil)
    }

    @Test func expectedStreamsFollowTheRequest() {
        let tty = ExecRequest(command: ["sh"], stdin: true, stdout: true, stderr: true, tty: true)
        #expect(RemoteCommandProtocol.v4.expectedStreams(for: tty) == [.error, .stdin, .stdout, .resize])
        #expect(RemoteCommandProtocol.v2.expectedStreams(for: tty) == [.error, .stdin, .stdout])
        let plain = ExecRequest(command: ["ls"], stdin: false, stdout: true, stderr: true, tty: false)
        #expect(RemoteCommandProtocol.v5.expectedStreams(for: plain) == [.error, .stdout, .stderr])
    }

    @Test func errorStreamMessages() {
        #expect(RemoteCommandProtocol.v4.errorStreamMessage(exitCode: 0) == #"{"apiVersion":"v1","kind":"Status","metadata":{},"status":"Success"}"#)
        #expect(RemoteCommandProtocol.v5.errorStreamMessage(exitCode: 3) == #"{"apiVersion":"v1","details":{"causes":[{"message":"3","reason":"ExitCode"}]},"kind":"Status","message":"command terminated with non-zero exit code: exit status 3","metadata":{},"reason":"NonZeroExitCode","status":"Failure"}"#)
        #expect(RemoteCommandProtocol.v3.errorStreamMessage(exitCode: 0) == nil)
        #expect(RemoteCommandProtocol.v2.errorStreamMessage(exitCode: 2) == "command terminated with non-zero exit code: exit status 2")
        #expect(RemoteCommandProtocol.v1.errorStreamMessage(exitCode: nil, failure: "no such container") == "no such container")
    }

    @Test func requestsAreReadFromTheQuery() throws {
        #expect(try ExecRequest(query: "command=sh&command=-c&command=echo%20a+b&container=c&stderr=true&stdout=true") ==
                ExecRequest(command: ["sh", "-c", "echo a b"], stdin: false, stdout: true, stderr: true, tty: false))
        #expect(try ExecRequest(query: "command=sh&stdin=1&tty=true&stdout=true").tty)
        #expect(throws: ExecRequestError.self) { try ExecRequest(query: "stdout=true") }
        #expect(throws: ExecRequestError.self) { try ExecRequest(query: "command=ls") }
        #expect(throws: ExecRequestError.self) { try ExecRequest(query: "command=ls&stdout=yes") }
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
    func handler(_ version: RemoteCommandProtocol, _ request: ExecRequest, clock: AgentClock = .system,
                 start: @escaping ExecStarter = { try ProcessExecSession($0.command) }) -> @Sendable (SPDYConnection) async -> Void {
        { connection in
            await SPDYExecHandler(version: version, request: request, start: start, clock: clock).serve(connection)
        }
    }

    struct Outcome {
        var stdout = ""
        var stderr = ""
        var error = ""
    }

    /// Opens the streams as client-go does (error first), sends `stdin`, collects the rest.
    func exec(_ client: SPDYConnection, _ request: ExecRequest, version: RemoteCommandProtocol, stdin: String = "",
              resizes: [String] = []) async throws -> Outcome {
        func open(_ type: RemoteCommandProtocol.StreamType) async throws -> SPDYStream {
            try await client.openStream(headers: ["streamType": type.rawValue])
        }
        let errorStream = try await open(.error)
        try await errorStream.finish()
        var outputs: [RemoteCommandProtocol.StreamType: SPDYStream] = [:]
        for type in version.expectedStreams(for: request).sorted(by: { $0.rawValue < $1.rawValue }) where type != .error {
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
        let request = ExecRequest(command: ["sh", "-c", "cat; echo oops >&2; exit 3"], stdin: true, stdout: true, stderr: true, tty: false)
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
        let request = ExecRequest(command: ["sh", "-c", "echo ok"], stdin: false, stdout: true, stderr: true, tty: false)
        for (version, expectedError) in [(RemoteCommandProtocol.v5, #""status":"Success""#), (.v2, ""), (.v1, "")] {
            let outcome = try await withSPDYServer(handler(version, request)) { port in
                try await withSPDYClient(port: port) { client in try await exec(client, request, version: version) }
            }
            #expect(outcome.stdout == "ok\n")
            if expectedError.isEmpty { #expect(outcome.error == "") } else { #expect(outcome.error.contains(expectedError)) }
        }
        let failing = ExecRequest(command: ["sh", "-c", "exit 7"], stdin: false, stdout: true, stderr: false, tty: false)
        let outcome = try await withSPDYServer(handler(.v3, failing)) { port in
            try await withSPDYClient(port: port) { client in try await exec(client, failing, version: .v3) }
        }
        #expect(outcome.error == "command terminated with non-zero exit code: exit status 7")
    }

    @Test func startFailureIsAStatusOnTheErrorStream() async throws {
        struct NoContainer: Error, CustomStringConvertible { var description: String { "container \"app\" is not running" } }
        let request = ExecRequest(command: ["true"], stdin: false, stdout: true, stderr: false, tty: false)
        let outcome = try await withSPDYServer(handler(.v4, request, start: { _ in throw NoContainer() })) { port in
            try await withSPDYClient(port: port) { client in try await exec(client, request, version: .v4) }
        }
        #expect(outcome.stdout == "")
        #expect(outcome.error.contains(#""message":"container \"app\" is not running""#))
        #expect(outcome.error.contains(#""status":"Failure""#))
    }

    @Test func ttyResizesReachTheSession() async throws {
        let request = ExecRequest(command: ["sh"], stdin: true, stdout: true, stderr: true, tty: true)
        let outcome = try await withSPDYServer(handler(.v4, request, start: { _ in ResizeRecordingSession(expected: 2) })) { port in
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
        let request = ExecRequest(command: ["true"], stdin: true, stdout: true, stderr: false, tty: false)
        final class Flag: Sendable { let value = Mutex(false) }
        let started = Flag()
        try await withSPDYServer(handler(.v4, request, clock: clock, start: { _ in
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
