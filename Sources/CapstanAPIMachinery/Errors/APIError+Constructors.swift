/// Constructors with the codes, reasons, messages and details kube-apiserver uses (`k8s.io/apimachinery/pkg/api/errors`).
extension APIError {
    /// The message of an optimistic-concurrency conflict on update.
    public static let objectModifiedMessage = "the object has been modified; please apply your changes to the latest version and try again"

    /// 400 BadRequest with the message as given.
    public static func badRequest(_ message: String) -> APIError {
        APIError(code: 400, reason: .badRequest, message: message)
    }

    /// 401 Unauthorized; kube-apiserver answers unauthenticated requests with the message `Unauthorized`.
    public static func unauthorized(_ message: String = "Unauthorized") -> APIError {
        APIError(code: 401, reason: .unauthorized, message: message.isEmpty ? "not authorized" : message)
    }

    /// 403 Forbidden: `pods "x" is forbidden: reason` (`pods is forbidden: …` without a name, `forbidden: …` without a resource).
    public static func forbidden(_ resource: GroupResource, name: String = "", reason: String) -> APIError {
        let message: String
        if resource.isEmpty {
            message = "forbidden: \(reason)"
        } else if name.isEmpty {
            message = "\(resource) is forbidden: \(reason)"
        } else {
            message = "\(resource) \(GoFormat.quote(name)) is forbidden: \(reason)"
        }
        return APIError(code: 403, reason: .forbidden, message: message,
                        details: Details(name: name, group: resource.group, kind: resource.resource))
    }

    /// 403 for a request the authorizer denied, with kube-apiserver's wording:
    /// `pods "x" is forbidden: User "bob" cannot get resource "pods" in API group "" in the namespace "default"`.
    /// For non-resource requests pass `path` and leave `resource` empty.
    public static func accessDenied(
        user: String, verb: String, group: String = "", resource: String = "", subresource: String = "",
        namespace: String = "", name: String = "", path: String = "", reason: String = ""
    ) -> APIError {
        var msg: String
        if resource.isEmpty {
            msg = "User \(GoFormat.quote(user)) cannot \(verb) path \(GoFormat.quote(path))"
        } else {
            let target = subresource.isEmpty ? resource : "\(resource)/\(subresource)"
            if namespace.isEmpty {
                msg = "User \(GoFormat.quote(user)) cannot \(verb) resource \(GoFormat.quote(target)) in API group \(GoFormat.quote(group)) at the cluster scope"
            } else {
                msg = "User \(GoFormat.quote(user)) cannot \(verb) resource \(GoFormat.quote(target)) in API group \(GoFormat.quote(group)) in the namespace \(GoFormat.quote(namespace))"
            }
        }
        if !reason.isEmpty { msg += ": " + reason }
        return forbidden(GroupResource(group: group, resource: resource), name: name, reason: msg)
    }

    /// 404 NotFound: `pods "x" not found`, details {name, group, kind: plural resource}.
    public static func notFound(_ resource: GroupResource, name: String) -> APIError {
        APIError(code: 404, reason: .notFound, message: "\(resource) \(GoFormat.quote(name)) not found",
                 details: Details(name: name, group: resource.group, kind: resource.resource))
    }

    /// 404 for a URL that names no known resource: `the server could not find the requested resource`.
    public static func notFoundPath() -> APIError {
        APIError(code: 404, reason: .notFound, message: "the server could not find the requested resource", details: Details())
    }

    /// 405 MethodNotAllowed: `create is not supported on resources of kind "bindings"`.
    public static func methodNotSupported(_ resource: GroupResource, action: String) -> APIError {
        APIError(code: 405, reason: .methodNotAllowed,
                 message: "\(action) is not supported on resources of kind \(GoFormat.quote(resource.description))",
                 details: Details(group: resource.group, kind: resource.resource))
    }

    /// 406 NotAcceptable: `only the following media types are accepted: application/json, …`.
    public static func notAcceptable(accepted: [String]) -> APIError {
        APIError(code: 406, reason: .notAcceptable,
                 message: "only the following media types are accepted: " + accepted.joined(separator: ", "))
    }

    /// 409 AlreadyExists: `pods "x" already exists`.
    public static func alreadyExists(_ resource: GroupResource, name: String) -> APIError {
        APIError(code: 409, reason: .alreadyExists, message: "\(resource) \(GoFormat.quote(name)) already exists",
                 details: Details(name: name, group: resource.group, kind: resource.resource))
    }

    /// 409 AlreadyExists when `generateName` kept colliding, with the retry hint Kubernetes gives.
    public static func generateNameConflict(_ resource: GroupResource, name: String, retryAfterSeconds: Int = 1) -> APIError {
        APIError(code: 409, reason: .alreadyExists,
                 message: "\(resource) \(GoFormat.quote(name)) already exists, the server was not able to generate a unique name for the object",
                 details: Details(name: name, group: resource.group, kind: resource.resource, retryAfterSeconds: retryAfterSeconds))
    }

    /// 409 Conflict: `Operation cannot be fulfilled on pods "x": <message>`.
    public static func conflict(_ resource: GroupResource, name: String, message: String) -> APIError {
        APIError(code: 409, reason: .conflict,
                 message: "Operation cannot be fulfilled on \(resource) \(GoFormat.quote(name)): \(message)",
                 details: Details(name: name, group: resource.group, kind: resource.resource))
    }

    /// 409 Conflict for a stale `resourceVersion`: `… the object has been modified; please apply your changes to the latest version and try again`.
    public static func objectModified(_ resource: GroupResource, name: String) -> APIError {
        conflict(resource, name: name, message: objectModifiedMessage)
    }

    /// 410 Expired (`Gone`): the message as given (`too old resource version: 5 (10)`).
    public static func expired(_ message: String, continueToken: String? = nil) -> APIError {
        APIError(code: 410, reason: .expired, message: message, continueToken: continueToken)
    }

    /// 410 Expired for a watch or list from a compacted revision: `too old resource version: 5 (10)`.
    public static func tooOldResourceVersion(requested: UInt64, oldest: UInt64) -> APIError {
        expired("too old resource version: \(requested) (\(oldest))")
    }

    /// 410 Expired for a compacted continue token; with a fresh token the client may continue inconsistently.
    public static func continueExpired(newContinueToken: String? = nil) -> APIError {
        let base = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter"
        guard let newContinueToken, !newContinueToken.isEmpty else { return expired(base + ".") }
        return expired(base + ", or use the continue token in this response to retrieve the remainder of the results. "
                       + "Continuing with the provided token results in an inconsistent list - objects that were created, "
                       + "modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                       continueToken: newContinueToken)
    }

    /// 410 Gone with the message as given.
    public static func gone(_ message: String) -> APIError {
        APIError(code: 410, reason: .gone, message: message)
    }

    /// 413 RequestEntityTooLarge: `Request entity too large: limit is 3145728`.
    public static func requestEntityTooLarge(_ message: String) -> APIError {
        APIError(code: 413, reason: .requestEntityTooLarge, message: "Request entity too large: " + message)
    }

    /// 415 UnsupportedMediaType: `the body of the request was in an unknown format - accepted media types include: …`.
    public static func unsupportedMediaType(accepted: [String]) -> APIError {
        APIError(code: 415, reason: .unsupportedMediaType,
                 message: "the body of the request was in an unknown format - accepted media types include: " + accepted.joined(separator: ", "))
    }

    /// 422 Invalid: `Pod "x" is invalid: spec.containers[0].name: Required value`, one cause per field error.
    public static func invalid(_ kind: GroupKind, name: String, errors: [FieldError]) -> APIError {
        var message = "\(kind) \(GoFormat.quote(name)) is invalid"
        if let aggregate = FieldError.aggregate(errors) { message += ": " + aggregate }
        return APIError(code: 422, reason: .invalid, message: message,
                        details: Details(name: name, group: kind.group, kind: kind.kind, causes: errors.map(\.cause)))
    }

    /// 429 TooManyRequests with the message as given and a retry hint in details.
    public static func tooManyRequests(_ message: String = "Too many requests, please try again later.", retryAfterSeconds: Int = 0, causes: [Cause] = []) -> APIError {
        APIError(code: 429, reason: .tooManyRequests, message: message,
                 details: Details(causes: causes, retryAfterSeconds: retryAfterSeconds))
    }

    /// 500 InternalError: `Internal error occurred: <message>`, the message repeated as a cause.
    public static func internalError(_ message: String) -> APIError {
        APIError(code: 500, reason: .internalError, message: "Internal error occurred: " + message,
                 details: Details(causes: [Cause(message: message)]))
    }

    /// 500 ServerTimeout: `The list operation against pods could not be completed at this time, please try again.`
    public static func serverTimeout(_ resource: GroupResource, operation: String, retryAfterSeconds: Int) -> APIError {
        APIError(code: 500, reason: .serverTimeout,
                 message: "The \(operation) operation against \(resource) could not be completed at this time, please try again.",
                 details: Details(name: operation, group: resource.group, kind: resource.resource, retryAfterSeconds: retryAfterSeconds))
    }

    /// 503 ServiceUnavailable with the message as given.
    public static func serviceUnavailable(_ message: String) -> APIError {
        APIError(code: 503, reason: .serviceUnavailable, message: message)
    }

    /// 504 Timeout: `Timeout: <message>`.
    public static func timeout(_ message: String, retryAfterSeconds: Int = 0) -> APIError {
        APIError(code: 504, reason: .timeout, message: "Timeout: " + message,
                 details: Details(retryAfterSeconds: retryAfterSeconds))
    }
}
