import CapstanAPI
import CapstanAPIMachinery
import CapstanDiscovery
import CapstanRegistry
import NIOHTTP1
import Synchronization

/// Maps request paths to handlers: discovery, OpenAPI, health, version, metrics, and the
/// resource paths `/api/v1/...` and `/apis/<group>/<version>/...`.
public final class APIRouter: Sendable {
    let registry: Registry
    let discovery: DiscoveryDocuments
    /// Built on first use: an idle server does not hold the documents (several MB).
    let openAPIDocuments: Mutex<OpenAPIDocuments?> = Mutex(nil)
    /// The v2 document in protobuf (older kubectl asks for it), built on first request.
    let openAPIV2Protobuf: Mutex<[UInt8]?> = Mutex(nil)
    let served: [CapstanDiscovery.ServedResource]
    let metrics: APIMetrics
    let health: HealthChecks
    let streams: StreamRegistry
    let now: @Sendable () -> MetaV1.MicroTime
    /// Checks tokens for TokenReview.
    let tokenAuthenticator: Authenticator?
    /// Clients of the node agents (pods/log); nil without a PKI.
    let nodeConnections: NodeConnections?

    init(registry: Registry, serverAddress: String, metrics: APIMetrics, health: HealthChecks,
         streams: StreamRegistry, nodeConnections: NodeConnections? = nil,
         now: @escaping @Sendable () -> MetaV1.MicroTime, authenticator: Authenticator? = nil) {
        self.tokenAuthenticator = authenticator
        self.nodeConnections = nodeConnections
        self.streams = streams
        self.registry = registry
        let served = registry.allResources.map { CapstanDiscovery.ServedResource($0.info) }
        self.discovery = DiscoveryDocuments(resources: served, serverAddress: serverAddress)
        self.served = served
        self.metrics = metrics
        self.health = health
        self.now = now
    }

    public func handle(_ request: APIRequest) async -> APIResponse {
        let start = ContinuousClock.now
        var label = RequestLabel(verb: request.method.rawValue, resource: "", code: 200)
        let response = await route(request, label: &label)
        label.code = Int(response.status.code)
        if case .bytes = response.body {
            metrics.record(label, duration: ContinuousClock.now - start)
        } else {
            metrics.recordStreamStart(label)
        }
        return response
    }

    private func route(_ request: APIRequest, label: inout RequestLabel) async -> APIResponse {
        let s = request.segments
        guard let first = s.first else {
            return .json(.object(["paths": .array(rootPaths.map(JSONValue.string))]))
        }
        // Health endpoints answer everyone, as Kubernetes allows unauthenticated probes of them.
        switch first {
        case "healthz", "livez", "readyz":
            return health.respond(first, request)
        case "version":
            return APIResponse(bytes: Self.versionInfo)
        default:
            break
        }
        guard request.user != nil else {
            return .error(.unauthorized())
        }
        switch first {
        case "api":
            if s.count == 1 { return discoveryRoot(request, core: true) }
            if s[1] != "v1" { return .error(.notFoundPath()) }
            if s.count == 7, s[2] == "namespaces", s[4] == "pods", s[6] == "log", request.method == .GET {
                label.verb = "GET"
                label.resource = "pods/log"
                return await podLogRoute(request, namespace: s[3], name: s[5])
            }
            if s.count == 7, s[2] == "namespaces", s[4] == "pods", ["exec", "attach", "portforward"].contains(s[6]),
               request.method == .GET || request.method == .POST {
                label.verb = "CONNECT"
                label.resource = "pods/" + s[6]
                return await podStreamRoute(request, namespace: s[3], name: s[5], subresource: s[6])
            }
            if s.count == 2 {
                guard let doc = discovery.resourceList(group: "", version: "v1") else { return .error(.notFoundPath()) }
                return APIResponse(bytes: doc)
            }
            return await resourceRoute(request, group: "", version: "v1", rest: Array(s[2...]), label: &label)
        case "apis":
            if s.count == 1 { return discoveryRoot(request, core: false) }
            if s.count == 2 {
                guard let doc = discovery.apiGroup(s[1]) else { return .error(.notFoundPath()) }
                return APIResponse(bytes: doc)
            }
            if s.count == 3 {
                guard let doc = discovery.resourceList(group: s[1], version: s[2]) else { return .error(.notFoundPath()) }
                return APIResponse(bytes: doc)
            }
            return await resourceRoute(request, group: s[1], version: s[2], rest: Array(s[3...]), label: &label)
        case "openapi":
            return openAPIRoute(request)
        case "metrics":
            return .text(metrics.exposition(), status: .ok)
        default:
            return .error(.notFoundPath())
        }
    }

    private var rootPaths: [String] {
        ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/metrics", "/openapi/v2", "/openapi/v3", "/readyz", "/version"]
            + discovery.groupVersions.map { $0.contains("/") ? "/apis/\($0)" : "/api/\($0)" }
    }

    private func discoveryRoot(_ request: APIRequest, core: Bool) -> APIResponse {
        let format = DiscoveryFormat.negotiate(accept: request.accept) ?? .legacy
        if format == .aggregatedV2 {
            return APIResponse(contentType: DiscoveryDocuments.aggregatedContentType,
                               bytes: core ? discovery.aggregatedCore : discovery.aggregatedGroups)
        }
        return APIResponse(bytes: core ? discovery.apiVersions : discovery.apiGroupList)
    }

    var openAPI: OpenAPIDocuments {
        openAPIDocuments.withLock { docs in
            if let docs { return docs }
            let made = OpenAPIDocuments(resources: served, schema: registry.schema)
            docs = made
            return made
        }
    }

    private func openAPIRoute(_ request: APIRequest) -> APIResponse {
        let s = request.segments
        let openAPI = self.openAPI
        if s.count == 2, s[1] == "v2" {
            if OpenAPIV2Protobuf.isRequested(accept: request.accept) {
                let bytes = openAPIV2Protobuf.withLock { cached in
                    if let cached { return cached }
                    let made = (try? JSONValue.parse(openAPI.v2)).map(OpenAPIV2Protobuf.encode) ?? []
                    cached = made
                    return made
                }
                return APIResponse(contentType: OpenAPIV2Protobuf.contentType, bytes: bytes)
            }
            if !request.accept.isEmpty, !request.accept.contains("json"), !request.accept.contains("*/*") {
                return .error(.notAcceptable(accepted: ["application/json"]))
            }
            return APIResponse(bytes: openAPI.v2)
        }
        if s.count == 2, s[1] == "v3" { return APIResponse(bytes: openAPI.index) }
        if s.count > 2, s[1] == "v3" {
            let path = s[2...].joined(separator: "/")
            guard let doc = openAPI.document(forPath: path) else { return .error(.notFoundPath()) }
            var response = APIResponse(bytes: doc)
            if request.query["hash"] != nil {
                response.headers.replaceOrAdd(name: "cache-control", value: "public, immutable")
                response.headers.replaceOrAdd(name: "expires", value: "Thu, 01 Jan 2099 00:00:00 GMT")
            }
            return response
        }
        return .error(.notFoundPath())
    }

    static let versionInfo: [UInt8] = JSONValue.object([
        "major": .string(String(KubernetesAPIVersion.major)),
        "minor": .string(String(KubernetesAPIVersion.minor)),
        "gitVersion": .string(KubernetesAPIVersion.gitVersion + "+capstan"),
        "gitCommit": .string("0000000000000000000000000000000000000000"),
        "gitTreeState": .string("clean"),
        "buildDate": .string("2026-11-21T00:00:00Z"),
        "goVersion": .string("swift6.3"),
        "compiler": .string("swiftc"),
        "platform": .string("linux/amd64"),
        "emulationMajor": .string(String(KubernetesAPIVersion.major)),
        "emulationMinor": .string(String(KubernetesAPIVersion.minor)),
        "minCompatibilityMajor": .string(String(KubernetesAPIVersion.major)),
        "minCompatibilityMinor": .string(String(KubernetesAPIVersion.minor - 1)),
    ]).serialized()
}

/// What a request is counted as in metrics.
public struct RequestLabel: Sendable, Hashable {
    public var verb: String
    public var resource: String
    public var code: Int
}
