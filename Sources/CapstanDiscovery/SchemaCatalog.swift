import CapstanAPI

/// Which OpenAPI dialect a schema or path is rendered for.
enum OpenAPIFlavor: Sendable {
    /// OpenAPI 3.0: `#/components/schemas/`, nested types as `allOf: [{$ref}]`.
    case v3
    /// Swagger 2.0: `#/definitions/`, nested types as a plain `$ref`.
    case v2

    var refPrefix: String {
        switch self {
        case .v3: "#/components/schemas/"
        case .v2: "#/definitions/"
        }
    }

    func ref(_ name: String) -> JSON { ["$ref": .string(refPrefix + name)] }
}

/// The schemas OpenAPI documents are built from: the generated structural schema of the
/// built-in types, plus schemas given as OpenAPI v3 JSON (custom resources), keyed by
/// component name.
struct SchemaCatalog: Sendable {
    static let quantity = "io.k8s.apimachinery.pkg.api.resource.Quantity"
    static let intOrString = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
    static let time = "io.k8s.apimachinery.pkg.apis.meta.v1.Time"
    static let microTime = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"
    static let deleteOptions = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
    static let status = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
    static let patch = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
    static let apiResourceList = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList"
    static let apiGroupList = "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList"
    static let apiGroup = "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup"
    static let apiVersions = "io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions"

    /// Free-form definitions that are JSON objects; the other free-form ones may hold any value.
    private static let objectValued: Set<String> = [
        "io.k8s.apimachinery.pkg.runtime.RawExtension",
        "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
        patch,
    ]

    let types: [String: TypeSchema]
    let additional: [String: JSONValue]
    private let byGVK: [GroupVersionKind: String]

    init(schema: APISchema, additional: [String: JSONValue], resources: [ServedResource]) {
        types = schema.types
        self.additional = additional
        var byGVK: [GroupVersionKind: String] = [:]
        for name in schema.types.keys.sorted(by: JSON.byteOrder) {
            if let gvk = schema.types[name]?.gvk, byGVK[gvk] == nil { byGVK[gvk] = name }
        }
        for r in resources {
            if let d = r.definition { byGVK[r.groupVersionKind] = d }
        }
        self.byGVK = byGVK
    }

    func contains(_ name: String) -> Bool { types[name] != nil || additional[name] != nil }

    func definition(for gvk: GroupVersionKind) -> String? {
        byGVK[gvk].flatMap { contains($0) ? $0 : nil }
    }

    // MARK: References

    /// Every definition reachable from `roots`, in byte order of their names.
    func closure(_ roots: [String]) -> [String] {
        var seen: Set<String> = []
        var stack = roots.filter(contains)
        while let name = stack.popLast() {
            guard seen.insert(name).inserted else { continue }
            for r in references(of: name) where !seen.contains(r) && contains(r) { stack.append(r) }
        }
        return seen.sorted(by: JSON.byteOrder)
    }

    private func references(of name: String) -> [String] {
        if let t = types[name] {
            var out: [String] = []
            for field in (t.fields ?? [:]).values { Self.collectReferences(field, into: &out) }
            return out
        }
        if let v = additional[name] {
            var out: [String] = []
            Self.collectReferences(v, into: &out)
            return out
        }
        return []
    }

    private static func collectReferences(_ field: FieldSchema, into out: inout [String]) {
        if let r = reference(field) { out.append(r) }
        if let items = field.items { collectReferences(items, into: &out) }
        if let values = field.values { collectReferences(values, into: &out) }
    }

    private static func collectReferences(_ value: JSONValue, into out: inout [String]) {
        switch value {
        case .object(let o):
            for (k, v) in o {
                if k == "$ref", case .string(let s) = v, s.hasPrefix(OpenAPIFlavor.v3.refPrefix) {
                    out.append(String(s.dropFirst(OpenAPIFlavor.v3.refPrefix.count)))
                } else {
                    collectReferences(v, into: &out)
                }
            }
        case .array(let a):
            for v in a { collectReferences(v, into: &out) }
        default:
            break
        }
    }

    /// The definition a field points at, if any.
    private static func reference(_ field: FieldSchema) -> String? {
        switch field.kind {
        case .ref, .json: field.ref
        case .quantity: field.ref ?? quantity
        case .intOrString: field.ref ?? intOrString
        case .time: field.ref ?? time
        case .microTime: field.ref ?? microTime
        default: nil
        }
    }

    // MARK: Rendering

    /// The schema of definition `name` (which must exist).
    func render(_ name: String, flavor: OpenAPIFlavor) -> JSON {
        if let t = types[name] { return renderType(name, t, flavor: flavor) }
        if let v = additional[name] { return JSON(flavor == .v2 ? Self.rewritingReferences(v) : v) }
        return [:]
    }

    private func renderType(_ name: String, _ t: TypeSchema, flavor: OpenAPIFlavor) -> JSON {
        if let special = t.special {
            switch special {
            case "quantity":
                return flavor == .v3 ? ["oneOf": [["type": "string"], ["type": "number"]]] : ["type": "string"]
            case "intOrString":
                return flavor == .v3
                    ? ["format": "int-or-string", "oneOf": [["type": "integer"], ["type": "string"]]]
                    : ["format": "int-or-string", "type": "string"]
            case "time", "microTime":
                return ["format": "date-time", "type": "string"]
            default:
                return Self.objectValued.contains(name) ? ["type": "object"] : ["x-kubernetes-preserve-unknown-fields": true]
            }
        }
        var members: [(String, JSON)] = []
        let fields = t.fields ?? [:]
        if !fields.isEmpty {
            members.append(("properties", .object(fields.keys.sorted(by: JSON.byteOrder).map { key in
                // The generator's source pins apiVersion/kind of kinds with an enum; Kubernetes
                // publishes them as plain strings (DeleteOptions is sent under every group).
                (key, field(fields[key]!, flavor: flavor, dropEnum: key == "apiVersion" || key == "kind"))
            })))
        }
        if let required = t.required, !required.isEmpty { members.append(("required", JSON.strings(required))) }
        members.append(("type", "object"))
        if let gvk = t.gvk {
            members.append(("x-kubernetes-group-version-kind", [
                ["group": .string(gvk.group), "kind": .string(gvk.kind), "version": .string(gvk.version)],
            ]))
        }
        if let mapType = t.mapType { members.append(("x-kubernetes-map-type", .string(mapType))) }
        return .object(members)
    }

    private func field(_ f: FieldSchema, flavor: OpenAPIFlavor, dropEnum: Bool = false) -> JSON {
        var m: [(String, JSON)] = []
        switch f.kind {
        case .string, .integer, .number, .boolean:
            if let values = f.enumValues, !dropEnum { m.append(("enum", .array(values.map(JSON.init)))) }
            if let format = f.format { m.append(("format", .string(format))) }
            m.append(("type", .string(f.kind.rawValue)))
        case .array:
            if let items = f.items { m.append(("items", field(items, flavor: flavor))) }
            m.append(("type", "array"))
        case .map:
            if let values = f.values { m.append(("additionalProperties", field(values, flavor: flavor))) }
            m.append(("type", "object"))
        case .ref, .quantity, .intOrString, .time, .microTime, .json:
            if let target = Self.reference(f), contains(target) {
                switch flavor {
                case .v3: m.append(("allOf", [flavor.ref(target)]))
                case .v2: m.append(("$ref", .string(flavor.refPrefix + target)))
                }
            } else {
                m.append(("type", "object"))
                m.append(("x-kubernetes-preserve-unknown-fields", true))
            }
        }
        if let keys = f.listMapKeys { m.append(("x-kubernetes-list-map-keys", JSON.strings(keys))) }
        if let listType = f.listType { m.append(("x-kubernetes-list-type", .string(listType))) }
        if let mapType = f.mapType { m.append(("x-kubernetes-map-type", .string(mapType))) }
        if let key = f.patchMergeKey { m.append(("x-kubernetes-patch-merge-key", .string(key))) }
        if let strategy = f.patchStrategy { m.append(("x-kubernetes-patch-strategy", .string(strategy))) }
        return .object(m)
    }

    /// A v3 schema with its `$ref`s pointed at `#/definitions/`.
    private static func rewritingReferences(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let o):
            var out: [String: JSONValue] = [:]
            for (k, v) in o {
                if k == "$ref", case .string(let s) = v, s.hasPrefix(OpenAPIFlavor.v3.refPrefix) {
                    out[k] = .string(OpenAPIFlavor.v2.refPrefix + s.dropFirst(OpenAPIFlavor.v3.refPrefix.count))
                } else {
                    out[k] = rewritingReferences(v)
                }
            }
            return .object(out)
        case .array(let a):
            return .array(a.map(rewritingReferences))
        default:
            return value
        }
    }
}
