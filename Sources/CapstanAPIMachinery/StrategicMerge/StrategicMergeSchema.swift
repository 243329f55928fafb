import CapstanAPI

/// Where a strategic merge patch finds the patch metadata of an object: for every field its patch
/// strategy (`merge`, `replace`, `retainKeys`) and merge key, as the generated schema carries them from
/// the Go struct tags kube-apiserver reads.
///
/// Fields the schema does not describe (free-form `JSON` and `RawExtension` values, unknown fields, every
/// field with ``unstructured``) carry no metadata: their objects merge key by key, their lists are
/// replaced and `null` deletes, as in a JSON merge patch; directives found there are still honoured.
public struct StrategicMergeSchema: Sendable {
    let types: [String: TypeSchema]
    let root: TypeSchema?

    /// The object at `definition` (`io.k8s.api.apps.v1.Deployment`) among `types`, the definitions by
    /// name as in ``APISchema/types``. An unknown definition carries no metadata.
    public init(definition: String, types: [String: TypeSchema]) {
        self.types = types
        root = types[definition]
    }

    /// The object at `definition` (`io.k8s.api.apps.v1.Deployment`) in `schema`.
    public init(definition: String, in schema: APISchema = .builtIn) {
        self.init(definition: definition, types: schema.types)
    }

    /// The object of a kind `schema` serves, or nil for any other kind (custom resources: kube-apiserver
    /// answers strategic merge patches for them with 415 Unsupported Media Type).
    public init?(kind: GroupVersionKind, in schema: APISchema = .builtIn) {
        guard let resource = schema.resource(for: kind) else { return nil }
        self.init(definition: resource.definition, types: schema.types)
    }

    /// No metadata anywhere: a JSON merge patch that also honours the directives.
    public static let unstructured = StrategicMergeSchema(definition: "", types: [:])

    /// True when the root definition is known.
    public var isDescribed: Bool { root != nil }
}

extension StrategicMergeSchema {
    /// What the members of a JSON object are.
    enum ObjectShape {
        /// A struct: members by JSON name.
        case fields([String: FieldSchema])
        /// A map: every member has the same schema (or an unknown one).
        case values(FieldSchema?)
        /// Free-form or unknown.
        case unknown
    }

    var rootShape: ObjectShape { root.map(shape(of:)) ?? .unknown }

    func shape(of type: TypeSchema) -> ObjectShape {
        type.special == nil ? .fields(type.fields ?? [:]) : .unknown
    }

    /// The shape of an object held by `field` (a struct reference or a map).
    func objectShape(_ field: FieldSchema?) -> ObjectShape {
        guard let field else { return .unknown }
        switch field.kind {
        case .ref:
            guard let ref = field.ref, let type = types[ref] else { return .unknown }
            return shape(of: type)
        case .map:
            return .values(field.values)
        default:
            return .unknown
        }
    }

    /// The patch metadata of member `key` of an object of `shape`.
    func meta(_ key: String, in shape: ObjectShape) -> PatchMeta {
        switch shape {
        case .fields(let fields): PatchMeta(fields[key])
        case .values(let values): PatchMeta(values)
        case .unknown: PatchMeta(nil)
        }
    }
}

/// The patch strategy and merge key of one field.
struct PatchMeta {
    enum Strategy {
        /// Lists are replaced, objects merged.
        case none
        /// Lists merge (by merge key, or as a union of primitives).
        case merge
        /// The value is replaced whole.
        case replace
    }

    let field: FieldSchema?
    let strategy: Strategy
    /// The merge key of a merging list of objects.
    let mergeKey: String?

    init(_ field: FieldSchema?) {
        self.field = field
        var strategy = Strategy.none
        // `retainKeys` travels in the patch itself (`$retainKeys`); only merge and replace matter here.
        if let tag = field?.patchStrategy {
            for part in tag.split(separator: ",") {
                if part == "merge" { strategy = .merge } else if part == "replace" { strategy = .replace }
            }
        }
        self.strategy = strategy
        if let key = field?.patchMergeKey, !key.isEmpty { mergeKey = key } else { mergeKey = nil }
    }

    /// The schema of the elements of a list field.
    var items: FieldSchema? { field?.kind == .array ? field?.items : nil }
}
