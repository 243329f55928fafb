#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// JSON decoding and encoding of API objects, with errors that name the field path
/// (`spec.containers[0].resources.limits.cpu: invalid quantity "abc": ...`).
public enum KubeJSON {
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws(APIDecodingError) -> T {
        if let fast = T.self as? any JSONValueDecodable.Type,
           let value = try? JSONValue.parse([UInt8](data)), let decoded = try? fast.init(json: value) {
            return decoded as! T
        }
        return try decodeWithFoundation(type, from: data)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(APIDecodingError) -> T {
        if let fast = T.self as? any JSONValueDecodable.Type,
           let value = try? JSONValue.parse(bytes), let decoded = try? fast.init(json: value) {
            return decoded as! T
        }
        return try decodeWithFoundation(type, from: Data(bytes))
    }

    /// `T` from an already parsed value: the fast path, else `JSONDecoder` on its serialization.
    public static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws(APIDecodingError) -> T {
        if let fast = T.self as? any JSONValueDecodable.Type, let decoded = try? fast.init(json: value) {
            return decoded as! T
        }
        return try decodeWithFoundation(type, from: Data(value.serialized()))
    }

    /// Foundation's decoder only (the reference the fast path is tested against).
    public static func decodeWithFoundation<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(APIDecodingError) -> T {
        try decodeWithFoundation(type, from: Data(bytes))
    }

    /// Foundation's decoder only.
    public static func decodeWithFoundation<T: Decodable>(_ type: T.Type, from data: Data) throws(APIDecodingError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw APIDecodingError(error)
        } catch {
            throw APIDecodingError(path: "", message: "\(error)")
        }
    }

    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}

/// A body that does not decode into the expected type, with the JSON path of the fault.
public struct APIDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Dotted path with indexes, as Kubernetes writes field paths (`spec.containers[0].name`).
    public let path: String
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public init(_ error: DecodingError) {
        switch error {
        case .typeMismatch(let type, let context):
            path = Self.fieldPath(context.codingPath)
            message = "expected \(Self.describe(type))"
                + (context.debugDescription.isEmpty ? "" : " (\(Self.trim(context.debugDescription)))")
        case .valueNotFound(let type, let context):
            path = Self.fieldPath(context.codingPath)
            message = "expected \(Self.describe(type)), found null"
        case .keyNotFound(let key, let context):
            path = Self.fieldPath(context.codingPath + [key])
            message = "required value"
        case .dataCorrupted(let context):
            path = Self.fieldPath(context.codingPath)
            message = Self.trim(context.debugDescription)
        @unknown default:
            path = ""
            message = "\(error)"
        }
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }

    static func fieldPath(_ path: [any CodingKey]) -> String {
        var out = ""
        for key in path {
            if let i = key.intValue {
                out += "[\(i)]"
            } else {
                if !out.isEmpty { out += "." }
                out += key.stringValue
            }
        }
        return out
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int32.Type, is Int64.Type, is Int.Type: return "an integer"
        case is Double.Type: return "a number"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array<") { return "a list" }
            if name.hasPrefix("Dictionary<") { return "an object" }
            return "an object"
        }
    }

    private static func trim(_ s: String) -> String {
        // Foundation's messages end with a period and sometimes carry an underlying error; keep the first sentence.
        var t = s
        if let cut = t.firstRange(of: " Underlying error") { t = String(t[..<cut.lowerBound]) }
        if t.hasSuffix(".") { t.removeLast() }
        return t
    }
}
