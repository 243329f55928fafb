import CapstanContainerRuntime
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A process started with `runc exec --detach`: this process (the subreaper) waits for it,
/// threads copy its output into the streams, and one thread writes its stdin in order.
/// With a terminal, stdin and stdout are the pty master and resizes go to it.
final class OCIExecSession: ExecSession {
    let stdout: AsyncStream<[UInt8]>
    let stderr: AsyncStream<[UInt8]>
    private let pid: pid_t
    private let stdinWriter: FDWriter?
    private let terminal: Int32?
    private let control = ReadControl()
    private let exit = Mutex<(code: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))

    /// Takes ownership of the fds: `output`/`errors` are read to EOF and closed, `input` is
    /// written and closed. With a terminal, `terminal` is the master (the same as `output`,
    /// and `input` is a duplicate of it).
    init(pid: pid_t, input: Int32?, output: Int32, errors: Int32?, terminal: Int32?) {
        self.pid = pid
        self.terminal = terminal
        stdinWriter = input.map(FDWriter.init)
        let (out, outContinuation) = AsyncStream<[UInt8]>.makeStream()
        let (err, errContinuation) = AsyncStream<[UInt8]>.makeStream()
        stdout = out
        stderr = err
        PipeReader.stream(output, into: outContinuation, control: control, closes: true)
        if let errors {
            PipeReader.stream(errors, into: errContinuation, control: control, closes: true)
        } else {
            errContinuation.finish()
        }
        Task { [control] in
            let status = await Subprocess.wait(pid)
            let code = Subprocess.exitCode(fromWaitStatus: status)
            let waiters = self.exit.withLock { state -> [CheckedContinuation<Int32, Never>] in
                state.code = code
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            waiters.forEach { $0.resume(returning: code) }
            // Children the command left behind may hold the output open: stop reading soon.
            try? await Task.sleep(for: .milliseconds(terminal == nil ? 500 : 200))
            control.abandon()
        }
    }

    func writeStdin(_ bytes: [UInt8]) async throws {
        guard let stdinWriter else { throw RuntimeError(.failedPrecondition, "stdin was not requested") }
        try await stdinWriter.write(bytes)
    }

    func closeStdin() async {
        if terminal != nil {
            // End of file on a terminal is the EOF character (^D) at the start of a line.
            try? await stdinWriter?.write([4])
        } else {
            stdinWriter?.close()
        }
    }

    func resize(_ size: TerminalSize) async {
        guard let terminal else { return }
        var window = winsize(ws_row: size.height, ws_col: size.width, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(terminal, UInt(TIOCSWINSZ), &window)
    }

    func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            let code = exit.withLock { state -> Int32? in
                if let code = state.code { return code }
                state.waiters.append(continuation)
                return nil
            }
            if let code { continuation.resume(returning: code) }
        }
    }

    func terminate() async {
        if exit.withLock({ $0.code == nil }) { kill(pid, SIGKILL) }
    }

    deinit {
        stdinWriter?.close()
    }
}
