import Foundation

/// The versions of Kubernetes' remote-command protocol over SPDY, chosen with
/// `X-Stream-Protocol-Version` at the upgrade. One stream per `streamType`: `error` always,
/// `stdin`/`stdout`/`stderr` as requested (no `stderr` with a tty), `resize` from v3 with a
/// tty. Up to v3 the error stream carries a failure as plain text and nothing on success;
/// from v4 it carries a `Status` object, whose `NonZeroExitCode` reason gives the exit code.
enum RemoteCommandProtocol: String, CaseIterable, Sendable {
    case v5 = "v5.channel.k8s.io"
    case v4 = "v4.channel.k8s.io"
    case v3 = "v3.channel.k8s.io"
    case v2 = "v2.channel.k8s.io"
    case v1 = "channel.k8s.io"

    enum StreamType: String, Hashable, Sendable, CaseIterable {
        case error, stdin, stdout, stderr, resize
    }

    /// The client's first offered version that is supported; offers come as separate header
    /// values or comma-separated in one. Nil when there is none (the upgrade is refused).
    static func negotiate(_ offered: [String]) -> RemoteCommandProtocol? {
        offered.lazy.flatMap { $0.split(separator: ",") }
            .compactMap { RemoteCommandProtocol(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
            .first
    }

    var supportsResize: Bool { self == .v3 || self == .v4 || self == .v5 }
    var reportsStatus: Bool { self == .v4 || self == .v5 }

    /// The streams the client will open for `request`.
    func expectedStreams(for request: ExecRequest) -> Set<StreamType> {
        var streams: Set<StreamType> = [.error]
        if request.stdin { streams.insert(.stdin) }
        if request.stdout { streams.insert(.stdout) }
        if request.stderr && !request.tty { streams.insert(.stderr) }
        if request.tty && supportsResize { streams.insert(.resize) }
        return streams
    }

    /// What to write on the error stream when the command ended with `exitCode` (nil: it
    /// could not run, `failure` says why). Nil means write nothing.
    func errorStreamMessage(exitCode: Int32?, failure: String? = nil) -> String? {
        if let failure {
            return reportsStatus ? Self.statusJSON(status: "Failure", message: failure, reason: "InternalError", code: 500, exitCode: nil)
                                 : failure
        }
        guard let exitCode, exitCode != 0 else {
            return reportsStatus ? Self.statusJSON(status: "Success", message: nil, reason: nil, code: nil, exitCode: nil) : nil
        }
        let message = "command terminated with non-zero exit code: exit status \(exitCode)"
        return reportsStatus ? Self.statusJSON(status: "Failure", message: message, reason: "NonZeroExitCode", code: nil, exitCode: exitCode)
                             : message
    }

    private struct Status: Encodable {
        struct Details: Encodable {
            struct Cause: Encodable {
                var reason: String
                var message: String
            }
            var causes: [Cause]
        }
        struct Metadata: Encodable {}
        var kind = "Status"
        var apiVersion = "v1"
        var metadata = Metadata()
        var status: String
        var message: String?
        var reason: String?
        var details: Details?
        var code: Int?
    }

    private static func statusJSON(status: String, message: String?, reason: String?, code: Int?, exitCode: Int32?) -> String {
        let details = exitCode.map { Status.Details(causes: [.init(reason: "ExitCode", message: String($0))]) }
        let value = Status(status: status, message: message, reason: reason, details: details, code: code)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(value)) ?? Data(#"{"status":"Failure"}"#.utf8), as: UTF8.self)
    }
}

/// Splits the resize stream (JSON objects back to back, in arbitrary chunks) into sizes.
struct TerminalSizeDecoder {
    private var pending: [UInt8] = []

    /// Sizes completed by `bytes`; malformed objects are skipped.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [TerminalSize] {
        pending += bytes
        var sizes: [TerminalSize] = []
        var depth = 0, start: Int?, consumed = 0
        for (index, byte) in pending.enumerated() {
            if byte == UInt8(ascii: "{") {
                if depth == 0 { start = index }
                depth += 1
            } else if byte == UInt8(ascii: "}"), depth > 0 {
                depth -= 1
                if depth == 0, let from = start {
                    if let size = try? JSONDecoder().decode(TerminalSize.self, from: Data(pending[from...index])) { sizes.append(size) }
                    consumed = index + 1
                    start = nil
                }
            }
        }
        pending.removeFirst(consumed)
        if pending.count > 4096 { pending.removeAll() }  // no object is that long: garbage
        return sizes
    }
}
