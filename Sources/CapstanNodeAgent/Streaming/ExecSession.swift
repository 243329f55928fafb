import NIOCore

/// What a streaming exec (or attach) asks for: the command and which standard streams the
/// client wants. With `tty`, stderr is merged into stdout and the client may resize.
struct ExecRequest: Hashable, Sendable {
    var command: [String]
    var stdin: Bool
    var stdout: Bool
    var stderr: Bool
    var tty: Bool
}

/// A running exec process as the streaming protocols (SPDY here, WebSocket channels too) see
/// it; a container runtime's streaming exec is adapted to this. Output streams end when the
/// process has closed them; `wait()` returns the exit status once it has exited.
protocol ExecSession: Sendable {
    func writeStdin(_ bytes: ByteBuffer) async throws
    /// The client has no more input (EOF on the process's stdin).
    func closeStdin() async
    /// Output, finished when the process closes it (empty and finished when not requested).
    var stdout: AsyncStream<ByteBuffer> { get }
    var stderr: AsyncStream<ByteBuffer> { get }
    func resize(_ size: TerminalSize) async
    /// The exit code. Throws if the process could not be waited for.
    func wait() async throws -> Int32
}

/// Starts an exec session (the runtime's streaming exec, in the agent).
typealias ExecStarter = @Sendable (ExecRequest) async throws -> any ExecSession

/// A terminal size as the resize stream sends it: `{"Width":80,"Height":24}`.
struct TerminalSize: Hashable, Sendable, Codable {
    var width: UInt16
    var height: UInt16

    enum CodingKeys: String, CodingKey {
        case width = "Width"
        case height = "Height"
    }
}
