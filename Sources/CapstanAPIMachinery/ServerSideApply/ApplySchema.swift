import CapstanAPI

/// How server-side apply sees the fields of an object: which values are leaves (scalars, atomic
/// lists, maps and structs), which merge member by member (granular structs and maps), and which
/// lists merge by keys (`x-kubernetes-list-type: map`) or by value (`set`). Read from the
/// generated schema's list types, list-map keys and map types; fields the schema does not
/// describe are "deduced": objects merge by member, lists are atomic.
public struct ApplySchema: Sendable {
    let types: [String: TypeSchema]
    let root: TypeSchema?

    public init(definition: String, in schema: APISchema = .builtIn) {
        types = schema.types
        root = schema.type(definition)
    }

    init(definition: String, types: [String: TypeSchema]) {
        self.types = types
        root = types[definition]
    }

    /// No schema: everything is deduced.
    public static let deduced = ApplySchema(definition: "", types: [:])

    /// The schema of one position in an object.
    enum Slot: Sendable {
        case type(TypeSchema)
        case field(FieldSchema)
        case unknown
    }

    enum Shape {
        /// A scalar or an atomic value: owned and replaced as a whole.
        case leaf
        /// A struct: members by name.
        case structure([String: FieldSchema])
        /// A map: every member has the same schema (nil: deduced).
        case map(FieldSchema?)
        case associativeList(item: FieldSchema?, keys: [String])
        case set
        /// Unknown: objects behave as maps, everything else as leaves.
        case deduced
    }

    var rootSlot: Slot { root.map(Slot.type) ?? .unknown }

    func shape(_ slot: Slot) -> Shape {
        switch slot {
        case .unknown: return .deduced
        case .type(let t):
            if let special = t.special { return special == "json" ? .deduced : .leaf }
            if t.mapType == "atomic" { return .leaf }
            return .structure(t.fields ?? [:])
        case .field(let f):
            switch f.kind {
            case .string, .integer, .number, .boolean, .quantity, .intOrString, .time, .microTime: return .leaf
            case .json: return .deduced
            case .ref:
                if f.mapType == "atomic" { return .leaf }
                guard let ref = f.ref, let t = types[ref] else { return .deduced }
                return shape(.type(t))
            case .array:
                switch f.listType {
                case "map":
                    guard let keys = f.listMapKeys, !keys.isEmpty else { return .leaf }
                    return .associativeList(item: f.items, keys: keys)
                case "set": return .set
                default: return .leaf
                }
            case .map:
                return f.mapType == "atomic" ? .leaf : .map(f.values)
            }
        }
    }

    /// The slot of member `name` in an object of this shape.
    func member(_ shape: Shape, _ name: String) -> Slot {
        switch shape {
        case .structure(let fields): return fields[name].map(Slot.field) ?? .unknown
        case .map(let values): return values.map(Slot.field) ?? .unknown
        default: return .unknown
        }
    }

    /// Defaults of list-map key fields that clients may leave out (`protocol` of ports).
    static let keyDefaults: [String: JSONValue] = ["protocol": .string("TCP")]

    /// The path element of an associative-list item.
    static func keyElement(_ item: JSONValue, keys: [String], index: Int) -> PathElement {
        guard case .object(let o) = item else { return .index(index) }
        var pairs: [(String, JSONValue)] = []
        for k in keys {
            if let v = o[k], v != .null {
                pairs.append((k, v))
            } else if let d = keyDefaults[k] {
                pairs.append((k, d))
            }
        }
        return pairs.isEmpty ? .index(index) : .key(pairs)
    }
}
