import CapstanAPI
import CapstanAPIMachinery

extension APIError {
    /// The error a failed response stands for: its `Status` body when it has one (as
    /// kube-apiserver sends), otherwise a generic error for the HTTP code, as client-go makes one.
    public init(statusBody body: [UInt8], httpStatus: Int) {
        if let parsed = try? JSONValue.parse(body), let error = APIError(statusJSON: parsed, httpStatus: httpStatus) {
            self = error
            return
        }
        let reason = APIError.reason(forHTTPStatus: httpStatus)
        var message = APIError.genericMessage(forHTTPStatus: httpStatus)
        let text = String(decoding: body.prefix(512), as: UTF8.self).trimmingWhitespace()
        if !text.isEmpty { message += " (\(text))" }
        self.init(code: httpStatus, reason: reason, message: message, details: nil)
    }

    /// A `Status` object (`{"kind":"Status",...}`) as an error; nil when `json` is not a Status.
    /// `httpStatus` stands in for a missing `code`.
    public init?(statusJSON json: JSONValue, httpStatus: Int = 0) {
        guard case .object(let o) = json, o["kind"]?.stringValue == "Status" else { return nil }
        var code = httpStatus
        if case .int(let c)? = o["code"], c != 0 { code = Int(c) }
        let reason = Reason(rawValue: o["reason"]?.stringValue ?? "")
        let message = o["message"]?.stringValue ?? APIError.genericMessage(forHTTPStatus: code)
        var details: Details?
        if case .object(let d)? = o["details"] {
            var causes: [Cause] = []
            for case .object(let c) in d["causes"]?.arrayValue ?? [] {
                causes.append(Cause(reason: c["reason"]?.stringValue ?? "", message: c["message"]?.stringValue ?? "",
                                    field: c["field"]?.stringValue ?? ""))
            }
            var retry = 0
            if case .int(let r)? = d["retryAfterSeconds"] { retry = Int(r) }
            details = Details(name: d["name"]?.stringValue ?? "", group: d["group"]?.stringValue ?? "",
                              kind: d["kind"]?.stringValue ?? "", uid: d["uid"]?.stringValue ?? "",
                              causes: causes, retryAfterSeconds: retry)
        }
        let continueToken = o["metadata"]?["continue"]?.stringValue
        self.init(code: code, reason: reason.rawValue.isEmpty ? APIError.reason(forHTTPStatus: code) : reason,
                  message: message, details: details, continueToken: continueToken)
    }

    /// The reason client-go assumes for an HTTP code without a Status body.
    static func reason(forHTTPStatus code: Int) -> Reason {
        switch code {
        case 400: return .badRequest
        case 401: return .unauthorized
        case 403: return .forbidden
        case 404: return .notFound
        case 405: return .methodNotAllowed
        case 406: return .notAcceptable
        case 409: return .conflict
        case 410: return .gone
        case 413: return .requestEntityTooLarge
        case 415: return .unsupportedMediaType
        case 422: return .invalid
        case 429: return .tooManyRequests
        case 500: return .internalError
        case 503: return .serviceUnavailable
        case 504: return .timeout
        default: return .unknown
        }
    }

    /// The messages client-go's `NewGenericServerResponse` uses.
    static func genericMessage(forHTTPStatus code: Int) -> String {
        switch code {
        case 400: return "the server rejected our request for an unknown reason"
        case 401: return "the server has asked for the client to provide credentials"
        case 403: return "the server does not allow access to the requested resource"
        case 404: return "the server could not find the requested resource"
        case 405: return "the server does not allow this method on the requested resource"
        case 406: return "the server was unable to respond with a content type that the client supports"
        case 409: return "the server reported a conflict"
        case 410: return "the server reported that the resource has expired"
        case 413: return "the server has rejected the request because the request body is too large"
        case 415: return "the server was unable to handle the media type requested"
        case 422: return "the server rejected our request due to an error in our request"
        case 429: return "the server has received too many requests and has asked us to try again later"
        case 500: return "an error on the server has prevented the request from succeeding"
        case 503: return "the server is currently unable to handle the request"
        case 504: return "the server was unable to return a response in the time allotted, but may still be processing the request"
        default: return "an error on the server (\(code)) has prevented the request from succeeding"
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
