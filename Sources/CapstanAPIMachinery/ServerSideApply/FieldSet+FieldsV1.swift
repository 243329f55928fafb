import CapstanAPI

/// A `fieldsV1` value that does not decode.
public struct FieldsV1Error: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension FieldSet {
    /// The `fieldsV1` form: an object whose members are `f:`, `k:`, `v:` and `i:` names; `.` marks a
    /// node that is itself in the set, and a member with no children is `{}`.
    public var fieldsV1: JSONValue { .object(fieldsV1Members) }

    /// Each child's members are built into a dictionary of its own, never copied out of a value.
    private var fieldsV1Members: [String: JSONValue] {
        var o = [String: JSONValue](minimumCapacity: children.count)
        for (element, child) in children {
            var encoded = child.fieldsV1Members
            if child.isMember, !child.children.isEmpty { encoded["."] = .object([:]) }
            o[element.fieldsV1Key] = .object(encoded)
        }
        return o
    }

    /// Reads a `fieldsV1` value.
    public init(fieldsV1 value: JSONValue) throws(FieldsV1Error) {
        self.init()
        try decode(value, depth: 0)
    }

    private mutating func decode(_ value: JSONValue, depth: Int) throws(FieldsV1Error) {
        guard depth < 100 else { throw FieldsV1Error(message: "fieldsV1 nests too deeply") }
        guard case .object(let o) = value else { throw FieldsV1Error(message: "fieldsV1 members must be objects") }
        for (key, child) in o {
            if key == "." {
                isMember = true
                continue
            }
            guard let element = PathElement(fieldsV1Key: key) else {
                throw FieldsV1Error(message: "invalid fieldsV1 member \"\(key)\"")
            }
            var node = FieldSet()
            guard case .object(let co) = child else { throw FieldsV1Error(message: "fieldsV1 member \"\(key)\" is not an object") }
            if co.isEmpty {
                node.isMember = true
            } else {
                try node.decode(child, depth: depth + 1)
            }
            if !node.isEmpty { children[element] = node }
        }
    }
}
