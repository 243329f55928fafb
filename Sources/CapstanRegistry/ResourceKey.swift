/// Where a resource's objects live in storage: `/registry/<group>/<plural>/<namespace>/<name>`
/// (`core` for the core group; cluster-scoped resources have no namespace segment).
public struct ResourceKey: Sendable, Hashable {
    /// `/registry/apps/deployments/` — every object of the resource.
    public let prefix: String

    public init(group: String, plural: String) {
        prefix = "/registry/\(group.isEmpty ? "core" : group)/\(plural)/"
    }

    /// Objects of one namespace (namespaced resources), or all objects.
    public func prefix(namespace: String?) -> String {
        guard let namespace else { return prefix }
        return prefix + namespace + "/"
    }

    public func key(namespace: String?, name: String) -> String {
        guard let namespace else { return prefix + name }
        return prefix + namespace + "/" + name
    }

    /// Namespace and name of a key under this prefix.
    public func split(_ key: String, namespaced: Bool) -> (namespace: String?, name: String) {
        let rest = key.dropFirst(prefix.utf8.count)
        guard namespaced, let slash = rest.firstIndex(of: "/") else { return (nil, String(rest)) }
        return (String(rest[..<slash]), String(rest[rest.index(after: slash)...]))
    }
}
