import CapstanAPI
import CapstanAPIMachinery
import CapstanRegistry
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension APIRouter {
    /// `POST serviceaccounts/<name>/token` (`kubectl create token`): a signed token for an existing
    /// service account, never stored.
    func tokenRequest(_ request: APIRequest, _ r: RegisteredResource, namespace: String?,
                      name: String) async throws(APIError) -> APIResponse {
        guard let tokens = tokenAuthenticator?.serviceAccounts else {
            throw APIError.serviceUnavailable("service account tokens need the cluster CA's P-256 key (start the server with its PKI)")
        }
        let body = try jsonBody(request)
        guard case .object(let object)? = try? JSONValue.parse(body) else {
            throw APIError.badRequest("the body of the request must be a TokenRequest object")
        }
        if let kind = object["kind"]?.stringValue, !kind.isEmpty, kind != "TokenRequest" {
            throw APIError.badRequest("the kind in the data (\(kind)) does not match the expected kind (TokenRequest)")
        }
        let entry = try await registry.get(r, namespace: namespace, name: name)
        let uid = (try? entry.object())?["metadata"]?["uid"]?.stringValue ?? ""
        let spec = object["spec"]?.objectValue ?? [:]
        var audiences = (spec["audiences"]?.arrayValue ?? []).compactMap(\.stringValue)
        if audiences.isEmpty { audiences = [ServiceAccountTokens.issuer] }
        var seconds: Int64 = 3600
        if case .int(let n)? = spec["expirationSeconds"] { seconds = n }
        guard seconds >= 600 else {
            throw APIError.invalid(GroupKind(group: "authentication.k8s.io", kind: "TokenRequest"), name: name, errors: [
                .invalid("spec.expirationSeconds", value: seconds, "may not specify a duration less than 10 minutes"),
            ])
        }
        seconds = min(seconds, 48 * 3600)
        let now = Int64(Date().timeIntervalSince1970)
        let token = tokens.issue(namespace: namespace ?? "", name: name, uid: uid, audiences: audiences, now: now, seconds: seconds)
        var metadata: [String: JSONValue] = ["name": .string(name), "creationTimestamp": .string(MetaV1.Time(secondsSinceEpoch: now).rfc3339)]
        if let namespace { metadata["namespace"] = .string(namespace) }
        return .json(.object([
            "kind": .string("TokenRequest"), "apiVersion": .string("authentication.k8s.io/v1"),
            "metadata": .object(metadata),
            "spec": .object(["audiences": .array(audiences.map(JSONValue.string)), "expirationSeconds": .int(seconds),
                             "boundObjectRef": spec["boundObjectRef"] ?? .null]),
            "status": .object(["token": .string(token),
                               "expirationTimestamp": .string(MetaV1.Time(secondsSinceEpoch: now + seconds).rfc3339)]),
        ]), status: .created)
    }
}
