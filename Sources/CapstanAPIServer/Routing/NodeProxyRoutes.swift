import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import CapstanRegistry

/// Subresources served by the pod's node agent: `pods/log` is streamed from the agent's
/// `/containerLogs/<namespace>/<pod>/<container>` endpoint.
extension APIRouter {
    /// The query parameters `pods/log` passes on to the agent.
    static let logParameters = ["follow", "previous", "sinceSeconds", "sinceTime", "timestamps", "tailLines", "limitBytes"]

    /// `GET /api/v1/namespaces/NS/pods/NAME/log`.
    func podLogRoute(_ request: APIRequest, namespace: String, name: String) async -> APIResponse {
        guard let pods = registry.resource(group: "", version: "v1", plural: "pods") else { return .error(.notFoundPath()) }
        do {
            return try await podLog(request, pods: pods, namespace: namespace, name: name)
        } catch {
            return .error(error)
        }
    }

    func podLog(_ request: APIRequest, pods: RegisteredResource, namespace: String, name: String) async throws(APIError) -> APIResponse {
        let pod = try await registry.get(pods, namespace: namespace, name: name)
        guard case .object(let object)? = try? pod.object() else {
            throw APIError.internalError("pod \(name) could not be read")
        }
        let spec = object["spec"]?.objectValue ?? [:]
        let container = try Self.logContainer(request.query["container"], pod: name, object: object, spec: spec)
        guard let nodeName = spec["nodeName"]?.stringValue, !nodeName.isEmpty else {
            throw APIError.badRequest("pod \(name) does not have a host assigned")
        }
        let (host, port) = try await agentEndpoint(nodeName)
        guard let connections = nodeConnections else {
            throw APIError.serviceUnavailable("this server has no credentials for node agents")
        }
        var query = APIClient.Query()
        for parameter in Self.logParameters {
            if let value = request.query[parameter] { query.append(parameter, value) }
        }
        let stream: APIClient.ByteStream
        do {
            let client = try connections.client(host: host, port: port)
            stream = try await client.streamingGet(path: "/containerLogs/\(namespace)/\(name)/\(container)", query: query)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.internalError("Get \"https://\(host):\(port)/containerLogs/\(namespace)/\(name)/\(container)\": \(error)")
        }
        return APIResponse(contentType: "text/plain", stream: { writer in
            defer { stream.close() }
            for try await chunk in stream {
                try await writer.write(chunk)
            }
        })
    }

    /// The container whose log is asked for: the `container` parameter, else the
    /// `kubectl.kubernetes.io/default-container` annotation, else the only container.
    static func logContainer(_ asked: String?, pod: String, object: [String: JSONValue],
                             spec: [String: JSONValue]) throws(APIError) -> String {
        func names(_ key: String) -> [String] {
            (spec[key]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        }
        let containers = names("containers")
        let all = containers + names("initContainers") + names("ephemeralContainers")
        if let asked, !asked.isEmpty {
            guard all.contains(asked) else {
                throw APIError.badRequest("container \(asked) is not valid for pod \(pod)")
            }
            return asked
        }
        let annotations = object["metadata"]?.objectValue?["annotations"]?.objectValue
        if let preferred = annotations?["kubectl.kubernetes.io/default-container"]?.stringValue, all.contains(preferred) {
            return preferred
        }
        guard containers.count == 1, let only = containers.first else {
            throw APIError.badRequest("a container name must be specified for pod \(pod), choose one of: [\(all.joined(separator: " "))]")
        }
        return only
    }

    /// Where the node's agent serves: its first InternalIP (else Hostname, else ExternalIP)
    /// and `status.daemonEndpoints.kubeletEndpoint.Port` (10250 by default).
    func agentEndpoint(_ nodeName: String) async throws(APIError) -> (host: String, port: Int) {
        guard let nodes = registry.resource(group: "", version: "v1", plural: "nodes") else { throw APIError.notFoundPath() }
        let node = try await registry.get(nodes, namespace: nil, name: nodeName)
        guard case .object(let object)? = try? node.object() else {
            throw APIError.internalError("node \(nodeName) could not be read")
        }
        let status = object["status"]?.objectValue ?? [:]
        var addresses: [String: String] = [:]
        for address in status["addresses"]?.arrayValue ?? [] {
            if let type = address["type"]?.stringValue, let value = address["address"]?.stringValue, addresses[type] == nil {
                addresses[type] = value
            }
        }
        guard let host = addresses["InternalIP"] ?? addresses["Hostname"] ?? addresses["ExternalIP"] else {
            throw APIError.badRequest("node \(nodeName) has no address")
        }
        var port = 10250
        if case .int(let p)? = status["daemonEndpoints"]?["kubeletEndpoint"]?["Port"], p > 0, p < 65536 { port = Int(p) }
        return (host, port)
    }
}
