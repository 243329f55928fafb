import CapstanAPI

extension JSONValue {
    /// The JSON tree of an API value (for merge patches).
    static func encoding<T: Encodable>(_ value: T) throws -> JSONValue {
        try JSONValue.parse([UInt8](KubeJSON.encode(value)))
    }
}
