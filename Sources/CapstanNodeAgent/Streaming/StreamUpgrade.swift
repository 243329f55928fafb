import CapstanHTTPUpgrade
import NIOHTTP1

/// How a streaming request upgrades (pure): exec and attach over WebSocket channels
/// (``RemoteCommand``, kubectl 1.30+) or over SPDY/3.1 with `X-Stream-Protocol-Version`
/// (``SPDYRemoteCommand``, kubectl ≤1.29); port-forward over raw SPDY (protocol
/// `portforward.k8s.io`, kubectl ≤1.30) or SPDY tunnelled in WebSocket
/// (`SPDY/3.1+portforward.k8s.io`, kubectl 1.31+). A request that fits none is a 400.
enum StreamUpgrade: Sendable, Hashable {
    case webSocketChannels(key: String, streamProtocol: RemoteCommand.StreamProtocol, echoed: Bool)
    case spdyRemoteCommand(RemoteCommand.StreamProtocol)
    case spdyPortForward
    case webSocketPortForward(key: String)

    static let spdy = "spdy/3.1"
    static let portForwardProtocol = "portforward.k8s.io"

    /// Chooses the upgrade for a request (`portForward`: the port-forward endpoint, else exec/attach).
    static func negotiate(portForward: Bool, headers: HTTPHeaders) throws(LogRequestError) -> StreamUpgrade {
        guard HTTPServerUpgrade.isUpgradeRequest(headers) else { throw LogRequestError(status: 400, "Upgrade request required") }
        let upgradeTo = headers.first(name: "upgrade")?.lowercased() ?? ""
        switch upgradeTo {
        case "websocket":
            guard let key = headers.first(name: "sec-websocket-key"), !key.isEmpty,
                  headers.first(name: "sec-websocket-version") == "13" else {
                throw LogRequestError(status: 400, "a WebSocket upgrade needs Sec-WebSocket-Key and Sec-WebSocket-Version: 13")
            }
            let offered = headers[canonicalForm: "sec-websocket-protocol"].map(String.init)
            if portForward {
                guard offered.contains(WebSocketTunnel.portForwardSubprotocol) else {
                    throw LogRequestError(status: 400, "port-forward over WebSocket needs the subprotocol \(WebSocketTunnel.portForwardSubprotocol)")
                }
                return .webSocketPortForward(key: key)
            }
            guard let (streamProtocol, echoed) = RemoteCommand.StreamProtocol.negotiate(offered) else {
                throw LogRequestError(status: 400, "none of the offered subprotocols is supported: "
                    + RemoteCommand.StreamProtocol.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return .webSocketChannels(key: key, streamProtocol: streamProtocol, echoed: echoed)
        case spdy:
            let offered = headers[canonicalForm: "x-stream-protocol-version"].map(String.init)
            if portForward {
                let names = offered.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
                guard names.contains(portForwardProtocol) else {
                    throw LogRequestError(status: 400, "port-forward over SPDY needs X-Stream-Protocol-Version: \(portForwardProtocol)")
                }
                return .spdyPortForward
            }
            guard let version = SPDYRemoteCommand.negotiate(offered) else {
                throw LogRequestError(status: 400, "none of the offered stream protocol versions is supported: "
                    + SPDYRemoteCommand.versions.map(\.rawValue).joined(separator: ", "))
            }
            return .spdyRemoteCommand(version)
        default:
            throw LogRequestError(status: 400, "unsupported upgrade \"\(upgradeTo)\" (this agent streams over WebSocket and SPDY/3.1)")
        }
    }

    /// The headers of the `101 Switching Protocols` answer.
    var responseHeaders: HTTPHeaders {
        switch self {
        case .webSocketChannels(let key, let streamProtocol, let echoed):
            return Self.webSocketHeaders(key: key, subprotocol: echoed ? streamProtocol.rawValue : nil)
        case .webSocketPortForward(let key):
            return Self.webSocketHeaders(key: key, subprotocol: WebSocketTunnel.portForwardSubprotocol)
        case .spdyRemoteCommand(let version):
            return ["Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": version.rawValue]
        case .spdyPortForward:
            return ["Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": Self.portForwardProtocol]
        }
    }

    private static func webSocketHeaders(key: String, subprotocol: String?) -> HTTPHeaders {
        var headers: HTTPHeaders = ["Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": WebSocketFrame.acceptKey(for: key)]
        if let subprotocol { headers.add(name: "Sec-WebSocket-Protocol", value: subprotocol) }
        return headers
    }
}
