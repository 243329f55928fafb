import CapstanContainerRuntime

/// A command the runtime could not start: its message on stderr and exit code 126, as a
/// shell reports a command it cannot execute (127 when the runtime says it was not found).
final class FailedExecSession: ExecSession {
    let stdout: AsyncStream<[UInt8]>
    let stderr: AsyncStream<[UInt8]>
    let code: Int32

    init(message: String) {
        stdout = AsyncStream { $0.finish() }
        let text = Array((message + "\n").utf8)
        stderr = AsyncStream {
            $0.yield(text)
            $0.finish()
        }
        let lowered = message.lowercased()
        code = lowered.contains("no such file") || lowered.contains("not found") ? 127 : 126
    }

    func writeStdin(_ bytes: [UInt8]) async throws { throw RuntimeError(.failedPrecondition, "the command did not start") }
    func closeStdin() async {}
    func resize(_ size: TerminalSize) async {}
    func wait() async -> Int32 { code }
    func terminate() async {}
}
