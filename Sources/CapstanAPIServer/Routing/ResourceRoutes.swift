import CapstanAPI
import CapstanAPIMachinery
import CapstanRegistry
import CapstanTables
import CapstanProtobuf
import NIOHTTP1

/// A resource path, parsed: `[namespaces/<ns>/]<plural>[/<name>[/<subresource>]]`.
struct ResourcePath {
    var namespace: String?
    var plural: String
    var name: String?
    var subresource: String?
    /// The legacy `/watch/` path prefix.
    var legacyWatch = false

    init?(_ rest: [String]) {
        var s = rest[...]
        if s.first == "watch" {
            legacyWatch = true
            s = s.dropFirst()
        }
        guard let first = s.first else { return nil }
        if first == "namespaces", s.count >= 3, !(s.count == 3 && ["status", "finalize"].contains(s[s.startIndex + 2])) {
            namespace = s[s.startIndex + 1]
            s = s.dropFirst(2)
        }
        let parts = Array(s)
        guard (1...3).contains(parts.count) else { return nil }
        plural = parts[0]
        name = parts.count > 1 ? parts[1] : nil
        subresource = parts.count > 2 ? parts[2] : nil
    }
}

extension APIRouter {
    func resourceRoute(_ request: APIRequest, group: String, version: String, rest: [String],
                       label: inout RequestLabel) async -> APIResponse {
        guard let path = ResourcePath(rest),
              let r = registry.resource(group: group, version: version, plural: path.plural)
        else { return .error(.notFoundPath()) }
        label.resource = path.plural
        if path.namespace != nil, !r.namespaced { return .error(.notFoundPath()) }
        if let ns = path.namespace, ns.isEmpty { return .error(.notFoundPath()) }
        if let name = path.name, name.isEmpty { return .error(.notFoundPath()) }
        do {
            return try await dispatch(request, r, path, label: &label)
        } catch {
            return .error(error)
        }
    }

    private func dispatch(_ request: APIRequest, _ r: RegisteredResource, _ path: ResourcePath,
                          label: inout RequestLabel) async throws(APIError) -> APIResponse {
        let namespace = r.namespaced ? path.namespace : nil
        let q = request.query
        if r.namespaced, path.name != nil, namespace == nil { throw APIError.notFoundPath() }
        let isWatch = path.legacyWatch || q.bool("watch")

        guard let name = path.name else {
            // Collection.
            switch request.method {
            case .GET:
                label.verb = isWatch ? "WATCH" : "LIST"
                return isWatch ? try await watch(request, r, namespace: namespace)
                    : try await list(request, r, namespace: namespace)
            case .POST:
                label.verb = "POST"
                if let review = try accessReview(request, r, namespace: namespace) { return review }
                let body = try jsonBody(request)
                let result = try await registry.create(r, namespace: namespace, body: body, options: try writeOptions(request))
                return respond(result, request, r, created: true)
            case .DELETE:
                label.verb = "DELETE"
                let list = try listRequest(request, r, namespace: namespace)
                let outcomes = try await registry.deleteCollection(r, list, try deleteRequest(request))
                return listResponse(outcomes.map(\.entry), revision: 0, continueToken: nil, remaining: nil, request, r)
            default:
                throw APIError.methodNotSupported(GroupResource(group: r.group, resource: r.plural), action: request.method.rawValue)
            }
        }

        if let sub = path.subresource {
            return try await subresource(sub, request, r, namespace: namespace, name: name, label: &label)
        }
        switch request.method {
        case .GET:
            label.verb = isWatch ? "WATCH" : "GET"
            if isWatch {
                var req = request
                req.query.add("fieldSelector", "metadata.name=\(name)")
                return try await watch(req, r, namespace: namespace)
            }
            let entry = try await registry.get(r, namespace: namespace, name: name,
                                               consistency: try consistency(q["resourceVersion"], match: q["resourceVersionMatch"]))
            return try objectResponse(entry, request, r)
        case .PUT:
            label.verb = "PUT"
            let body = try jsonBody(request)
            let result = try await registry.update(r, namespace: namespace, name: name, body: body,
                                                   subresource: .main, options: try writeOptions(request))
            return respond(result, request, r, created: false)
        case .PATCH:
            label.verb = "PATCH"
            let result = try await patch(request, r, namespace: namespace, name: name, subresource: .main)
            return respond(result, request, r, created: true)
        case .DELETE:
            label.verb = "DELETE"
            let outcome = try await registry.delete(r, namespace: namespace, name: name, try deleteRequest(request))
            switch outcome {
            case .pending(let entry):
                return try objectResponse(entry, request, r, status: .ok)
            case .deleted(let entry):
                if r.kind == "Pod" || r.kind == "Namespace" {
                    return try objectResponse(entry, request, r, status: .ok)
                }
                return .json(Self.successStatus(entry, r))
            }
        default:
            throw APIError.methodNotSupported(GroupResource(group: r.group, resource: r.plural), action: request.method.rawValue)
        }
    }

    static func successStatus(_ entry: CacheEntry, _ r: RegisteredResource) -> JSONValue {
        var details: [String: JSONValue] = ["name": .string(entry.name), "kind": .string(r.plural)]
        if !r.group.isEmpty { details["group"] = .string(r.group) }
        if case .object(let o)? = try? entry.object(), let uid = o.object("metadata")?.string("uid") {
            details["uid"] = .string(uid)
        }
        return .object(["kind": .string("Status"), "apiVersion": .string("v1"), "metadata": .object([:]),
                        "status": .string("Success"), "details": .object(details)])
    }

    // MARK: Subresources

    private func subresource(_ sub: String, _ request: APIRequest, _ r: RegisteredResource, namespace: String?,
                             name: String, label: inout RequestLabel) async throws(APIError) -> APIResponse {
        label.resource = "\(r.plural)/\(sub)"
        guard r.info.subresources.contains(where: { $0.name == sub }) else { throw APIError.notFoundPath() }
        let q = request.query
        switch (sub, request.method) {
        case ("status", .GET):
            let entry = try await registry.get(r, namespace: namespace, name: name)
            return try objectResponse(entry, request, r)
        case ("status", .PUT):
            try requireJSONBody(request)
            let result = try await registry.update(r, namespace: namespace, name: name, body: request.body,
                                                   subresource: .status, options: try writeOptions(request))
            return respond(result, request, r, created: false)
        case ("status", .PATCH):
            let result = try await patch(request, r, namespace: namespace, name: name, subresource: .status)
            return respond(result, request, r, created: false)
        case ("scale", _):
            return try await scale(request, r, namespace: namespace, name: name)
        case ("binding", .POST):
            try requireJSONBody(request)
            let entry = try await registry.bind(namespace: namespace ?? "", podName: name, body: request.body,
                                                options: try writeOptions(q))
            _ = entry
            return APIResponse(status: .created, bytes: JSONValue.object([
                "kind": .string("Status"), "apiVersion": .string("v1"), "metadata": .object([:]), "status": .string("Success"),
                "code": .int(201),
            ]).serialized())
        case ("eviction", .POST):
            let outcome = try await registry.evict(namespace: namespace ?? "", podName: name, body: try jsonBody(request),
                                                   options: try writeOptions(q))
            _ = outcome
            return APIResponse(status: .created, bytes: JSONValue.object([
                "kind": .string("Status"), "apiVersion": .string("v1"), "metadata": .object([:]), "status": .string("Success"),
                "code": .int(201),
            ]).serialized())
        case ("token", .POST):
            return try await tokenRequest(request, r, namespace: namespace, name: name)
        case ("finalize", .PUT):
            try requireJSONBody(request)
            let result = try await registry.finalizeNamespace(name: name, body: request.body, options: try writeOptions(q))
            return respond(result, request, r, created: false)
        default:
            throw APIError.methodNotSupported(GroupResource(group: r.group, resource: "\(r.plural)/\(sub)"),
                                              action: request.method.rawValue)
        }
    }

    private func patch(_ request: APIRequest, _ r: RegisteredResource, namespace: String?, name: String,
                       subresource: Subresource) async throws(APIError) -> WriteResult {
        guard let type = PatchType(contentType: request.contentType) else {
            throw APIError.unsupportedMediaType(accepted: PatchType.supported)
        }
        return try await registry.patch(r, namespace: namespace, name: name, type: type, body: request.body,
                                        subresource: subresource, options: try writeOptions(request))
    }

    // MARK: Options

    func requireJSONBody(_ request: APIRequest) throws(APIError) {
        _ = try jsonBody(request)
    }

    /// The request body as JSON: JSON as sent, Kubernetes protobuf (kubectl 1.32+) decoded.
    func jsonBody(_ request: APIRequest) throws(APIError) -> [UInt8] {
        let type = request.contentType.split(separator: ";").first.map { $0.trimmedWhitespace } ?? ""
        switch type {
        case "", "application/json", "*/*":
            return request.body
        case "application/yaml":
            return try yamlBody(request)
        case KubernetesProtobuf.mediaType:
            do {
                return try KubernetesProtobuf.decode(request.body).object.serialized()
            } catch {
                if error.statusCode == 415 {
                    throw APIError.unsupportedMediaType(accepted: ["application/json", "application/yaml"])
                }
                throw APIError.badRequest("the body of the request was in an unknown format: \(error.message)")
            }
        default:
            throw APIError.unsupportedMediaType(accepted: ["application/json", "application/vnd.kubernetes.protobuf"])
        }
    }

    func writeOptions(_ q: QueryParameters) throws(APIError) -> WriteOptions {
        var options = WriteOptions()
        for value in q.all("dryRun") {
            guard value == "All" else {
                throw APIError.badRequest("Invalid dryRun value \"\(value)\": supported values: \"All\"")
            }
            options.dryRun = true
        }
        if let v = q["fieldValidation"], !v.isEmpty {
            guard let fv = FieldValidation(rawValue: v) else {
                throw APIError.badRequest("fieldValidation parameter unsupported: \(v): supported values: Ignore, Warn, Strict")
            }
            options.fieldValidation = fv
        }
        options.fieldManager = q["fieldManager"]
        return options
    }

    func deleteRequest(_ request: APIRequest) throws(APIError) -> DeleteRequest {
        var d = DeleteRequest()
        let q = request.query
        if let g = q["gracePeriodSeconds"] {
            guard let n = Int64(g) else { throw APIError.badRequest("invalid gracePeriodSeconds \"\(g)\"") }
            d.gracePeriodSeconds = n
        }
        d.propagationPolicy = q["propagationPolicy"]
        d.dryRun = q.all("dryRun").contains("All")
        if !request.body.isEmpty {
            guard case .object(let o)? = try? JSONValue.parse(request.body) else {
                throw APIError.badRequest("the DeleteOptions body does not decode")
            }
            d.apply(options: o)
        }
        try d.validate()
        return d
    }

    func consistency(_ rv: String?, match: String?) throws(APIError) -> ReadConsistency {
        guard let rv, !rv.isEmpty else {
            if let match, !match.isEmpty {
                throw APIError.badRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
            }
            return .latest
        }
        guard let n = Int64(rv), n >= 0 else {
            throw APIError.badRequest("invalid resourceVersion \"\(rv)\"")
        }
        switch match ?? "" {
        case "": return n == 0 ? .any : .notOlderThan(n)
        case "NotOlderThan": return n == 0 ? .any : .notOlderThan(n)
        case "Exact":
            if n == 0 { throw APIError.badRequest("resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\"") }
            return .exact(n)
        default:
            throw APIError.badRequest("resourceVersionMatch: Unsupported value: \"\(match!)\": supported values: \"Exact\", \"NotOlderThan\"")
        }
    }
}

extension DeleteOutcome {
    var entry: CacheEntry {
        switch self {
        case .deleted(let e), .pending(let e): return e
        }
    }
}
