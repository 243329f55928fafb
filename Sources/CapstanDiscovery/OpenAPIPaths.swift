import CapstanAPI

/// The REST operations of served resources, as OpenAPI paths.
struct OpenAPIPath {
    enum Body {
        /// A JSON body of the given definition.
        case object(String)
        /// A patch document (`io.k8s.apimachinery.pkg.apis.meta.v1.Patch`) in any patch type.
        case patch
        /// DeleteOptions, optional.
        case deleteOptions
    }

    enum Response {
        case object(String)
        case list(String)
        case text
    }

    struct Operation {
        var method: String
        var action: String
        var operationID: String
        var tag: String
        var gvk: GroupVersionKind?
        var query: [(name: String, type: String)]
        var body: Body?
        var responses: [(code: String, description: String, body: Response?)]
    }

    var path: String
    var hasName: Bool
    var namespaced: Bool
    var operations: [Operation]

    // MARK: Parameters Kubernetes accepts

    static let listQuery: [(name: String, type: String)] = [
        ("allowWatchBookmarks", "boolean"), ("continue", "string"), ("fieldSelector", "string"),
        ("labelSelector", "string"), ("limit", "integer"), ("resourceVersion", "string"),
        ("resourceVersionMatch", "string"), ("sendInitialEvents", "boolean"), ("timeoutSeconds", "integer"),
        ("watch", "boolean"),
    ]
    static let writeQuery: [(name: String, type: String)] = [
        ("dryRun", "string"), ("fieldManager", "string"), ("fieldValidation", "string"),
    ]
    static let patchQuery: [(name: String, type: String)] = writeQuery + [("force", "boolean")]
    static let deleteQuery: [(name: String, type: String)] = [
        ("dryRun", "string"), ("gracePeriodSeconds", "integer"),
        ("ignoreStoreReadErrorWithClusterBreakingPotential", "boolean"), ("orphanDependents", "boolean"),
        ("propagationPolicy", "string"),
    ]
    static let deleteCollectionQuery: [(name: String, type: String)] = [
        ("continue", "string"), ("dryRun", "string"), ("fieldSelector", "string"), ("gracePeriodSeconds", "integer"),
        ("ignoreStoreReadErrorWithClusterBreakingPotential", "boolean"), ("labelSelector", "string"),
        ("limit", "integer"), ("orphanDependents", "boolean"), ("propagationPolicy", "string"),
        ("resourceVersion", "string"), ("resourceVersionMatch", "string"), ("sendInitialEvents", "boolean"),
        ("timeoutSeconds", "integer"),
    ]
    static let logQuery: [(name: String, type: String)] = [
        ("container", "string"), ("follow", "boolean"), ("insecureSkipTLSVerifyBackend", "boolean"),
        ("limitBytes", "integer"), ("previous", "boolean"), ("sinceSeconds", "integer"), ("stream", "string"),
        ("tailLines", "integer"), ("timestamps", "boolean"),
    ]

    static let patchContentTypes = [
        "application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json",
        "application/strategic-merge-patch+json",
    ]
    static let responseContentTypes = ["application/json", "application/vnd.kubernetes.protobuf", "application/yaml"]
    static let listContentTypes = [
        "application/json", "application/json;stream=watch", "application/vnd.kubernetes.protobuf",
        "application/vnd.kubernetes.protobuf;stream=watch", "application/yaml",
    ]
}

// MARK: - Building

extension OpenAPIPath {
    /// `/api/v1` or `/apis/<group>/<version>`.
    static func root(group: String, version: String) -> String {
        group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
    }

    /// `Core`, `Apps`, `RbacAuthorization`: the group as Kubernetes spells it in operation IDs.
    static func groupIdentifier(_ group: String) -> String {
        if group.isEmpty { return "Core" }
        let trimmed = group.hasSuffix(".k8s.io") ? String(group.dropLast(7)) : group
        return trimmed.split(whereSeparator: { $0 == "." || $0 == "-" }).map { capitalized($0) }.joined()
    }

    static func tag(group: String, version: String) -> String {
        let id = groupIdentifier(group)
        return id.prefix(1).lowercased() + id.dropFirst() + "_" + version
    }

    static func capitalized<S: StringProtocol>(_ s: S) -> String { s.prefix(1).uppercased() + s.dropFirst() }

    /// The paths of one group/version: its resource list, each resource's collection and item
    /// paths (namespaced resources also at `/namespaces/{namespace}/...` and listed across
    /// namespaces), and subresources that speak an object kind.
    static func paths(group: String, version: String, resources: [ServedResource], catalog: SchemaCatalog) -> [OpenAPIPath] {
        let root = root(group: group, version: version)
        let g = groupIdentifier(group)
        let v = capitalized(version)
        let tag = tag(group: group, version: version)
        var out: [OpenAPIPath] = []
        if catalog.contains(SchemaCatalog.apiResourceList) {
            out.append(OpenAPIPath(path: root + "/", hasName: false, namespaced: false, operations: [
                Operation(method: "get", action: "", operationID: "get\(g)\(v)APIResources", tag: tag, gvk: nil,
                          query: [], body: nil,
                          responses: [("200", "OK", .object(SchemaCatalog.apiResourceList)), ("401", "Unauthorized", nil)]),
            ]))
        }
        for r in resources {
            guard let definition = r.definition, catalog.contains(definition) else { continue }
            let gvk = r.groupVersionKind
            let listDefinition = r.listDefinition ?? definition + "List"
            let listResponse: Response = catalog.contains(listDefinition) ? .list(listDefinition) : .list(definition)
            let scope = r.namespaced ? "Namespaced" : ""
            let collection = r.namespaced ? "\(root)/namespaces/{namespace}/\(r.plural)" : "\(root)/\(r.plural)"
            let item = collection + "/{name}"
            func op(_ method: String, _ action: String, _ id: String, _ query: [(name: String, type: String)],
                    _ body: Body?, _ responses: [(String, String, Response?)], gvk: GroupVersionKind = gvk) -> Operation {
                Operation(method: method, action: action, operationID: id, tag: tag, gvk: gvk, query: query, body: body,
                          responses: responses.map { (code: $0.0, description: $0.1, body: $0.2) } + [("401", "Unauthorized", nil)])
            }
            let has = Set(r.verbs)

            var collectionOps: [Operation] = []
            if has.contains("list") {
                collectionOps.append(op("get", "list", "list\(g)\(v)\(scope)\(r.kind)", listQuery, nil, [("200", "OK", listResponse)]))
            }
            if has.contains("create") {
                collectionOps.append(op("post", "post", "create\(g)\(v)\(scope)\(r.kind)", writeQuery, .object(definition), [
                    ("200", "OK", .object(definition)), ("201", "Created", .object(definition)),
                    ("202", "Accepted", .object(definition)),
                ]))
            }
            if has.contains("deletecollection") {
                collectionOps.append(op("delete", "deletecollection", "delete\(g)\(v)Collection\(scope)\(r.kind)",
                                        deleteCollectionQuery, .deleteOptions, [("200", "OK", .object(SchemaCatalog.status))]))
            }
            if !collectionOps.isEmpty {
                out.append(OpenAPIPath(path: collection, hasName: false, namespaced: r.namespaced, operations: collectionOps))
            }

            var itemOps: [Operation] = []
            if has.contains("get") {
                itemOps.append(op("get", "get", "read\(g)\(v)\(scope)\(r.kind)", [], nil, [("200", "OK", .object(definition))]))
            }
            if has.contains("update") {
                itemOps.append(op("put", "put", "replace\(g)\(v)\(scope)\(r.kind)", writeQuery, .object(definition), [
                    ("200", "OK", .object(definition)), ("201", "Created", .object(definition)),
                ]))
            }
            if has.contains("patch") {
                itemOps.append(op("patch", "patch", "patch\(g)\(v)\(scope)\(r.kind)", patchQuery, .patch, [
                    ("200", "OK", .object(definition)), ("201", "Created", .object(definition)),
                ]))
            }
            if has.contains("delete") {
                itemOps.append(op("delete", "delete", "delete\(g)\(v)\(scope)\(r.kind)", deleteQuery, .deleteOptions, [
                    ("200", "OK", .object(SchemaCatalog.status)), ("202", "Accepted", .object(SchemaCatalog.status)),
                ]))
            }
            if !itemOps.isEmpty {
                out.append(OpenAPIPath(path: item, hasName: true, namespaced: r.namespaced, operations: itemOps))
            }

            if r.namespaced && has.contains("list") {
                out.append(OpenAPIPath(path: "\(root)/\(r.plural)", hasName: false, namespaced: false, operations: [
                    op("get", "list", "list\(g)\(v)\(r.kind)ForAllNamespaces", listQuery, nil, [("200", "OK", listResponse)]),
                ]))
            }

            for sub in r.subresources {
                let suffix = capitalized(sub.name)
                let subPath = "\(item)/\(sub.name)"
                let subVerbs = Set(sub.verbs)
                var ops: [Operation] = []
                if sub.name == "log" {
                    ops.append(op("get", "get", "read\(g)\(v)\(scope)\(r.kind)\(suffix)", logQuery, nil, [("200", "OK", .text)]))
                } else if let subDefinition = catalog.definition(for: sub.responseKind) {
                    let kind = sub.responseKind
                    if subVerbs.contains("get") {
                        ops.append(op("get", "get", "read\(g)\(v)\(scope)\(r.kind)\(suffix)", [], nil,
                                      [("200", "OK", .object(subDefinition))], gvk: kind))
                    }
                    if subVerbs.contains("create") {
                        ops.append(op("post", "post", "create\(g)\(v)\(scope)\(r.kind)\(suffix)", writeQuery,
                                      .object(subDefinition), [
                                          ("200", "OK", .object(subDefinition)), ("201", "Created", .object(subDefinition)),
                                          ("202", "Accepted", .object(subDefinition)),
                                      ], gvk: kind))
                    }
                    if subVerbs.contains("update") {
                        ops.append(op("put", "put", "replace\(g)\(v)\(scope)\(r.kind)\(suffix)", writeQuery,
                                      .object(subDefinition), [
                                          ("200", "OK", .object(subDefinition)), ("201", "Created", .object(subDefinition)),
                                      ], gvk: kind))
                    }
                    if subVerbs.contains("patch") {
                        ops.append(op("patch", "patch", "patch\(g)\(v)\(scope)\(r.kind)\(suffix)", patchQuery, .patch, [
                            ("200", "OK", .object(subDefinition)), ("201", "Created", .object(subDefinition)),
                        ], gvk: kind))
                    }
                }
                // Streaming subresources (exec, attach, portforward, proxy) are upgrades, not objects.
                if !ops.isEmpty {
                    out.append(OpenAPIPath(path: subPath, hasName: true, namespaced: r.namespaced, operations: ops))
                }
            }
        }
        return out
    }

    /// The definitions a set of paths refers to.
    static func referencedDefinitions(_ paths: [OpenAPIPath]) -> [String] {
        var out: [String] = []
        for p in paths {
            for op in p.operations {
                switch op.body {
                case .object(let d): out.append(d)
                case .patch: out.append(SchemaCatalog.patch)
                case .deleteOptions: out.append(SchemaCatalog.deleteOptions)
                case nil: break
                }
                for r in op.responses {
                    switch r.body {
                    case .object(let d), .list(let d): out.append(d)
                    case .text, nil: break
                    }
                }
            }
        }
        return out
    }
}

// MARK: - Rendering

extension OpenAPIPath {
    /// The `paths` object of a document, keys in byte order.
    static func render(_ paths: [OpenAPIPath], flavor: OpenAPIFlavor) -> JSON {
        var merged: [String: OpenAPIPath] = [:]
        for p in paths {
            if var existing = merged[p.path] {
                existing.operations += p.operations
                merged[p.path] = existing
            } else {
                merged[p.path] = p
            }
        }
        return .object(merged.keys.sorted(by: JSON.byteOrder).map { ($0, merged[$0]!.render(flavor: flavor)) })
    }

    private func render(flavor: OpenAPIFlavor) -> JSON {
        var members: [(String, JSON)] = operations.map { ($0.method, $0.render(flavor: flavor)) }
        var parameters: [JSON] = []
        if hasName { parameters.append(Self.pathParameter("name", flavor: flavor)) }
        if namespaced { parameters.append(Self.pathParameter("namespace", flavor: flavor)) }
        parameters.append(Self.queryParameter("pretty", "string", flavor: flavor))
        members.append(("parameters", .array(parameters)))
        members.sort { JSON.byteOrder($0.0, $1.0) }
        return .object(members)
    }

    private static func pathParameter(_ name: String, flavor: OpenAPIFlavor) -> JSON {
        switch flavor {
        case .v3:
            ["in": "path", "name": .string(name), "required": true, "schema": ["type": "string", "uniqueItems": true]]
        case .v2:
            ["in": "path", "name": .string(name), "required": true, "type": "string", "uniqueItems": true]
        }
    }

    fileprivate static func queryParameter(_ name: String, _ type: String, flavor: OpenAPIFlavor) -> JSON {
        switch flavor {
        case .v3:
            ["in": "query", "name": .string(name), "schema": ["type": .string(type), "uniqueItems": true]]
        case .v2:
            ["in": "query", "name": .string(name), "type": .string(type), "uniqueItems": true]
        }
    }
}

extension OpenAPIPath.Operation {
    fileprivate func render(flavor: OpenAPIFlavor) -> JSON {
        var m: [(String, JSON)] = []
        var parameters = query.map { OpenAPIPath.queryParameter($0.name, $0.type, flavor: flavor) }
        switch flavor {
        case .v3:
            if let body {
                let content: [(String, JSON)]
                switch body {
                case .object(let d): content = [("*/*", ["schema": flavor.ref(d)])]
                case .deleteOptions: content = [("*/*", ["schema": flavor.ref(SchemaCatalog.deleteOptions)])]
                case .patch:
                    content = OpenAPIPath.patchContentTypes.map { ($0, ["schema": flavor.ref(SchemaCatalog.patch)]) }
                }
                var requestBody: [(String, JSON)] = [("content", .object(content))]
                if case .deleteOptions = body {} else { requestBody.append(("required", true)) }
                m.append(("requestBody", .object(requestBody)))
            }
        case .v2:
            if let body {
                let schema: JSON
                switch body {
                case .object(let d): schema = flavor.ref(d)
                case .deleteOptions: schema = flavor.ref(SchemaCatalog.deleteOptions)
                case .patch: schema = flavor.ref(SchemaCatalog.patch)
                }
                var p: [(String, JSON)] = [("in", "body"), ("name", "body")]
                if case .deleteOptions = body {} else { p.append(("required", true)) }
                p.append(("schema", schema))
                parameters.insert(.object(p), at: 0)
            }
            switch body {
            case .patch: m.append(("consumes", JSON.strings(OpenAPIPath.patchContentTypes)))
            default: m.append(("consumes", ["*/*"]))
            }
            let produces: [String]
            switch responses.first?.body {
            case .list: produces = OpenAPIPath.listContentTypes
            case .text: produces = ["text/plain", "application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
            default: produces = OpenAPIPath.responseContentTypes
            }
            m.append(("produces", JSON.strings(produces)))
            m.append(("schemes", ["https"]))
        }
        m.append(("operationId", .string(operationID)))
        if !parameters.isEmpty { m.append(("parameters", .array(parameters))) }
        m.append(("responses", .object(responses.map { r in
            var response: [(String, JSON)] = []
            if let body = r.body {
                switch flavor {
                case .v3:
                    let (types, schema): ([String], JSON) = switch body {
                    case .object(let d): (OpenAPIPath.responseContentTypes, flavor.ref(d))
                    case .list(let d): (OpenAPIPath.listContentTypes, flavor.ref(d))
                    case .text: (["text/plain", "application/json", "application/yaml", "application/vnd.kubernetes.protobuf"], ["type": "string"])
                    }
                    response.append(("content", .object(types.map { ($0, ["schema": schema]) })))
                case .v2:
                    switch body {
                    case .object(let d), .list(let d): response.append(("schema", flavor.ref(d)))
                    case .text: response.append(("schema", ["type": "string"]))
                    }
                }
            }
            response.append(("description", .string(r.description)))
            response.sort { JSON.byteOrder($0.0, $1.0) }
            return (r.code, .object(response))
        })))
        m.append(("tags", [.string(tag)]))
        if !action.isEmpty { m.append(("x-kubernetes-action", .string(action))) }
        if let gvk {
            m.append(("x-kubernetes-group-version-kind",
                      ["group": .string(gvk.group), "kind": .string(gvk.kind), "version": .string(gvk.version)]))
        }
        m.sort { JSON.byteOrder($0.0, $1.0) }
        return .object(m)
    }
}
