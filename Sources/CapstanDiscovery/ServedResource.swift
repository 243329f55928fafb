import CapstanAPI

/// One resource as discovery and OpenAPI publish it: the built-in resources come from the
/// generated `ResourceInfo` table; custom resources will be described from their
/// CustomResourceDefinition the same way.
public struct ServedResource: Sendable, Hashable {
    /// A subresource (`pods/status`, `deployments/scale`), with the kind it speaks and its verbs.
    public struct Subresource: Sendable, Hashable {
        public var name: String
        /// The full group/version/kind of the subresource's requests and responses.
        public var responseKind: GroupVersionKind
        public var verbs: [String]

        public init(name: String, responseKind: GroupVersionKind, verbs: [String]) {
            self.name = name
            self.responseKind = responseKind
            self.verbs = verbs
        }
    }

    public var group: String
    public var version: String
    public var kind: String
    public var plural: String
    public var singular: String
    public var namespaced: Bool
    public var shortNames: [String]
    public var categories: [String]
    public var verbs: [String]
    public var subresources: [Subresource]
    /// The OpenAPI component name of the kind (`io.k8s.api.apps.v1.Deployment`); nil publishes
    /// the resource in discovery only.
    public var definition: String?
    /// The OpenAPI component name of the list kind; nil means `definition + "List"`.
    public var listDefinition: String?
    /// Published in legacy discovery; nil for resources without storage (`bindings`, reviews).
    public var storageVersionHash: String?

    public init(
        group: String, version: String, kind: String, plural: String, singular: String, namespaced: Bool,
        shortNames: [String] = [], categories: [String] = [], verbs: [String], subresources: [Subresource] = [],
        definition: String? = nil, listDefinition: String? = nil, storageVersionHash: String? = nil
    ) {
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.singular = singular
        self.namespaced = namespaced
        self.shortNames = shortNames
        self.categories = categories
        self.verbs = verbs
        self.subresources = subresources
        self.definition = definition
        self.listDefinition = listDefinition
        self.storageVersionHash = storageVersionHash
    }

    /// A built-in resource, with the subresource kinds and verbs Kubernetes publishes for it.
    /// The storage version hash is that of the resource's own group/version/kind; use
    /// `builtIn(from:)` to get every built-in resource with the hashes of their storage versions.
    public init(_ info: ResourceInfo) {
        let gvk = info.groupVersionKind
        self.init(
            group: info.group, version: info.version, kind: info.kind, plural: info.plural, singular: info.singular,
            namespaced: info.namespaced, shortNames: info.shortNames, categories: info.categories, verbs: info.verbs,
            subresources: info.subresources.map { Self.subresource($0, parent: gvk) },
            definition: info.definition,
            storageVersionHash: info.verbs.contains("watch")
                ? DocumentHash.storageVersionHash(group: info.group, version: info.version, kind: info.kind) : nil
        )
    }

    public var groupVersionKind: GroupVersionKind { GroupVersionKind(group: group, version: version, kind: kind) }
    public var groupVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    /// Every built-in resource of `schema`. Resources served in several versions of a group
    /// (HorizontalPodAutoscaler in autoscaling/v1 and v2) share the storage version hash of the
    /// group's preferred version, as they share one storage.
    public static func builtIn(from schema: APISchema = .builtIn) -> [ServedResource] {
        var served = schema.resources.map(ServedResource.init)
        var preferred: [String: ServedResource] = [:]
        for r in served where r.storageVersionHash != nil {
            let key = "\(r.group)/\(r.plural)"
            if let current = preferred[key], !APIOrdering.versionPrecedes(r.version, current.version) { continue }
            preferred[key] = r
        }
        for i in served.indices where served[i].storageVersionHash != nil {
            if let p = preferred["\(served[i].group)/\(served[i].plural)"] {
                served[i].storageVersionHash = DocumentHash.storageVersionHash(
                    group: p.group, version: p.version, kind: p.kind)
            }
        }
        return served
    }

    /// Verbs and kinds of the subresources Kubernetes serves, by subresource name.
    static func subresource(_ sub: ResourceInfo.Subresource, parent: GroupVersionKind) -> Subresource {
        func parentKind(_ kind: String) -> GroupVersionKind {
            GroupVersionKind(group: parent.group, version: parent.version, kind: kind)
        }
        let kind: GroupVersionKind
        let verbs: [String]
        switch sub.name {
        case "log":
            (kind, verbs) = (parent, ["get"])
        case "exec":
            (kind, verbs) = (parentKind("PodExecOptions"), ["create", "get"])
        case "attach":
            (kind, verbs) = (parentKind("PodAttachOptions"), ["create", "get"])
        case "portforward":
            (kind, verbs) = (parentKind("PodPortForwardOptions"), ["create", "get"])
        case "proxy":
            (kind, verbs) = (parentKind("\(parent.kind)ProxyOptions"), ["create", "delete", "get", "patch", "update"])
        case "binding", "eviction", "token":
            (kind, verbs) = (parent, ["create"])
        case "finalize":
            (kind, verbs) = (parent, ["update"])
        default:  // status, scale, approval, ephemeralcontainers, resize
            (kind, verbs) = (parent, ["get", "patch", "update"])
        }
        var responseKind = kind
        if let k = sub.kind {
            responseKind = GroupVersionKind(group: sub.group ?? parent.group, version: sub.version ?? parent.version, kind: k)
        }
        return Subresource(name: sub.name, responseKind: responseKind, verbs: verbs)
    }
}
