import CapstanContainerRuntime
import Foundation

/// Kubernetes' remote command streams over WebSocket (exec and attach), as pure code: the
/// subprotocols, the request's options, the channel framing of messages and the final status.
///
/// Each WebSocket message carries one channel: 0 stdin, 1 stdout, 2 stderr, 3 error (the
/// final status), 4 resize. Binary protocols put the channel number in the first byte; the
/// base64 ones send text frames whose first character is the channel digit and whose rest
/// is base64. `v5` adds a close message from the client (`[255, channel]`) that ends stdin.
/// From `v4` on, the error channel carries a JSON `Status` (Success, or Failure with reason
/// `NonZeroExitCode` and a cause `ExitCode` holding the code); before, plain text.
enum RemoteCommand {
    enum StreamProtocol: String, Sendable, CaseIterable {
        case v5 = "v5.channel.k8s.io"
        case v4 = "v4.channel.k8s.io"
        case v4Base64 = "v4.base64.channel.k8s.io"
        case v3 = "v3.channel.k8s.io"
        case v2 = "v2.channel.k8s.io"
        case v1 = "channel.k8s.io"
        case base64 = "base64.channel.k8s.io"

        var isBase64: Bool { self == .v4Base64 || self == .base64 }
        var statusIsJSON: Bool { self == .v5 || self == .v4 || self == .v4Base64 }
        var closesStdin: Bool { self == .v5 }

        /// The first protocol the client offers that is served (the `Sec-WebSocket-Protocol`
        /// header values, comma separated, in the client's order). A client that offers none
        /// gets `channel.k8s.io` without the header echoed; nil when it offers only unknown ones.
        static func negotiate(_ offered: [String]) -> (protocol: StreamProtocol, echoed: Bool)? {
            let names = offered.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if names.isEmpty { return (.v1, false) }
            for name in names {
                if let chosen = StreamProtocol(rawValue: name) { return (chosen, true) }
            }
            return nil
        }
    }

    enum Channel: UInt8, Sendable {
        case stdin = 0, stdout = 1, stderr = 2, error = 3, resize = 4
    }

    /// What the client asked for: `command` (repeated, exec only), `stdin`, `stdout`, `stderr`, `tty`.
    struct Options: Sendable, Hashable {
        var command: [String] = []
        var stdin = false
        var stdout = false
        var stderr = false
        var tty = false

        struct Invalid: Error, Hashable, CustomStringConvertible {
            var description: String
        }

        /// Parses a query string (`command=ls&command=%2F&stdout=true`).
        init(query: String, requireCommand: Bool) throws(Invalid) {
            for pair in query.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = Self.decode(parts[0])
                let value = parts.count > 1 ? Self.decode(parts[1]) : ""
                func flag() throws(Invalid) -> Bool {
                    switch value.lowercased() {
                    case "true", "1", "": return true
                    case "false", "0": return false
                    default: throw Invalid(description: "invalid value \"\(value)\" for \(name)")
                    }
                }
                switch name {
                case "command": command.append(value)
                case "input", "stdin": stdin = try flag()
                case "output", "stdout": stdout = try flag()
                case "error", "stderr": stderr = try flag()
                case "tty": tty = try flag()
                default: break
                }
            }
            if requireCommand, command.isEmpty { throw Invalid(description: "you must specify at least 1 command") }
            guard stdin || stdout || stderr else { throw Invalid(description: "you must specify at least 1 of stdin, stdout, stderr") }
            // A terminal has one output stream.
            if tty { stderr = false }
        }

        private static func decode(_ text: Substring) -> String {
            let plus = text.replacingOccurrences(of: "+", with: " ")
            return plus.removingPercentEncoding ?? plus
        }
    }

    /// A message from the client, decoded.
    enum Incoming: Sendable, Hashable {
        case stdin([UInt8])
        case closeStdin
        case resize(TerminalSize)
        /// Anything else (another channel, or a message that cannot be read); ignored.
        case ignored
    }

    /// Frames one message to the client on `channel`.
    static func frame(_ channel: Channel, _ data: [UInt8], protocol kind: StreamProtocol) -> WebSocketFrame {
        if kind.isBase64 {
            let text = Array(String(channel.rawValue).utf8) + Array(Data(data).base64EncodedString().utf8)
            return WebSocketFrame(opcode: .text, payload: text)
        }
        return WebSocketFrame(opcode: .binary, payload: [channel.rawValue] + data)
    }

    /// Reads a data message (binary or text frame) from the client.
    static func decode(_ frame: WebSocketFrame, protocol kind: StreamProtocol) -> Incoming {
        guard frame.opcode == .binary || frame.opcode == .text, let first = frame.payload.first else { return .ignored }
        var channelByte = first
        var data = Array(frame.payload.dropFirst())
        if kind.isBase64 {
            guard first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9"),
                  let decoded = Data(base64Encoded: Data(data)) else { return .ignored }
            channelByte = first - UInt8(ascii: "0")
            data = Array(decoded)
        }
        if kind.closesStdin, channelByte == 255 {
            return data.first == Channel.stdin.rawValue ? .closeStdin : .ignored
        }
        switch Channel(rawValue: channelByte) {
        case .stdin: return .stdin(data)
        case .resize:
            struct Size: Decodable {
                var Width: UInt16
                var Height: UInt16
            }
            guard let size = try? JSONDecoder().decode(Size.self, from: Data(data)) else { return .ignored }
            return .resize(TerminalSize(width: size.Width, height: size.Height))
        default: return .ignored
        }
    }

    /// The error-channel message ending a session: nil when nothing is to be sent (success
    /// before v4).
    static func exitStatus(_ code: Int32, protocol kind: StreamProtocol) -> [UInt8]? {
        if code == 0 {
            return kind.statusIsJSON ? Array(#"{"metadata":{},"status":"Success"}"#.utf8) : nil
        }
        let message = "command terminated with non-zero exit code: exit status \(code)"
        guard kind.statusIsJSON else { return Array(message.utf8) }
        let status: [String: Any] = [
            "metadata": [String: Any](), "status": "Failure", "message": message, "reason": "NonZeroExitCode",
            "details": ["causes": [["reason": "ExitCode", "message": String(code)]]],
        ]
        return (try? JSONSerialization.data(withJSONObject: status, options: [.sortedKeys])).map(Array.init)
    }

    /// The error-channel message for a failure that is not an exit code (500 InternalError).
    static func failureStatus(_ message: String, protocol kind: StreamProtocol) -> [UInt8] {
        guard kind.statusIsJSON else { return Array(message.utf8) }
        let status: [String: Any] = [
            "metadata": [String: Any](), "status": "Failure", "message": message, "reason": "InternalError", "code": 500,
            "details": ["causes": [["message": message]]],
        ]
        return (try? JSONSerialization.data(withJSONObject: status, options: [.sortedKeys])).map(Array.init) ?? Array(message.utf8)
    }
}
