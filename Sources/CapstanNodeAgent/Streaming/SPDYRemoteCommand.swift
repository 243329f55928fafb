/// Kubernetes' remote command over SPDY (exec and attach from kubectl ≤1.29, and the fallback
/// of later ones), as pure code. The version is chosen with `X-Stream-Protocol-Version` at the
/// upgrade from the same names as the WebSocket subprotocols (``RemoteCommand/StreamProtocol``,
/// whose error-stream messages it shares); the client opens one SPDY stream per `streamType`
/// header: `error` always, `stdin`/`stdout`/`stderr` as requested (no `stderr` with a tty),
/// `resize` from v3 on with a tty. A stream's half-close is its end (stdin's is end of file).
enum SPDYRemoteCommand {
    /// The versions served over SPDY, newest first (the base64 ones are WebSocket only).
    static let versions: [RemoteCommand.StreamProtocol] = [.v5, .v4, .v3, .v2, .v1]

    enum StreamType: String, Hashable, Sendable, CaseIterable {
        case error, stdin, stdout, stderr, resize
    }

    /// The client's first offered version that is served; offers come as separate header
    /// values or comma-separated in one. Nil when there is none (the upgrade is refused).
    static func negotiate(_ offered: [String]) -> RemoteCommand.StreamProtocol? {
        offered.lazy.flatMap { $0.split(separator: ",") }
            .compactMap { RemoteCommand.StreamProtocol(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
            .first { versions.contains($0) }
    }

    /// The streams the client opens for `options` (``RemoteCommand/Options`` already drops
    /// stderr with a tty).
    static func expectedStreams(for options: RemoteCommand.Options, protocol kind: RemoteCommand.StreamProtocol) -> Set<StreamType> {
        var streams: Set<StreamType> = [.error]
        if options.stdin { streams.insert(.stdin) }
        if options.stdout { streams.insert(.stdout) }
        if options.stderr && !options.tty { streams.insert(.stderr) }
        if options.tty && supportsResize(kind) { streams.insert(.resize) }
        return streams
    }

    static func supportsResize(_ kind: RemoteCommand.StreamProtocol) -> Bool {
        kind == .v3 || kind == .v4 || kind == .v5
    }
}
