import CapstanAPI

/// The OpenAPI documents of a set of served resources, serialized once.
///
/// OpenAPI v3: `/openapi/v3` is `index`, which lists one document per path (`api/v1`,
/// `apis/apps/v1`, `api`, `apis`, `apis/apps`) under `/openapi/v3/<path>?hash=<H>`; each
/// group/version document has the resources' paths (with the `fieldValidation`, `dryRun`,
/// `fieldManager` and `force` parameters kubectl looks for) and every schema they reach.
/// OpenAPI v2: `/openapi/v2` is `v2`, one Swagger 2.0 document for everything.
/// Schemas carry no descriptions.
public struct OpenAPIDocuments: Sendable {
    /// `GET /openapi/v3`.
    public let index: [UInt8]
    /// `GET /openapi/v2` (JSON).
    public let v2: [UInt8]
    /// The document paths of the index, in byte order (`api`, `api/v1`, `apis`, `apis/apps`, ...).
    public let paths: [String]

    private let documents: [String: Document]

    private struct Document: Sendable {
        var bytes: [UInt8]
        var hash: String
    }

    /// - Parameters:
    ///   - resources: what is served; resources whose `definition` is not a known schema get no paths.
    ///   - schema: the structural schema of the built-in types.
    ///   - additionalSchemas: OpenAPI v3 schemas by component name (custom resources), which may
    ///     refer to built-in components (`#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`).
    public init(resources: [ServedResource], schema: APISchema = .builtIn, additionalSchemas: [String: JSONValue] = [:]) {
        let catalog = SchemaCatalog(schema: schema, additional: additionalSchemas, resources: resources)
        let model = DiscoveryModel(resources)
        var renderer = SchemaRenderer(catalog: catalog)

        var docs: [String: Document] = [:]
        var allPaths: [OpenAPIPath] = []
        var allRoots: [String] = []

        func add(_ key: String, _ paths: [OpenAPIPath], roots: [String]) {
            let definitions = catalog.closure(roots + OpenAPIPath.referencedDefinitions(paths))
            let bytes = JSON.object([
                ("components", [
                    "schemas": .object(definitions.map { ($0, renderer.bytes($0, .v3)) }),
                    "securitySchemes": Self.securityScheme,
                ]),
                ("info", Self.info),
                ("openapi", "3.0.0"),
                ("paths", OpenAPIPath.render(paths, flavor: .v3)),
            ]).serialized()
            docs[key] = Document(bytes: bytes, hash: DocumentHash.fnv1a64Hex(bytes))
            allPaths += paths
            allRoots += roots
        }

        add("api", [Self.discoveryPath("/api/", "getCoreAPIVersions", "core", SchemaCatalog.apiVersions, catalog)], roots: [])
        var groupNames: [String] = []
        for group in model.groups {
            if !group.name.isEmpty {
                groupNames.append(group.name)
                let id = OpenAPIPath.groupIdentifier(group.name)
                let tag = id.prefix(1).lowercased() + id.dropFirst()
                add("apis/\(group.name)",
                    [Self.discoveryPath("/apis/\(group.name)/", "get\(id)APIGroup", tag, SchemaCatalog.apiGroup, catalog)],
                    roots: [])
            }
            for version in group.versions {
                let key = group.name.isEmpty ? "api/\(version.name)" : "apis/\(group.name)/\(version.name)"
                let paths = OpenAPIPath.paths(group: group.name, version: version.name, resources: version.resources,
                                              catalog: catalog)
                var roots: [String] = []
                for r in version.resources {
                    guard let d = r.definition else { continue }
                    roots.append(d)
                    roots.append(r.listDefinition ?? d + "List")
                }
                add(key, paths, roots: roots)
            }
        }
        add("apis", [Self.discoveryPath("/apis/", "getAPIVersions", "apis", SchemaCatalog.apiGroupList, catalog)], roots: [])

        let keys = docs.keys.sorted(by: JSON.byteOrder)
        index = JSON.object([
            ("paths", .object(keys.map { key in
                (key, ["serverRelativeURL": .string("/openapi/v3/\(key)?hash=\(docs[key]!.hash)")])
            })),
        ]).serialized()

        let v2Definitions = catalog.closure(allRoots + OpenAPIPath.referencedDefinitions(allPaths))
        v2 = JSON.object([
            ("definitions", .object(v2Definitions.map { ($0, renderer.bytes($0, .v2)) })),
            ("info", Self.info),
            ("paths", OpenAPIPath.render(allPaths, flavor: .v2)),
            ("security", [["BearerToken": []]]),
            ("securityDefinitions", Self.securityScheme),
            ("swagger", "2.0"),
        ]).serialized()
        paths = keys
        documents = docs
    }

    /// The v3 document at `path` (`apis/apps/v1`, `api/v1`, `api`, `apis`; a leading `/` and a
    /// `/openapi/v3/` prefix are accepted), or nil.
    public func document(forPath path: String) -> [UInt8]? { documents[Self.key(path)]?.bytes }

    /// The hash published for the document at `path`; a request whose `hash` query matches may
    /// be cached for long.
    public func hash(forPath path: String) -> String? { documents[Self.key(path)]?.hash }

    private static func key(_ path: String) -> String {
        var s = Substring(path)
        if s.hasPrefix("/") { s = s.dropFirst() }
        if s.hasPrefix("openapi/v3/") { s = s.dropFirst("openapi/v3/".count) }
        if s.hasSuffix("/") { s = s.dropLast() }
        return String(s)
    }

    private static let info: JSON = ["title": "Kubernetes", "version": .string(KubernetesAPIVersion.gitVersion)]
    private static let securityScheme: JSON = [
        "BearerToken": ["in": "header", "name": "authorization", "type": "apiKey"],
    ]

    private static func discoveryPath(_ path: String, _ id: String, _ tag: String, _ definition: String,
                                      _ catalog: SchemaCatalog) -> OpenAPIPath {
        let body: OpenAPIPath.Response? = catalog.contains(definition) ? .object(definition) : nil
        return OpenAPIPath(path: path, hasName: false, namespaced: false, operations: [
            OpenAPIPath.Operation(method: "get", action: "", operationID: id, tag: tag, gvk: nil, query: [], body: nil,
                                  responses: [("200", "OK", body), ("401", "Unauthorized", nil)]),
        ])
    }
}

/// Renders each definition once per flavor and keeps its bytes, so documents that share
/// schemas (every group/version has ObjectMeta) splice the same bytes.
private struct SchemaRenderer {
    let catalog: SchemaCatalog
    private var v3: [String: [UInt8]] = [:]
    private var v2: [String: [UInt8]] = [:]

    init(catalog: SchemaCatalog) { self.catalog = catalog }

    mutating func bytes(_ name: String, _ flavor: OpenAPIFlavor) -> JSON {
        switch flavor {
        case .v3:
            if let b = v3[name] { return .raw(b) }
            let b = catalog.render(name, flavor: .v3).serialized()
            v3[name] = b
            return .raw(b)
        case .v2:
            if let b = v2[name] { return .raw(b) }
            let b = catalog.render(name, flavor: .v2).serialized()
            v2[name] = b
            return .raw(b)
        }
    }
}
