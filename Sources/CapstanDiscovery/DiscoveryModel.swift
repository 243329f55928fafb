/// Served resources arranged as discovery lists them: groups by priority, versions preferred
/// first, resources by name.
struct DiscoveryModel {
    struct Version {
        var name: String
        var resources: [ServedResource]
    }

    struct Group {
        var name: String
        var versions: [Version]
    }

    var groups: [Group]

    init(_ resources: [ServedResource]) {
        var byGroup: [String: [String: [ServedResource]]] = [:]
        var seen: Set<String> = []
        for r in resources where seen.insert("\(r.group)/\(r.version)/\(r.plural)").inserted {
            byGroup[r.group, default: [:]][r.version, default: []].append(r)
        }
        groups = byGroup.keys.sorted(by: APIOrdering.groupPrecedes).map { name in
            let versions = byGroup[name]!
            return Group(name: name, versions: versions.keys.sorted(by: APIOrdering.versionPrecedes).map { v in
                Version(name: v, resources: versions[v]!.sorted { JSON.byteOrder($0.plural, $1.plural) })
            })
        }
    }
}
