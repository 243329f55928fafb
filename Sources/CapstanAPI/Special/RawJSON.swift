/// An embedded object of any kind (`runtime.RawExtension`), kept as JSON.
public struct RawExtension: Sendable, Hashable, Codable {
    public var value: JSONValue

    public init(_ value: JSONValue) { self.value = value }

    public init(from decoder: any Decoder) throws { value = try JSONValue(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

extension MetaV1 {
    /// The set of fields a manager owns, in Kubernetes' `FieldsV1` JSON form (`{"f:spec":{...}}`).
    public struct FieldsV1: Sendable, Hashable, Codable {
        public var value: JSONValue

        public init(_ value: JSONValue) { self.value = value }

        public init(from decoder: any Decoder) throws { value = try JSONValue(from: decoder) }
        public func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
    }

    /// A patch body of any of the patch types, kept as JSON.
    public typealias Patch = RawExtension
}

extension APIExtensionsV1 {
    /// Free-form JSON in a CRD schema (`default`, `enum`, `example`).
    public typealias JSON = JSONValue

    /// `items` of a CRD schema: one schema, or one schema per position.
    public indirect enum JSONSchemaPropsOrArray: Sendable, Hashable, Codable {
        case schema(JSONSchemaProps)
        case schemas([JSONSchemaProps])

        public init(from decoder: any Decoder) throws {
            if var list = try? decoder.unkeyedContainer() {
                var out: [JSONSchemaProps] = []
                while !list.isAtEnd { out.append(try list.decode(JSONSchemaProps.self)) }
                self = .schemas(out)
            } else {
                self = .schema(try JSONSchemaProps(from: decoder))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            switch self {
            case .schema(let s): try s.encode(to: encoder)
            case .schemas(let s):
                var c = encoder.unkeyedContainer()
                for x in s { try c.encode(x) }
            }
        }
    }

    /// `additionalProperties` / `additionalItems`: a boolean or a schema.
    public indirect enum JSONSchemaPropsOrBool: Sendable, Hashable, Codable {
        case bool(Bool)
        case schema(JSONSchemaProps)

        public init(from decoder: any Decoder) throws {
            if let c = try? decoder.singleValueContainer(), let b = try? c.decode(Bool.self) {
                self = .bool(b)
            } else {
                self = .schema(try JSONSchemaProps(from: decoder))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            switch self {
            case .bool(let b):
                var c = encoder.singleValueContainer()
                try c.encode(b)
            case .schema(let s): try s.encode(to: encoder)
            }
        }
    }

    /// `dependencies` values: a schema or a list of property names.
    public indirect enum JSONSchemaPropsOrStringArray: Sendable, Hashable, Codable {
        case schema(JSONSchemaProps)
        case strings([String])

        public init(from decoder: any Decoder) throws {
            if let c = try? decoder.singleValueContainer(), let s = try? c.decode([String].self) {
                self = .strings(s)
            } else {
                self = .schema(try JSONSchemaProps(from: decoder))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            switch self {
            case .strings(let s):
                var c = encoder.singleValueContainer()
                try c.encode(s)
            case .schema(let s): try s.encode(to: encoder)
            }
        }
    }
}
