import CapstanAPI
import CapstanAPIMachinery
import CapstanHTTPUpgrade
import NIOCore
import NIOHTTP1

/// Who made a request, as the authenticator established it.
public struct UserInfo: Sendable, Hashable {
    public var name: String
    public var uid: String
    public var groups: [String]

    public init(name: String, uid: String = "", groups: [String] = []) {
        self.name = name
        self.uid = uid
        self.groups = groups
    }
}

/// A request as the router sees it: method, decoded path segments, query, headers, body.
public struct APIRequest: Sendable {
    public var method: HTTPMethod
    public var path: String
    /// The query as sent (still percent-encoded), for proxying.
    public var rawQuery: String
    public var segments: [String]
    public var query: QueryParameters
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public var user: UserInfo?

    public init(method: HTTPMethod, uri: String, headers: HTTPHeaders, body: [UInt8], user: UserInfo?) {
        self.method = method
        let (path, query) = QueryParameters.split(uri: uri)
        self.path = path
        self.rawQuery = uri.firstIndex(of: "?").map { String(uri[uri.index(after: $0)...]) } ?? ""
        self.segments = path.split(separator: "/", omittingEmptySubsequences: true).map { QueryParameters.percentDecode(String($0)) }
        self.query = query
        self.headers = headers
        self.body = body
        self.user = user
    }

    public var accept: String { headers.first(name: "accept") ?? "" }
    public var contentType: String { headers.first(name: "content-type") ?? "" }
}

/// A response: bytes, a stream the writer produces (watches), or a connection taken over
/// for an upgrade (exec, attach, port-forward).
public struct APIResponse: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        case stream(@Sendable (any ResponseStreamWriter) async throws -> Void)
        /// The server removes its HTTP handlers and hands the raw connection over; the handler
        /// writes the response head itself (`101 Switching Protocols`, or an error) and owns
        /// the connection until it returns. `status` and `headers` are only used for metrics.
        case upgrade(@Sendable (RawConnection) async throws -> Void)
    }

    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: Body

    public init(status: HTTPResponseStatus = .ok, contentType: String = "application/json", bytes: [UInt8]) {
        self.status = status
        self.headers = ["content-type": contentType]
        self.body = .bytes(bytes)
    }

    public init(status: HTTPResponseStatus = .ok, contentType: String,
                stream: @escaping @Sendable (any ResponseStreamWriter) async throws -> Void) {
        self.status = status
        self.headers = ["content-type": contentType, "cache-control": "no-cache, private"]
        self.body = .stream(stream)
    }

    /// Takes the connection over (see `Body.upgrade`).
    public static func upgrade(_ handler: @escaping @Sendable (RawConnection) async throws -> Void) -> APIResponse {
        var response = APIResponse(status: .switchingProtocols, bytes: [])
        response.body = .upgrade(handler)
        return response
    }

    public static func json(_ value: JSONValue, status: HTTPResponseStatus = .ok) -> APIResponse {
        APIResponse(status: status, bytes: value.serialized())
    }

    public static func text(_ text: String, status: HTTPResponseStatus = .ok) -> APIResponse {
        APIResponse(status: status, contentType: "text/plain; charset=utf-8", bytes: Array(text.utf8))
    }

    /// A Kubernetes `Status` error.
    public static func error(_ error: APIError) -> APIResponse {
        var response = APIResponse(status: HTTPResponseStatus(statusCode: error.code), bytes: error.statusJSON().serialized())
        if let retry = error.retryAfterSeconds { response.headers.add(name: "retry-after", value: String(retry)) }
        return response
    }

    public mutating func addWarning(_ text: String) {
        headers.add(name: "warning", value: "299 - \"\(text.replacingOccurrences(of: "\"", with: "\\\""))\"")
    }
}

/// Writes the chunks of a streamed response.
public protocol ResponseStreamWriter: Sendable {
    func write(_ bytes: [UInt8]) async throws
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
