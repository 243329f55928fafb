import CapstanAPIMachinery

/// A failure on the client's side of a request: configuration, connection, timeout, a response
/// that is not HTTP or JSON as expected, or a watch whose resourceVersion expired.
///
/// Errors the server reports as a `Status` are thrown as ``APIError`` instead (see
/// `APIError.init(statusBody:httpStatus:)`).
public struct APIClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong; open for growth.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case invalidConfiguration, connectionFailed, connectionClosed, timeout, invalidResponse
            case expired, shutdown, invalidRequest
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The kubeconfig or client configuration is unusable (missing server, unreadable files, bad PEM).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// No connection could be established (refused, unreachable, TLS handshake failed); nothing was sent.
        public static let connectionFailed = Code(.connectionFailed)
        /// The connection closed before the response was complete.
        public static let connectionClosed = Code(.connectionClosed)
        /// The request took longer than the configured timeout.
        public static let timeout = Code(.timeout)
        /// The server's answer is not what the API promises (not HTTP, not JSON, wrong shape).
        public static let invalidResponse = Code(.invalidResponse)
        /// A watch's resourceVersion is older than the history the server keeps (410 Gone / Expired):
        /// list again and watch from the list's resourceVersion. ``APIClientError/status`` holds the Status.
        public static let expired = Code(.expired)
        /// The client was shut down.
        public static let shutdown = Code(.shutdown)
        /// The request cannot be made as asked (an update of an object without a name).
        public static let invalidRequest = Code(.invalidRequest)

        public var description: String {
            switch base {
            case .invalidConfiguration: return "invalid configuration"
            case .connectionFailed: return "connection failed"
            case .connectionClosed: return "connection closed"
            case .timeout: return "timeout"
            case .invalidResponse: return "invalid response"
            case .expired: return "expired"
            case .shutdown: return "shutdown"
            case .invalidRequest: return "invalid request"
            }
        }
    }

    /// When a failed request may be sent again without risk of applying it twice.
    enum RetryHint: Hashable, Sendable {
        /// The request never left the client: any method may be retried.
        case always
        /// The request may have reached the server: only idempotent methods may be retried.
        case idempotentOnly
        case never
    }

    public let code: Code
    public let message: String
    /// For ``Code/expired``: the `Status` the server sent.
    public let status: APIError?
    let retryHint: RetryHint

    init(_ code: Code, _ message: String, status: APIError? = nil, retryHint: RetryHint = .never) {
        self.code = code
        self.message = message
        self.status = status
        self.retryHint = retryHint
    }

    public var description: String { "\(code): \(message)" }

    static func configuration(_ message: String) -> APIClientError {
        APIClientError(.invalidConfiguration, message)
    }
}

/// True when `error` says a resourceVersion or continue token is too old, so the caller must list
/// again: an expired watch (``APIClientError/Code/expired``) or a 410 `Status` from a list.
public func isResourceExpired(_ error: any Error) -> Bool {
    if let error = error as? APIClientError { return error.code == .expired }
    if let error = error as? APIError {
        return error.code == 410 || error.reason == .expired || error.reason == .gone
    }
    return false
}
