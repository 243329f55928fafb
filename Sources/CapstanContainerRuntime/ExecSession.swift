/// What `ContainerRuntime.exec` runs: a command in a running container, with or without a
/// terminal, and with stdin connected or not (`/dev/null`).
public struct ExecRequest: Sendable, Hashable {
    public var command: [String]
    /// Run on a pseudo-terminal: stdout and stderr are one stream, resizes apply.
    public var tty: Bool
    /// Connect stdin (`ExecSession.writeStdin`); otherwise the process reads `/dev/null`.
    public var stdin: Bool

    public init(command: [String], tty: Bool = false, stdin: Bool = false) {
        self.command = command
        self.tty = tty
        self.stdin = stdin
    }
}

/// A terminal's size in character cells.
public struct TerminalSize: Sendable, Hashable {
    public var width: UInt16
    public var height: UInt16

    public init(width: UInt16, height: UInt16) {
        self.width = width
        self.height = height
    }
}

/// A process started by `ContainerRuntime.exec`, streaming its output as it runs.
///
/// `stdout` and `stderr` end when the process (and anything it left holding its output)
/// is done; with a terminal everything arrives on `stdout` and `stderr` ends at once.
/// `wait()` returns the exit code in the shell's convention (128 + signal when killed).
public protocol ExecSession: Sendable {
    var stdout: AsyncStream<[UInt8]> { get }
    var stderr: AsyncStream<[UInt8]> { get }
    /// Writes to the process's stdin; returns once the bytes were handed over. Throws when
    /// stdin was not requested or is closed.
    func writeStdin(_ bytes: [UInt8]) async throws
    /// Closes stdin (the process sees end of file). Idempotent.
    func closeStdin() async
    /// Resizes the terminal (ignored without one).
    func resize(_ size: TerminalSize) async
    /// Waits for the process to exit and returns its exit code.
    func wait() async -> Int32
    /// Kills the process (the client went away). Idempotent.
    func terminate() async
}

/// The stdin of a container's main process, as one attach session uses it.
public protocol ContainerInput: Sendable {
    /// Writes to the process's stdin; throws once it is closed.
    func write(_ bytes: [UInt8]) async throws
    /// The attach session is done with stdin (its client closed it, or went away). With
    /// `ContainerConfig.stdinOnce` the process's stdin is closed (it sees end of file);
    /// otherwise it stays open for the next attach.
    func close() async
}
