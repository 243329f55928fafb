import CapstanAPI
import CapstanAPIMachinery
import CapstanRegistry
import CapstanTables
import NIOHTTP1

/// What the client's Accept header asks for.
enum ResponseFormat {
    case json
    /// Server-side printing (`as=Table;g=meta.k8s.io;v=v1` or `v1beta1`).
    case table(apiVersion: String)

    static func negotiate(_ accept: String) throws(APIError) -> ResponseFormat {
        if accept.isEmpty { return .json }
        var sawAcceptable = false
        for part in accept.split(separator: ",") {
            let params = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let media = params.first else { continue }
            let isJSON = media == "application/json" || media == "*/*" || media == "application/*"
            if params.contains("as=Table"), params.contains("g=meta.k8s.io"), isJSON {
                let version = params.contains("v=v1beta1") ? TableBuilder.v1beta1 : TableBuilder.v1
                return .table(apiVersion: version)
            }
            if isJSON && !params.contains(where: { $0.hasPrefix("as=") }) { sawAcceptable = true }
            if media == "application/yaml" { sawAcceptable = true }
        }
        if sawAcceptable { return .json }
        throw APIError.notAcceptable(accepted: ["application/json", "application/yaml"])
    }
}

extension APIRouter {
    // MARK: Single objects

    func objectResponse(_ entry: CacheEntry, _ request: APIRequest, _ r: RegisteredResource,
                        status: HTTPResponseStatus = .ok) throws(APIError) -> APIResponse {
        switch try ResponseFormat.negotiate(request.accept) {
        case .json:
            return APIResponse(status: status, bytes: entry.bytes)
        case .table(let apiVersion):
            let object = (try? entry.object()) ?? .object([:])
            let builder = TableBuilder(printer: TablePrinter.forResource(group: r.group, resource: r.plural),
                                       includeObject: IncludeObjectPolicy(queryValue: request.query["includeObject"]) ?? .metadata,
                                       apiVersion: apiVersion)
            let table = builder.list([object], metadata: TableListMetadata(resourceVersion: String(entry.revision)), now: now())
            return APIResponse(status: status, contentType: "application/json;as=Table;v=v1;g=meta.k8s.io",
                               bytes: table.serialized())
        }
    }

    func respond(_ result: WriteResult, _ request: APIRequest, _ r: RegisteredResource, created: Bool) -> APIResponse {
        var response: APIResponse
        do {
            response = try objectResponse(result.entry, request, r, status: created && result.created ? .created : .ok)
        } catch {
            response = APIResponse(status: created ? .created : .ok, bytes: result.entry.bytes)
        }
        for w in result.warnings { response.addWarning(w) }
        return response
    }

    // MARK: Lists

    func listRequest(_ request: APIRequest, _ r: RegisteredResource, namespace: String?,
                     forWatch: Bool = false) throws(APIError) -> ListRequest {
        let q = request.query
        var list = ListRequest(namespace: namespace)
        // Watches read resourceVersion themselves (watch-list sends resourceVersionMatch without one).
        if !forWatch { list.consistency = try consistency(q["resourceVersion"], match: q["resourceVersionMatch"]) }
        if let l = q["limit"], !l.isEmpty {
            guard let n = Int(l), n >= 0 else { throw APIError.badRequest("invalid limit \"\(l)\"") }
            list.limit = n
        }
        list.continueToken = q["continue"]
        if list.continueToken?.isEmpty == false, q["resourceVersion"].map({ !$0.isEmpty }) == true {
            throw APIError.badRequest("specifying resource version is not allowed when using continue")
        }
        let labels: LabelSelector?
        if let text = q["labelSelector"], !text.isEmpty {
            do { labels = try LabelSelector(parsing: text) } catch {
                throw APIError.badRequest("unable to parse requirement: \(error)")
            }
        } else {
            labels = nil
        }
        var fields: FieldSelector?
        if let text = q["fieldSelector"], !text.isEmpty {
            do {
                fields = try r.selectableFields.convert(FieldSelector(parsing: text))
            } catch {
                throw APIError.badRequest("\(error)")
            }
        }
        let fieldSelector = fields
        list.hasSelector = labels != nil || fieldSelector != nil
        list.filter = { entry in
            (labels?.matches(entry.labels) ?? true) && (fieldSelector?.matches(entry.fields) ?? true)
        }
        return list
    }

    func list(_ request: APIRequest, _ r: RegisteredResource, namespace: String?) async throws(APIError) -> APIResponse {
        let format = try ResponseFormat.negotiate(request.accept)
        let page = try await registry.list(r, try listRequest(request, r, namespace: namespace))
        switch format {
        case .json:
            return listResponse(page.items, revision: page.revision, continueToken: page.continueToken,
                                remaining: page.remainingItemCount, request, r)
        case .table(let apiVersion):
            let objects = page.items.compactMap { try? $0.object() }
            let builder = TableBuilder(printer: TablePrinter.forResource(group: r.group, resource: r.plural),
                                       includeObject: IncludeObjectPolicy(queryValue: request.query["includeObject"]) ?? .metadata,
                                       apiVersion: apiVersion)
            let meta = TableListMetadata(resourceVersion: String(page.revision), continue: page.continueToken ?? "",
                                         remainingItemCount: page.remainingItemCount.map(Int64.init))
            return APIResponse(contentType: "application/json;as=Table;v=v1;g=meta.k8s.io",
                               bytes: builder.list(objects, metadata: meta, now: now()).serialized())
        }
    }

    /// `{"kind":"<Kind>List","apiVersion":...,"metadata":{...},"items":[...]}`, assembled from the
    /// stored bytes without decoding them.
    func listResponse(_ items: [CacheEntry], revision: Int64, continueToken: String?, remaining: Int?,
                      _ request: APIRequest, _ r: RegisteredResource) -> APIResponse {
        var out: [UInt8] = []
        out.reserveCapacity(items.reduce(128) { $0 + $1.bytes.count + 1 })
        out.append(contentsOf: #"{"kind":"#.utf8)
        JSONValue.serializeString(r.kind + "List", into: &out)
        out.append(contentsOf: #","apiVersion":"#.utf8)
        JSONValue.serializeString(r.apiVersion, into: &out)
        var meta: [String: JSONValue] = ["resourceVersion": .string(String(revision))]
        if let continueToken { meta["continue"] = .string(continueToken) }
        if let remaining { meta["remainingItemCount"] = .int(Int64(remaining)) }
        out.append(contentsOf: #","metadata":"#.utf8)
        JSONValue.object(meta).serialize(into: &out)
        out.append(contentsOf: #","items":["#.utf8)
        for (i, e) in items.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: e.bytes)
        }
        out.append(contentsOf: "]}".utf8)
        return APIResponse(bytes: out)
    }

    // MARK: Scale

    /// `deployments/scale` and friends: an autoscaling/v1 Scale view of spec.replicas.
    func scale(_ request: APIRequest, _ r: RegisteredResource, namespace: String?, name: String) async throws(APIError) -> APIResponse {
        func view(_ entry: CacheEntry) throws(APIError) -> JSONValue {
            guard case .object(let o)? = try? entry.object() else { throw APIError.internalError("stored object does not decode") }
            let meta = o.object("metadata") ?? [:]
            let spec = o.object("spec") ?? [:]
            let status = o.object("status") ?? [:]
            var selector = ""
            if let sel = spec["selector"] {
                if let s = try? LabelSelector(json: sel) { selector = s.description }
            }
            var scaleMeta: [String: JSONValue] = ["name": .string(name), "resourceVersion": .string(String(entry.revision))]
            scaleMeta["namespace"] = meta["namespace"]
            scaleMeta["uid"] = meta["uid"]
            scaleMeta["creationTimestamp"] = meta["creationTimestamp"]
            return .object([
                "kind": .string("Scale"), "apiVersion": .string("autoscaling/v1"),
                "metadata": .object(scaleMeta),
                "spec": .object(["replicas": spec["replicas"] ?? .int(0)]),
                "status": .object(["replicas": status["replicas"] ?? .int(0), "selector": .string(selector)]),
            ])
        }
        switch request.method {
        case .GET:
            return .json(try view(try await registry.get(r, namespace: namespace, name: name)))
        case .PUT, .PATCH:
            let body: JSONValue
            do { body = try JSONValue.parse(request.body) } catch {
                throw APIError.badRequest("the body of the request was in an unknown format: \(error.description)")
            }
            var replicas: JSONValue? = body["spec"]?["replicas"]
            var precondition: String? = body["metadata"]?["resourceVersion"]?.stringValue
            if request.method == .PATCH, let type = PatchType(contentType: request.contentType), type == .json {
                // Apply the JSON patch to the current Scale view.
                let current = try view(try await registry.get(r, namespace: namespace, name: name))
                do {
                    let patched = try JSONPatch.apply(body, to: current)
                    replicas = patched["spec"]?["replicas"]
                    precondition = nil
                } catch {
                    throw error.apiError
                }
            }
            guard case .int(let n)? = replicas else {
                throw APIError.invalid(GroupKind(group: "autoscaling", kind: "Scale"), name: name,
                                       errors: [.required("spec.replicas")])
            }
            if n < 0 {
                throw APIError.invalid(GroupKind(group: "autoscaling", kind: "Scale"), name: name,
                                       errors: [.invalid("spec.replicas", value: n, "must be greater than or equal to 0")])
            }
            var patch: [String: JSONValue] = ["spec": .object(["replicas": .int(n)])]
            if let precondition, !precondition.isEmpty { patch["metadata"] = .object(["resourceVersion": .string(precondition)]) }
            let result = try await registry.patch(r, namespace: namespace, name: name, type: .merge,
                                                  body: JSONValue.object(patch).serialized(), subresource: .main,
                                                  options: try writeOptions(request.query))
            return .json(try view(result.entry))
        default:
            throw APIError.methodNotSupported(GroupResource(group: r.group, resource: "\(r.plural)/scale"),
                                              action: request.method.rawValue)
        }
    }
}
