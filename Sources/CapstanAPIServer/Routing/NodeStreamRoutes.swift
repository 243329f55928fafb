import CapstanAPI
import CapstanAPIMachinery
import CapstanHTTPUpgrade
import CapstanRegistry
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// `pods/exec`, `pods/attach` and `pods/portforward`: checked here (pod, node, container; a
/// running pod and valid `ports` for port-forward), then the upgrade is proxied to the pod's
/// agent (`/exec|attach/<namespace>/<pod>/<container>?<query>`, `/portforward/<namespace>/<pod>`) as
/// kube-apiserver's upgrade-aware proxy does: the client's connection is taken over, the
/// request goes to the agent over TLS with the API server's node client identity, and from
/// then on bytes are copied both ways, the agent's response head included (a `101` with the
/// negotiated subprotocol, or the agent's error). The proxy does not look at the protocol
/// inside (WebSocket channels or SPDY streams).
extension APIRouter {
    /// Request headers the agent needs to answer the upgrade itself.
    static let forwardedUpgradeHeaders = [
        "upgrade", "connection", "sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol",
        "sec-websocket-extensions", "x-stream-protocol-version", "user-agent",
    ]

    /// `GET|POST /api/v1/namespaces/NS/pods/NAME/exec|attach|portforward`.
    func podStreamRoute(_ request: APIRequest, namespace: String, name: String, subresource: String) async -> APIResponse {
        guard let pods = registry.resource(group: "", version: "v1", plural: "pods") else { return .error(.notFoundPath()) }
        do {
            return try await podStream(request, pods: pods, namespace: namespace, name: name, subresource: subresource)
        } catch {
            return .error(error)
        }
    }

    func podStream(_ request: APIRequest, pods: RegisteredResource, namespace: String, name: String,
                   subresource: String) async throws(APIError) -> APIResponse {
        let pod = try await registry.get(pods, namespace: namespace, name: name)
        guard case .object(let object)? = try? pod.object() else {
            throw APIError.internalError("pod \(name) could not be read")
        }
        let spec = object["spec"]?.objectValue ?? [:]
        let phase = object["status"]?["phase"]?.stringValue ?? ""
        let agentPath: String
        if subresource == "portforward" {
            try Self.validatePorts(request.rawQuery)
            guard phase == "Running" else {
                throw APIError.badRequest("unable to forward ports to pod \(name): it is not running (current phase is \(phase.isEmpty ? "Pending" : phase))")
            }
            agentPath = "/portforward/\(Self.pathEscape(namespace))/\(Self.pathEscape(name))"
        } else {
            let container = try Self.logContainer(request.query["container"], pod: name, object: object, spec: spec)
            if phase == "Succeeded" || phase == "Failed" {
                throw APIError.badRequest("cannot \(subresource) into a container in a completed pod; current phase is \(phase)")
            }
            agentPath = "/\(subresource)/\(Self.pathEscape(namespace))/\(Self.pathEscape(name))/\(Self.pathEscape(container))"
        }
        guard let nodeName = spec["nodeName"]?.stringValue, !nodeName.isEmpty else {
            throw APIError.badRequest("pod \(name) does not have a host assigned")
        }
        let (host, port) = try await agentEndpoint(nodeName)
        guard HTTPServerUpgrade.isUpgradeRequest(request.headers) else {
            throw APIError.badRequest("Upgrade request required")
        }
        guard let connections = nodeConnections else {
            throw APIError.serviceUnavailable("this server has no credentials for node agents")
        }
        let tls: TLSConfiguration
        do {
            tls = try connections.tlsConfiguration()
        } catch {
            throw APIError.internalError("node client credentials: \(error)")
        }
        let path = agentPath
        var head = "\(request.method.rawValue) \(path)\(request.rawQuery.isEmpty ? "" : "?" + request.rawQuery) HTTP/1.1\r\n"
        head += "Host: \(host.contains(":") ? "[\(host)]" : host):\(port)\r\n"
        for (header, value) in request.headers where Self.forwardedUpgradeHeaders.contains(header.lowercased()) {
            head += "\(header): \(value)\r\n"
        }
        head += "\r\n"
        let requestHead = Array(head.utf8)
        let target = "https://\(host):\(port)\(path)"
        return .upgrade { client in
            do {
                try await UpgradeDialer.withConnection(host: host, port: port, tls: tls) { agent in
                    try await agent.write(requestHead)
                    await RawConnection.splice(client, agent)
                }
            } catch {
                let status = APIError.serviceUnavailable("error dialing backend: \(target): \(error)")
                try await client.writeResponse(status: HTTPResponseStatus(statusCode: status.code),
                                               headers: ["Content-Type": "application/json"],
                                               body: status.statusJSON().serialized())
            }
        }
    }

    /// Checks `pods/portforward`'s `ports` parameters (PodPortForwardOptions: repeated, or
    /// comma-separated): each must be a port number 1-65535. They are optional: kubectl names
    /// the ports in the SPDY streams, not in the query.
    static func validatePorts(_ rawQuery: String) throws(APIError) {
        for pair in rawQuery.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts[0] == "ports" else { continue }
            let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
            for port in value.split(separator: ",", omittingEmptySubsequences: false) {
                let text = port.trimmingCharacters(in: .whitespaces)
                guard let number = Int(text), (1...65535).contains(number) else {
                    throw APIError.badRequest(text.isEmpty ? "ports: a port number is required"
                                                           : "ports: invalid port \"\(text)\": must be a number between 1 and 65535")
                }
            }
        }
    }

    /// Escapes a path segment (names are DNS labels, but be safe).
    static func pathEscape(_ segment: String) -> String {
        var out = ""
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
