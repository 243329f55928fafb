import Foundation
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

extension ExecRequest {
    /// Reads the exec/attach query kubectl sends (`command=ls&command=/&stdin=true&stdout=true&
    /// stderr=true&tty=false&container=c`). At least one `command` is required for exec.
    init(query: String, requireCommand: Bool = true) throws(ExecRequestError) {
        var command: [String] = []
        var flags: [String: Bool] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let value = parts.count > 1 ? (String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(parts[1])) : ""
            switch name {
            case "command": command.append(value)
            case "stdin", "stdout", "stderr", "tty":
                guard let flag = ["true": true, "1": true, "false": false, "0": false, "": true][value] else {
                    throw ExecRequestError("\(name)=\(value) is not a boolean")
                }
                flags[name] = flag
            default: break
            }
        }
        if requireCommand && command.isEmpty { throw ExecRequestError("you must specify at least one command for the container") }
        let request = ExecRequest(command: command, stdin: flags["stdin"] ?? false, stdout: flags["stdout"] ?? false,
                                  stderr: flags["stderr"] ?? false, tty: flags["tty"] ?? false)
        guard request.stdin || request.stdout || request.stderr else {
            throw ExecRequestError("you must specify at least one of stdin, stdout, stderr")
        }
        self = request
    }
}

/// A malformed exec/attach request (answered with 400 Bad Request).
struct ExecRequestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
