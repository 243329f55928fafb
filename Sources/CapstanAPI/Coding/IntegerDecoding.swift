extension KeyedDecodingContainer {
    /// Decodes an integer field, reporting out-of-range values at the field's path
    /// (Foundation's decoder reports them without a path).
    func decodeInteger<T: FixedWidthInteger & Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let wide: Int64
        do {
            wide = try decode(Int64.self, forKey: key)
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            throw Self.outOfRange(T.self, codingPath + [key])
        }
        guard let value = T(exactly: wide) else { throw Self.outOfRange(T.self, codingPath + [key]) }
        return value
    }

    func decodeIntegerIfPresent<T: FixedWidthInteger & Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decodeInteger(T.self, forKey: key)
    }

    private static func outOfRange<T: FixedWidthInteger>(_ type: T.Type, _ path: [any CodingKey]) -> DecodingError {
        DecodingError.dataCorrupted(.init(
            codingPath: path,
            debugDescription: "expected an integer between \(T.min) and \(T.max)"))
    }
}
