import CapstanAPI
import Foundation
import SwiftProtobuf

/// Collects the fields of one message into a JSON object, as `ProtobufJSON` describes.
struct JSONObjectVisitor: SwiftProtobuf.Visitor {
    let fields: [Int: KubernetesFieldRules.Field]
    let nesting: Int
    var object: [String: JSONValue] = [:]

    init(fields: [Int: KubernetesFieldRules.Field], nesting: Int) {
        self.fields = fields
        self.nesting = nesting
    }

    /// Stores a value; fields the rules do not name (none in practice) are left out.
    private mutating func put(_ value: JSONValue, isZero: Bool, _ number: Int) {
        guard let field = fields[number] else { return }
        switch field.presence {
        case .unlessZero where isZero:
            return
        case .inline:
            guard case .object(let members) = value else { return }
            object.merge(members) { _, new in new }
        default:
            object[field.jsonName] = value
        }
    }

    private func message(_ value: some Message) throws(ProtobufBodyError) -> JSONValue {
        try ProtobufJSON.json(value, nesting: nesting)
    }

    private static func base64(_ data: Data) -> JSONValue { .string(data.base64EncodedString()) }

    // MARK: Singular

    mutating func visitSingularDoubleField(value: Double, fieldNumber: Int) throws {
        put(.double(value), isZero: value == 0, fieldNumber)
    }

    mutating func visitSingularFloatField(value: Float, fieldNumber: Int) throws {
        put(.double(Double(value)), isZero: value == 0, fieldNumber)
    }

    mutating func visitSingularInt32Field(value: Int32, fieldNumber: Int) throws {
        put(.int(Int64(value)), isZero: value == 0, fieldNumber)
    }

    mutating func visitSingularInt64Field(value: Int64, fieldNumber: Int) throws {
        put(.int(value), isZero: value == 0, fieldNumber)
    }

    mutating func visitSingularUInt32Field(value: UInt32, fieldNumber: Int) throws {
        put(.int(Int64(value)), isZero: value == 0, fieldNumber)
    }

    mutating func visitSingularUInt64Field(value: UInt64, fieldNumber: Int) throws {
        put(.int(Int64(truncatingIfNeeded: value)), isZero: value == 0, fieldNumber)
    }

    mutating func visitSingularBoolField(value: Bool, fieldNumber: Int) throws {
        put(.bool(value), isZero: !value, fieldNumber)
    }

    mutating func visitSingularStringField(value: String, fieldNumber: Int) throws {
        put(.string(value), isZero: value.isEmpty, fieldNumber)
    }

    mutating func visitSingularBytesField(value: Data, fieldNumber: Int) throws {
        put(Self.base64(value), isZero: value.isEmpty, fieldNumber)
    }

    mutating func visitSingularEnumField<E: SwiftProtobuf.Enum>(value: E, fieldNumber: Int) throws {
        put(.int(Int64(value.rawValue)), isZero: value.rawValue == 0, fieldNumber)
    }

    mutating func visitSingularMessageField<M: Message>(value: M, fieldNumber: Int) throws {
        guard fields[fieldNumber] != nil else { return }
        let converted = try message(value)
        put(converted, isZero: false, fieldNumber)
    }

    // MARK: Repeated (arrays; the defaults would visit one element at a time)

    mutating func visitRepeatedDoubleField(value: [Double], fieldNumber: Int) throws {
        put(.array(value.map(JSONValue.double)), isZero: false, fieldNumber)
    }

    mutating func visitRepeatedFloatField(value: [Float], fieldNumber: Int) throws {
        put(.array(value.map { .double(Double($0)) }), isZero: false, fieldNumber)
    }

    mutating func visitRepeatedInt32Field(value: [Int32], fieldNumber: Int) throws {
        put(.array(value.map { .int(Int64($0)) }), isZero: false, fieldNumber)
    }

    mutating func visitRepeatedInt64Field(value: [Int64], fieldNumber: Int) throws {
        put(.array(value.map(JSONValue.int)), isZero: false, fieldNumber)
    }

    mutating func visitRepeatedUInt32Field(value: [UInt32], fieldNumber: Int) throws {
        put(.array(value.map { .int(Int64($0)) }), isZero: false, fieldNumber)
    }

    mutating func visitRepeatedUInt64Field(value: [UInt64], fieldNumber: Int) throws {
        put(.array(value.map { .int(Int64(truncatingIfNeeded: $0)) }), isZero: false, fieldNumber)
    }

    mutating func visitRepeatedBoolField(value: [Bool], fieldNumber: Int) throws {
        put(.array(value.map(JSONValue.bool)), isZero: false, fieldNumber)
    }

    mutating func visitRepeatedStringField(value: [String], fieldNumber: Int) throws {
        put(.array(value.map(JSONValue.string)), isZero: false, fieldNumber)
    }

    mutating func visitRepeatedBytesField(value: [Data], fieldNumber: Int) throws {
        put(.array(value.map(Self.base64)), isZero: false, fieldNumber)
    }

    mutating func visitRepeatedEnumField<E: SwiftProtobuf.Enum>(value: [E], fieldNumber: Int) throws {
        put(.array(value.map { .int(Int64($0.rawValue)) }), isZero: false, fieldNumber)
    }

    mutating func visitRepeatedMessageField<M: Message>(value: [M], fieldNumber: Int) throws {
        guard fields[fieldNumber] != nil else { return }
        var items: [JSONValue] = []
        items.reserveCapacity(value.count)
        for element in value { items.append(try message(element)) }
        put(.array(items), isZero: false, fieldNumber)
    }

    mutating func visitPackedInt32Field(value: [Int32], fieldNumber: Int) throws {
        try visitRepeatedInt32Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitPackedInt64Field(value: [Int64], fieldNumber: Int) throws {
        try visitRepeatedInt64Field(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitPackedBoolField(value: [Bool], fieldNumber: Int) throws {
        try visitRepeatedBoolField(value: value, fieldNumber: fieldNumber)
    }

    mutating func visitPackedDoubleField(value: [Double], fieldNumber: Int) throws {
        try visitRepeatedDoubleField(value: value, fieldNumber: fieldNumber)
    }

    // MARK: Maps (every Kubernetes map has string keys)

    mutating func visitMapField<KeyType, ValueType: MapValueType>(
        fieldType: _ProtobufMap<KeyType, ValueType>.Type,
        value: _ProtobufMap<KeyType, ValueType>.BaseType,
        fieldNumber: Int
    ) throws {
        var members: [String: JSONValue] = [:]
        members.reserveCapacity(value.count)
        for (key, element) in value {
            members["\(key)"] = Self.scalar(element)
        }
        put(.object(members), isZero: false, fieldNumber)
    }

    mutating func visitMapField<KeyType, ValueType>(
        fieldType: _ProtobufEnumMap<KeyType, ValueType>.Type,
        value: _ProtobufEnumMap<KeyType, ValueType>.BaseType,
        fieldNumber: Int
    ) throws {
        var members: [String: JSONValue] = [:]
        for (key, element) in value { members["\(key)"] = .int(Int64(element.rawValue)) }
        put(.object(members), isZero: false, fieldNumber)
    }

    mutating func visitMapField<KeyType, ValueType>(
        fieldType: _ProtobufMessageMap<KeyType, ValueType>.Type,
        value: _ProtobufMessageMap<KeyType, ValueType>.BaseType,
        fieldNumber: Int
    ) throws {
        var members: [String: JSONValue] = [:]
        members.reserveCapacity(value.count)
        guard fields[fieldNumber] != nil else { return }
        for (key, element) in value { members["\(key)"] = try message(element) }
        put(.object(members), isZero: false, fieldNumber)
    }

    private static func scalar(_ value: Any) -> JSONValue {
        switch value {
        case let v as String: .string(v)
        case let v as Data: base64(v)
        case let v as Int32: .int(Int64(v))
        case let v as Int64: .int(v)
        case let v as UInt32: .int(Int64(v))
        case let v as UInt64: .int(Int64(truncatingIfNeeded: v))
        case let v as Bool: .bool(v)
        case let v as Double: .double(v)
        case let v as Float: .double(Double(v))
        default: .string("\(value)")
        }
    }

    // MARK: Unknown fields and extensions: left out, as Go's decoder drops them

    mutating func visitUnknown(bytes: Data) throws {}
}
