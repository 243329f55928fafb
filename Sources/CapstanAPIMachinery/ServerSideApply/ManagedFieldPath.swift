import CapstanAPI

/// One step into an object, as server-side apply names fields: a struct or map member, the item of
/// an associative list with these key values, the item of a set with this value, or a list index.
public enum PathElement: Hashable, Sendable, Comparable, CustomStringConvertible {
    case field(String)
    /// Key field name and value pairs, sorted by name.
    case key([KeyField])
    case value(JSONValue)
    case index(Int)

    public struct KeyField: Hashable, Sendable {
        public var name: String
        public var value: JSONValue

        public init(_ name: String, _ value: JSONValue) {
            self.name = name
            self.value = value
        }
    }

    /// An associative-list key from name/value pairs in any order.
    public static func key(_ pairs: [(String, JSONValue)]) -> PathElement {
        .key(pairs.map { KeyField($0.0, $0.1) }.sorted { $0.name < $1.name })
    }

    var rank: Int {
        switch self {
        case .field: return 0
        case .key: return 1
        case .value: return 2
        case .index: return 3
        }
    }

    /// Fields first (by name), then keys, values and indexes, as Kubernetes orders them.
    public static func < (a: PathElement, b: PathElement) -> Bool {
        switch (a, b) {
        case (.field(let x), .field(let y)): return x < y
        case (.index(let x), .index(let y)): return x < y
        case (.key, .key), (.value, .value): return a.fieldsV1Key < b.fieldsV1Key
        default: return a.rank < b.rank
        }
    }

    /// The form in conflict messages: `.spec`, `[name="nginx"]`, `[="a"]`, `[0]`.
    public var description: String {
        switch self {
        case .field(let name): return "." + name
        case .key(let fields): return "[" + fields.map { "\($0.name)=\(Self.text($0.value))" }.joined(separator: ",") + "]"
        case .value(let v): return "[=\(Self.text(v))]"
        case .index(let i): return "[\(i)]"
        }
    }

    static func text(_ v: JSONValue) -> String { String(decoding: v.serialized(), as: UTF8.self) }

    /// The member name in `fieldsV1`: `f:name`, `k:{"name":"nginx"}`, `v:"a"`, `i:0`.
    public var fieldsV1Key: String {
        switch self {
        case .field(let name): return "f:" + name
        case .key(let fields):
            return "k:{" + fields.map { Self.text(.string($0.name)) + ":" + Self.text($0.value) }.joined(separator: ",") + "}"
        case .value(let v): return "v:" + Self.text(v)
        case .index(let i): return "i:\(i)"
        }
    }

    /// Parses a `fieldsV1` member name.
    public init?(fieldsV1Key s: String) {
        guard s.count >= 2, s.dropFirst().first == ":" else { return nil }
        let rest = String(s.dropFirst(2))
        switch s.first {
        case "f": self = .field(rest)
        case "i":
            guard let i = Int(rest), i >= 0 else { return nil }
            self = .index(i)
        case "v":
            guard let v = try? JSONValue.parse(Array(rest.utf8)) else { return nil }
            self = .value(v)
        case "k":
            guard case .object(let o)? = try? JSONValue.parse(Array(rest.utf8)), !o.isEmpty else { return nil }
            self = .key(o.map { ($0.key, $0.value) })
        default: return nil
        }
    }
}

/// A path from the object's root, printed as Kubernetes prints conflicting fields
/// (`.spec.containers[name="web"].image`).
public struct ManagedFieldPath: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var elements: [PathElement]

    public init(_ elements: [PathElement]) { self.elements = elements }

    /// A path of struct or map members.
    public init(fields: String...) { elements = fields.map(PathElement.field) }

    public var description: String { elements.map(\.description).joined() }

    public static func < (a: ManagedFieldPath, b: ManagedFieldPath) -> Bool {
        for (x, y) in zip(a.elements, b.elements) where x != y { return x < y }
        return a.elements.count < b.elements.count
    }

    public func appending(_ e: PathElement) -> ManagedFieldPath { ManagedFieldPath(elements + [e]) }
}
