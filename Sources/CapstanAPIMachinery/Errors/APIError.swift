import CapstanAPI

/// An API failure as kube-apiserver reports it: a `Status` object with an HTTP code, a reason and a
/// message (`Error from server (NotFound): pods "x" not found` in kubectl).
public struct APIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The machine-readable `reason` of a Status (`NotFound`, `Invalid`); open for growth.
    public struct Reason: RawRepresentable, Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { rawValue = value }
        public var description: String { rawValue }

        /// No reason (omitted on the wire).
        public static let unknown: Reason = ""
        public static let unauthorized: Reason = "Unauthorized"
        public static let forbidden: Reason = "Forbidden"
        public static let notFound: Reason = "NotFound"
        public static let alreadyExists: Reason = "AlreadyExists"
        public static let conflict: Reason = "Conflict"
        public static let gone: Reason = "Gone"
        public static let invalid: Reason = "Invalid"
        public static let serverTimeout: Reason = "ServerTimeout"
        public static let storeReadError: Reason = "StorageReadError"
        public static let timeout: Reason = "Timeout"
        public static let tooManyRequests: Reason = "TooManyRequests"
        public static let badRequest: Reason = "BadRequest"
        public static let methodNotAllowed: Reason = "MethodNotAllowed"
        public static let notAcceptable: Reason = "NotAcceptable"
        public static let requestEntityTooLarge: Reason = "RequestEntityTooLarge"
        public static let unsupportedMediaType: Reason = "UnsupportedMediaType"
        public static let internalError: Reason = "InternalError"
        public static let expired: Reason = "Expired"
        public static let serviceUnavailable: Reason = "ServiceUnavailable"
    }

    /// One cause in `details.causes`; `reason` is the cause type (`FieldValueRequired`).
    public struct Cause: Sendable, Hashable {
        public var reason: String
        public var message: String
        public var field: String

        /// A cause; empty parts are left out on the wire.
        public init(reason: String = "", message: String = "", field: String = "") {
            self.reason = reason
            self.message = message
            self.field = field
        }
    }

    /// `details` of a Status: what the failure is about; empty strings and zero are left out on the wire.
    public struct Details: Sendable, Hashable {
        public var name: String
        public var group: String
        /// The kind, or for most errors the plural resource (`pods`).
        public var kind: String
        public var uid: String
        public var causes: [Cause]
        public var retryAfterSeconds: Int

        /// Details; empty parts are left out on the wire.
        public init(name: String = "", group: String = "", kind: String = "", uid: String = "", causes: [Cause] = [], retryAfterSeconds: Int = 0) {
            self.name = name
            self.group = group
            self.kind = kind
            self.uid = uid
            self.causes = causes
            self.retryAfterSeconds = retryAfterSeconds
        }
    }

    /// HTTP status code, also the Status `code`.
    public var code: Int
    /// The Status `reason`.
    public var reason: Reason
    /// The human-readable message kubectl prints.
    public var message: String
    /// Nil when the Status carries no `details` at all.
    public var details: Details?
    /// `metadata.continue` of the Status (set on an expired continue token, as Kubernetes does).
    public var continueToken: String?

    /// An error with every part given; prefer the named constructors.
    public init(code: Int, reason: Reason, message: String, details: Details? = nil, continueToken: String? = nil) {
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.continueToken = continueToken
    }

    /// Seconds for a `Retry-After` header, when the error suggests one.
    public var retryAfterSeconds: Int? {
        guard let s = details?.retryAfterSeconds, s > 0 else { return nil }
        return s
    }

    public var description: String { message }

    /// The Status object exactly as kube-apiserver writes it:
    /// `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":…,"reason":…,"details":{…},"code":N}`.
    public func statusJSON() -> JSONValue {
        var metadata: [String: JSONValue] = [:]
        if let continueToken, !continueToken.isEmpty { metadata["continue"] = .string(continueToken) }
        var o: [String: JSONValue] = [
            "kind": .string("Status"),
            "apiVersion": .string("v1"),
            "metadata": .object(metadata),
            "status": .string("Failure"),
        ]
        if !message.isEmpty { o["message"] = .string(message) }
        if !reason.rawValue.isEmpty { o["reason"] = .string(reason.rawValue) }
        if let details { o["details"] = details.json }
        if code != 0 { o["code"] = .int(Int64(code)) }
        return .object(o)
    }

    /// The same Status as the generated `MetaV1.Status` type.
    public var status: MetaV1.Status {
        MetaV1.Status(
            metadata: MetaV1.ListMeta(continue: continueToken.flatMap { $0.isEmpty ? nil : $0 }),
            code: code == 0 ? nil : Int32(clamping: code),
            details: details.map { d in
                MetaV1.StatusDetails(
                    kind: d.kind.nonEmpty,
                    causes: d.causes.isEmpty ? nil : d.causes.map {
                        MetaV1.StatusCause(field: $0.field.nonEmpty, message: $0.message.nonEmpty, reason: $0.reason.nonEmpty)
                    },
                    group: d.group.nonEmpty,
                    name: d.name.nonEmpty,
                    retryAfterSeconds: d.retryAfterSeconds == 0 ? nil : Int32(clamping: d.retryAfterSeconds),
                    uid: d.uid.nonEmpty
                )
            },
            message: message.nonEmpty,
            reason: reason.rawValue.nonEmpty,
            status: "Failure"
        )
    }
}

extension APIError.Details {
    var json: JSONValue {
        var o: [String: JSONValue] = [:]
        if !name.isEmpty { o["name"] = .string(name) }
        if !group.isEmpty { o["group"] = .string(group) }
        if !kind.isEmpty { o["kind"] = .string(kind) }
        if !uid.isEmpty { o["uid"] = .string(uid) }
        if !causes.isEmpty {
            o["causes"] = .array(causes.map { c in
                var co: [String: JSONValue] = [:]
                if !c.reason.isEmpty { co["reason"] = .string(c.reason) }
                if !c.message.isEmpty { co["message"] = .string(c.message) }
                if !c.field.isEmpty { co["field"] = .string(c.field) }
                return .object(co)
            })
        }
        if retryAfterSeconds != 0 { o["retryAfterSeconds"] = .int(Int64(retryAfterSeconds)) }
        return .object(o)
    }
}
