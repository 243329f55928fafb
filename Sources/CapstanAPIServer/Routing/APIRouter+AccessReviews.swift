import CapstanAPI
import CapstanAPIMachinery
import CapstanRegistry
import NIOHTTP1

/// The review resources: create-only, never stored, answered from the caller's identity.
/// `SelfSubjectReview` (`kubectl auth whoami`) reports who the caller is; the access reviews
/// (`kubectl auth can-i`) allow every authenticated request until RBAC exists; `TokenReview`
/// checks a bearer token against the token file.
extension APIRouter {
    enum Review: String {
        case selfSubjectReview = "SelfSubjectReview"
        case tokenReview = "TokenReview"
        case selfSubjectAccessReview = "SelfSubjectAccessReview"
        case selfSubjectRulesReview = "SelfSubjectRulesReview"
        case subjectAccessReview = "SubjectAccessReview"
        case localSubjectAccessReview = "LocalSubjectAccessReview"

        init?(_ r: RegisteredResource) {
            guard r.group == "authentication.k8s.io" || r.group == "authorization.k8s.io" else { return nil }
            self.init(rawValue: r.kind)
        }
    }

    static let allowedReason = "allowed: Capstan authorizes every authenticated user (RBAC is not enforced yet)"

    /// Answers a create of a review resource; nil for every other resource.
    func accessReview(_ request: APIRequest, _ r: RegisteredResource, namespace: String?) throws(APIError) -> APIResponse? {
        guard let review = Review(r) else { return nil }
        guard let user = request.user else { throw APIError.unauthorized() }
        let body = try jsonBody(request)
        var duplicates: [String] = []
        let parsed: JSONValue
        do {
            parsed = try Registry.parseYAMLOrJSON(body, duplicates: &duplicates)
        } catch {
            throw APIError.badRequest("the body of the request was in an unknown format: \(error)")
        }
        guard case .object(var object) = parsed else { throw APIError.badRequest("the body of the request must be a JSON object") }
        if let kind = object["kind"]?.stringValue, !kind.isEmpty, kind != r.kind {
            throw APIError.badRequest("the kind in the data (\(kind)) does not match the expected kind (\(r.kind))")
        }
        if let v = object["apiVersion"]?.stringValue, !v.isEmpty, v != r.apiVersion {
            throw APIError.badRequest("the API version in the data (\(v)) does not match the expected API version (\(r.apiVersion))")
        }
        object["kind"] = .string(r.kind)
        object["apiVersion"] = .string(r.apiVersion)
        var meta = object["metadata"]?.objectValue ?? [:]
        meta["creationTimestamp"] = .null
        object["metadata"] = .object(meta)
        let spec = object["spec"]?.objectValue ?? [:]
        let kind = GroupKind(group: r.group, kind: r.kind)

        switch review {
        case .selfSubjectReview:
            object["status"] = .object(["userInfo": Self.userInfo(user)])
        case .tokenReview:
            let token = spec["token"]?.stringValue ?? ""
            guard !token.isEmpty else { throw APIError.invalid(kind, name: "", errors: [.required("spec.token")]) }
            var status: [String: JSONValue] = ["authenticated": .bool(false)]
            if let reviewed = tokenAuthenticator?.user(forToken: token) {
                status["authenticated"] = .bool(true)
                status["user"] = Self.userInfo(reviewed)
                if let audiences = spec["audiences"]?.arrayValue, !audiences.isEmpty { status["audiences"] = .array(audiences) }
            } else {
                status["error"] = .string("invalid bearer token")
            }
            object["status"] = .object(status)
        case .selfSubjectRulesReview:
            object["status"] = .object([
                "resourceRules": .array([.object(["verbs": .array([.string("*")]), "apiGroups": .array([.string("*")]),
                                                  "resources": .array([.string("*")])])]),
                "nonResourceRules": .array([.object(["verbs": .array([.string("*")]), "nonResourceURLs": .array([.string("*")])])]),
                "incomplete": .bool(false),
            ])
        case .selfSubjectAccessReview, .subjectAccessReview, .localSubjectAccessReview:
            var errors: [FieldError] = []
            let hasResource = spec["resourceAttributes"]?.objectValue != nil
            let hasNonResource = spec["nonResourceAttributes"]?.objectValue != nil
            if hasResource == hasNonResource {
                errors.append(.invalid("spec.resourceAttributes", value: .null,
                                       "exactly one of nonResourceAttributes or resourceAttributes must be specified"))
            }
            if review != .selfSubjectAccessReview, (spec["user"]?.stringValue ?? "").isEmpty,
               (spec["groups"]?.arrayValue ?? []).isEmpty {
                errors.append(.invalid("spec.user", value: .string(""), "at least one of user or group must be specified"))
            }
            if review == .localSubjectAccessReview, let ns = spec["resourceAttributes"]?["namespace"]?.stringValue, ns != namespace {
                errors.append(.invalid("spec.resourceAttributes.namespace", value: .string(ns),
                                       "must match metadata.namespace"))
            }
            if !errors.isEmpty { throw APIError.invalid(kind, name: meta["name"]?.stringValue ?? "", errors: errors) }
            object["status"] = .object(["allowed": .bool(true), "reason": .string(Self.allowedReason)])
        }
        return .json(.object(object), status: .created)
    }

    static func userInfo(_ user: UserInfo) -> JSONValue {
        var info: [String: JSONValue] = ["username": .string(user.name), "groups": .array(user.groups.map(JSONValue.string))]
        if !user.uid.isEmpty { info["uid"] = .string(user.uid) }
        return .object(info)
    }
}
