import Synchronization

/// The fake runtime's `exec`: nothing runs, the command decides what happens.
/// - `fake echo TEXT...`: TEXT and a newline on stdout (`\r\n` on a terminal), exit 0
/// - `fake stderr TEXT...`: the same on stderr (stdout on a terminal)
/// - `fake exit N`: exit N
/// - `fake cat`: copies stdin to stdout until stdin is closed, then exits 0
/// - anything else: runs until terminated (exit 137)
final class FakeExecSession: ExecSession {
    let stdout: AsyncStream<[UInt8]>
    let stderr: AsyncStream<[UInt8]>
    private let out: AsyncStream<[UInt8]>.Continuation
    private let err: AsyncStream<[UInt8]>.Continuation

    private struct State {
        var exitCode: Int32?
        var waiters: [CheckedContinuation<Int32, Never>] = []
        var stdinOpen: Bool
        var resizes: [TerminalSize] = []
    }

    private let state: Mutex<State>
    private let copiesStdin: Bool
    private let tty: Bool

    init(_ request: ExecRequest) {
        (stdout, out) = AsyncStream.makeStream()
        (stderr, err) = AsyncStream.makeStream()
        tty = request.tty
        let command = request.command
        copiesStdin = command == ["fake", "cat"]
        state = Mutex(State(stdinOpen: request.stdin))
        let newline: [UInt8] = request.tty ? [13, 10] : [10]
        guard command.first == "fake", command.count >= 2 else { return }
        let text = Array(command.dropFirst(2).joined(separator: " ").utf8) + newline
        switch command[1] {
        case "echo": out.yield(text); finish(0)
        case "stderr": (request.tty ? out : err).yield(text); finish(0)
        case "exit": finish(Int32(command.dropFirst(2).first ?? "0") ?? 1)
        default: break
        }
    }

    /// Terminal sizes received so far.
    var resizes: [TerminalSize] { state.withLock { $0.resizes } }

    func writeStdin(_ bytes: [UInt8]) async throws {
        guard state.withLock({ $0.stdinOpen && $0.exitCode == nil }) else {
            throw RuntimeError(.failedPrecondition, "stdin is not open")
        }
        if copiesStdin { out.yield(bytes) }
    }

    func closeStdin() async {
        let wasOpen = state.withLock { state in
            defer { state.stdinOpen = false }
            return state.stdinOpen
        }
        if wasOpen, copiesStdin { finish(0) }
    }

    func resize(_ size: TerminalSize) async {
        guard tty else { return }
        state.withLock { $0.resizes.append(size) }
    }

    func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            let code = state.withLock { state -> Int32? in
                if let code = state.exitCode { return code }
                state.waiters.append(continuation)
                return nil
            }
            if let code { continuation.resume(returning: code) }
        }
    }

    func terminate() async { finish(137) }

    private func finish(_ code: Int32) {
        let waiters = state.withLock { state -> [CheckedContinuation<Int32, Never>] in
            guard state.exitCode == nil else { return [] }
            state.exitCode = code
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        out.finish()
        err.finish()
        waiters.forEach { $0.resume(returning: code) }
    }
}
