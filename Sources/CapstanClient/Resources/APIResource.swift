import CapstanAPI

/// A served resource as the client addresses it: group, version, plural name, kind and scope.
/// Typed helpers find it from the type (``APIObject/resource``); generic code (CRDs, tools) makes
/// one by hand or from discovery.
public struct APIResource: Sendable, Hashable, CustomStringConvertible {
    public var group: String
    public var version: String
    /// The plural resource name in URLs (`pods`, `deployments`).
    public var plural: String
    public var kind: String
    public var namespaced: Bool

    public init(group: String, version: String, plural: String, kind: String, namespaced: Bool) {
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
    }

    /// The built-in resource serving `gvk`, from the API schema.
    public init?(_ gvk: GroupVersionKind, schema: APISchema = .builtIn) {
        guard let info = schema.resource(for: gvk) else { return nil }
        self.init(info)
    }

    public init(_ info: ResourceInfo) {
        self.init(group: info.group, version: info.version, plural: info.plural, kind: info.kind, namespaced: info.namespaced)
    }

    /// The built-in resource of `apiVersion` (`apps/v1`, `v1`) and `kind`.
    public init?(apiVersion: String, kind: String, schema: APISchema = .builtIn) {
        let (group, version) = Self.split(apiVersion: apiVersion)
        self.init(GroupVersionKind(group: group, version: version, kind: kind), schema: schema)
    }

    /// `v1` for the core group, else `group/version`.
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    public var groupVersionKind: GroupVersionKind { GroupVersionKind(group: group, version: version, kind: kind) }
    public var description: String { group.isEmpty ? plural : "\(plural).\(group)" }

    /// `/api/v1` or `/apis/GROUP/VERSION`.
    public var groupVersionPath: String { group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)" }

    /// The URL path of the collection, an object, or an object's subresource. `namespace` is
    /// ignored for cluster-scoped resources; nil for a namespaced one addresses all namespaces
    /// (lists and watches only).
    public func path(namespace: String? = nil, name: String? = nil, subresource: String? = nil) -> String {
        var path = groupVersionPath
        if namespaced, let namespace, !namespace.isEmpty {
            path += "/namespaces/"
            path += PercentEncoding.pathSegment(namespace)
        }
        path += "/"
        path += plural
        if let name {
            path += "/"
            path += PercentEncoding.pathSegment(name)
            if let subresource {
                path += "/"
                path += subresource
            }
        }
        return path
    }

    static func split(apiVersion: String) -> (group: String, version: String) {
        guard let slash = apiVersion.lastIndex(of: "/") else { return ("", apiVersion) }
        return (String(apiVersion[..<slash]), String(apiVersion[apiVersion.index(after: slash)...]))
    }
}
