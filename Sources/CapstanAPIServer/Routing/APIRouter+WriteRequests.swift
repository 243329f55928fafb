import CapstanAPI
import CapstanAPIMachinery
import CapstanRegistry
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension APIRouter {
    /// Write options with what only the request knows: `force` and the User-Agent that names the
    /// field manager when `fieldManager` is absent.
    func writeOptions(_ request: APIRequest) throws(APIError) -> WriteOptions {
        var options = try writeOptions(request.query)
        if let force = request.query["force"] {
            guard ["", "true", "false", "1", "0"].contains(force) else {
                throw APIError.badRequest("invalid force value \"\(force)\": must be true or false")
            }
            options.force = request.query.bool("force")
        }
        options.userAgent = request.headers.first(name: "user-agent") ?? ""
        if let manager = options.fieldManager, manager.utf8.count > 128 {
            throw APIError.invalid(GroupKind(group: "meta.k8s.io", kind: "PatchOptions"), name: "", errors: [
                .invalid("fieldManager", value: .string(manager), "must be less than 128 characters"),
            ])
        }
        return options
    }

    /// An `application/yaml` body as JSON bytes.
    func yamlBody(_ request: APIRequest) throws(APIError) -> [UInt8] {
        var duplicates: [String] = []
        do {
            return try Registry.parseYAMLOrJSON(request.body, duplicates: &duplicates).serialized()
        } catch {
            throw APIError.badRequest("the body of the request was in an unknown format: error decoding YAML: \(error)")
        }
    }
}

extension Authenticator {
    /// Who a bearer token from the token file authenticates as (TokenReview), or nil.
    public func user(forToken token: String) -> UserInfo? {
        if let user = tokens?.users[token] {
            return UserInfo(name: user.name, uid: user.uid, groups: user.groups + ["system:authenticated"])
        }
        return serviceAccounts?.user(forToken: token, now: Int64(Date().timeIntervalSince1970))
    }
}
