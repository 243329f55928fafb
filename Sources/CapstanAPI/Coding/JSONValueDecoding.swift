/// The fast way into the generated types: from a `JSONValue` (the byte-level parser's output)
/// with plain dictionary reads, instead of Foundation's `JSONDecoder` and its keyed containers,
/// which cost about three quarters of a typed watch event's decoding.
///
/// The fast path never reports errors itself. Whatever it is not sure of (a missing required
/// field, a wrong type, a number that is not exactly representable, free-form JSON with
/// fractional numbers) throws ``JSONShapeError``, and ``KubeJSON`` then decodes the same bytes
/// with `JSONDecoder`, which accepts or rejects them and names the faulty field. So an object
/// decodes to the same value on both paths, and only the rare odd one pays twice.
public protocol JSONValueDecodable {
    init(json value: JSONValue) throws(JSONShapeError)
}

/// The fast path gave up (see ``JSONValueDecodable``); carries nothing, costs nothing.
public struct JSONShapeError: Error, Sendable {
    public init() {}
}

extension Optional where Wrapped == JSONValue {
    /// A required member: absent fails; present (null included) goes to `T`, as
    /// `KeyedDecodingContainer.decode` passes it.
    @inlinable
    public func required<T: JSONValueDecodable>(_: T.Type) throws(JSONShapeError) -> T {
        guard let value = self else { throw JSONShapeError() }
        return try T(json: value)
    }

    /// An optional member: absent or null is nil, as `decodeIfPresent` has it.
    @inlinable
    public func optional<T: JSONValueDecodable>(_: T.Type) throws(JSONShapeError) -> T? {
        switch self {
        case .none, .null?: return nil
        case .some(let value): return try T(json: value)
        }
    }
}

extension String: JSONValueDecodable {
    @inlinable
    public init(json value: JSONValue) throws(JSONShapeError) {
        guard case .string(let s) = value else { throw JSONShapeError() }
        self = s
    }
}

extension Bool: JSONValueDecodable {
    @inlinable
    public init(json value: JSONValue) throws(JSONShapeError) {
        guard case .bool(let b) = value else { throw JSONShapeError() }
        self = b
    }
}

extension Int64: JSONValueDecodable {
    @inlinable
    public init(json value: JSONValue) throws(JSONShapeError) {
        guard case .int(let i) = value else { throw JSONShapeError() }
        self = i
    }
}

extension Int32: JSONValueDecodable {
    @inlinable
    public init(json value: JSONValue) throws(JSONShapeError) {
        guard case .int(let i) = value, let exact = Int32(exactly: i) else { throw JSONShapeError() }
        self = exact
    }
}

extension Double: JSONValueDecodable {
    @inlinable
    public init(json value: JSONValue) throws(JSONShapeError) {
        switch value {
        case .double(let d) where d.isFinite: self = d
        case .int(let i): self = Double(i)
        default: throw JSONShapeError()
        }
    }
}

extension Array: JSONValueDecodable where Element: JSONValueDecodable {
    @inlinable
    public init(json value: JSONValue) throws(JSONShapeError) {
        guard case .array(let items) = value else { throw JSONShapeError() }
        var out: [Element] = []
        out.reserveCapacity(items.count)
        for item in items { out.append(try Element(json: item)) }
        self = out
    }
}

extension Dictionary: JSONValueDecodable where Key == String, Value: JSONValueDecodable {
    @inlinable
    public init(json value: JSONValue) throws(JSONShapeError) {
        guard case .object(let members) = value else { throw JSONShapeError() }
        var out: [String: Value] = [:]
        out.reserveCapacity(members.count)
        for (key, member) in members { out[key] = try Value(json: member) }
        self = out
    }
}

extension JSONValue: JSONValueDecodable {
    /// Free-form JSON as is, unless it holds a fractional number: `JSONValue`'s `Decodable` reads
    /// numbers as `JSONDecoder` sees them, which may differ from the parser's (`1.0`).
    public init(json value: JSONValue) throws(JSONShapeError) {
        guard !value.containsFraction else { throw JSONShapeError() }
        self = value
    }

    var containsFraction: Bool {
        switch self {
        case .double: return true
        case .null, .bool, .int, .string: return false
        case .array(let items): return items.contains { $0.containsFraction }
        case .object(let members): return members.values.contains { $0.containsFraction }
        }
    }
}

extension RawExtension: JSONValueDecodable {
    public init(json value: JSONValue) throws(JSONShapeError) { self.init(try JSONValue(json: value)) }
}

extension MetaV1.FieldsV1: JSONValueDecodable {
    public init(json value: JSONValue) throws(JSONShapeError) { self.init(try JSONValue(json: value)) }
}

extension Quantity: JSONValueDecodable {
    public init(json value: JSONValue) throws(JSONShapeError) {
        let text: String
        switch value {
        case .string(let s): text = s
        case .int(let i): text = String(i)
        default: throw JSONShapeError()
        }
        do { self = try Quantity(parsing: text) } catch { throw JSONShapeError() }
    }
}

extension IntOrString: JSONValueDecodable {
    public init(json value: JSONValue) throws(JSONShapeError) {
        switch value {
        case .int(let i):
            guard let exact = Int32(exactly: i) else { throw JSONShapeError() }
            self = .int(exact)
        case .string(let s): self = .string(s)
        default: throw JSONShapeError()
        }
    }
}

extension MetaV1.Time: JSONValueDecodable {
    public init(json value: JSONValue) throws(JSONShapeError) {
        switch value {
        case .null: self = .zero
        case .string(let s):
            do { self = try MetaV1.Time(rfc3339: s) } catch { throw JSONShapeError() }
        default: throw JSONShapeError()
        }
    }
}

extension MetaV1.MicroTime: JSONValueDecodable {
    public init(json value: JSONValue) throws(JSONShapeError) {
        guard case .string(let s) = value else { throw JSONShapeError() }
        do { self = try MetaV1.MicroTime(rfc3339: s) } catch { throw JSONShapeError() }
    }
}

// CRD schemas are rare and irregular: always the Codable path.
extension APIExtensionsV1.JSONSchemaPropsOrArray: JSONValueDecodable {
    public init(json value: JSONValue) throws(JSONShapeError) { throw JSONShapeError() }
}

extension APIExtensionsV1.JSONSchemaPropsOrBool: JSONValueDecodable {
    public init(json value: JSONValue) throws(JSONShapeError) { throw JSONShapeError() }
}

extension APIExtensionsV1.JSONSchemaPropsOrStringArray: JSONValueDecodable {
    public init(json value: JSONValue) throws(JSONShapeError) { throw JSONShapeError() }
}
