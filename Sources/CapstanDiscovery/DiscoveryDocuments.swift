import CapstanAPI

/// The discovery documents of a set of served resources, serialized once.
///
/// Legacy discovery: `/api` (APIVersions), `/apis` (APIGroupList), `/apis/<group>` (APIGroup),
/// `/api/v1` and `/apis/<group>/<version>` (APIResourceList). Aggregated discovery v2:
/// `/api` and `/apis` as `APIGroupDiscoveryList`, served with `aggregatedContentType`.
/// Build a new value when the served resources change (a CRD is added) and serve its bytes.
public struct DiscoveryDocuments: Sendable {
    /// The exact content type of the aggregated documents; clients pick their decoder from it.
    public static let aggregatedContentType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

    /// `GET /api`: `APIVersions`.
    public let apiVersions: [UInt8]
    /// `GET /apis`: `APIGroupList`, groups in priority order, preferred version first.
    public let apiGroupList: [UInt8]
    /// `GET /api` with the aggregated Accept: the core group alone.
    public let aggregatedCore: [UInt8]
    /// `GET /apis` with the aggregated Accept: every other group.
    public let aggregatedGroups: [UInt8]
    /// Every served group/version in discovery order (`v1`, `apps/v1`, `autoscaling/v2`, ...).
    public let groupVersions: [String]

    private let resourceLists: [String: [UInt8]]
    private let groupDocuments: [String: [UInt8]]

    /// - Parameters:
    ///   - resources: what is served; a later entry with the same group, version and plural is ignored.
    ///   - serverAddress: `host:port` published in `serverAddressByClientCIDRs`.
    public init(resources: [ServedResource], serverAddress: String) {
        let groups = DiscoveryModel(resources)

        var lists: [String: [UInt8]] = [:]
        var groupDocs: [String: [UInt8]] = [:]
        var gvs: [String] = []
        var apiGroups: [JSON] = []
        var aggregatedItems: [JSON] = []
        var coreItem: JSON?

        for group in groups.groups {
            for version in group.versions {
                let gv = group.name.isEmpty ? version.name : "\(group.name)/\(version.name)"
                gvs.append(gv)
                lists[gv] = Self.resourceList(groupVersion: gv, group: group.name, version: version).serialized()
            }
            let item = Self.aggregatedGroup(group)
            if group.name.isEmpty {
                coreItem = item
            } else {
                let apiGroup = Self.apiGroup(group)
                apiGroups.append(apiGroup)
                aggregatedItems.append(item)
                var doc: [(String, JSON)] = [("kind", "APIGroup"), ("apiVersion", "v1")]
                if case .object(let members) = apiGroup { doc += members }
                groupDocs[group.name] = JSON.object(doc).serialized()
            }
        }

        let coreVersions = groups.groups.first(where: { $0.name.isEmpty })?.versions.map { JSON.string($0.name) } ?? []
        apiVersions = JSON.object([
            ("kind", "APIVersions"),
            ("versions", .array(coreVersions)),
            ("serverAddressByClientCIDRs", [["clientCIDR": "0.0.0.0/0", "serverAddress": .string(serverAddress)]]),
        ]).serialized()
        apiGroupList = JSON.object([
            ("kind", "APIGroupList"), ("apiVersion", "v1"), ("groups", .array(apiGroups)),
        ]).serialized()
        aggregatedCore = Self.aggregatedList(coreItem.map { [$0] } ?? []).serialized()
        aggregatedGroups = Self.aggregatedList(aggregatedItems).serialized()
        groupVersions = gvs
        resourceLists = lists
        groupDocuments = groupDocs
    }

    /// `GET /api/v1` (group "") or `GET /apis/<group>/<version>`: `APIResourceList`, or nil when
    /// that group/version is not served.
    public func resourceList(group: String, version: String) -> [UInt8]? {
        resourceLists[group.isEmpty ? version : "\(group)/\(version)"]
    }

    /// `GET /apis/<group>`: `APIGroup`, or nil when the group is not served.
    public func apiGroup(_ name: String) -> [UInt8]? { groupDocuments[name] }

    // MARK: Legacy

    private static func groupVersionForDiscovery(_ group: String, _ version: String) -> JSON {
        ["groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"), "version": .string(version)]
    }

    private static func apiGroup(_ group: DiscoveryModel.Group) -> JSON {
        [
            "name": .string(group.name),
            "versions": .array(group.versions.map { groupVersionForDiscovery(group.name, $0.name) }),
            "preferredVersion": groupVersionForDiscovery(group.name, group.versions[0].name),
        ]
    }

    private static func resourceList(groupVersion: String, group: String, version: DiscoveryModel.Version) -> JSON {
        var entries: [(name: String, json: JSON)] = []
        for r in version.resources {
            var o = JSONObjectBuilder()
            o.set("name", .string(r.plural))
            o.set("singularName", .string(r.singular))
            o.set("namespaced", .bool(r.namespaced))
            o.set("kind", .string(r.kind))
            o.set("verbs", JSON.strings(r.verbs))
            o.setNonEmpty("shortNames", r.shortNames)
            o.setNonEmpty("categories", r.categories)
            o.set("storageVersionHash", r.storageVersionHash.map(JSON.string))
            entries.append((r.plural, o.json))
            for sub in r.subresources {
                var s = JSONObjectBuilder()
                let name = "\(r.plural)/\(sub.name)"
                s.set("name", .string(name))
                s.set("singularName", "")
                s.set("namespaced", .bool(r.namespaced))
                if sub.responseKind.group != group || sub.responseKind.version != version.name {
                    s.set("group", .string(sub.responseKind.group))
                    s.set("version", .string(sub.responseKind.version))
                }
                s.set("kind", .string(sub.responseKind.kind))
                s.set("verbs", JSON.strings(sub.verbs))
                entries.append((name, s.json))
            }
        }
        entries.sort { JSON.byteOrder($0.name, $1.name) }
        return [
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": .string(groupVersion),
            "resources": .array(entries.map(\.json)),
        ]
    }

    // MARK: Aggregated v2

    private static func aggregatedList(_ items: [JSON]) -> JSON {
        [
            "kind": "APIGroupDiscoveryList",
            "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": [:],
            "items": .array(items),
        ]
    }

    private static func responseKind(_ gvk: GroupVersionKind) -> JSON {
        ["group": .string(gvk.group), "version": .string(gvk.version), "kind": .string(gvk.kind)]
    }

    private static func aggregatedGroup(_ group: DiscoveryModel.Group) -> JSON {
        let versions: [JSON] = group.versions.map { version in
            let resources: [JSON] = version.resources.map { r in
                var o = JSONObjectBuilder()
                o.set("resource", .string(r.plural))
                o.set("responseKind", responseKind(r.groupVersionKind))
                o.set("scope", r.namespaced ? "Namespaced" : "Cluster")
                o.set("singularResource", .string(r.singular))
                o.set("verbs", JSON.strings(r.verbs))
                o.setNonEmpty("shortNames", r.shortNames)
                o.setNonEmpty("categories", r.categories)
                let subs = r.subresources.sorted { JSON.byteOrder($0.name, $1.name) }
                if !subs.isEmpty {
                    o.set("subresources", .array(subs.map { sub in
                        [
                            "subresource": .string(sub.name),
                            "responseKind": responseKind(sub.responseKind),
                            "verbs": JSON.strings(sub.verbs),
                        ]
                    }))
                }
                return o.json
            }
            return ["version": .string(version.name), "resources": .array(resources), "freshness": "Current"]
        }
        return [
            "metadata": ["name": .string(group.name), "creationTimestamp": .null],
            "versions": .array(versions),
        ]
    }
}
