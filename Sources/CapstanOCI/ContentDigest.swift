/// A content digest `algorithm:hex` (only sha256 and sha512 are accepted).
public struct ContentDigest: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    public let algorithm: String
    public let encoded: String

    public init(parsing text: String) throws(OCIError) {
        guard let colon = text.firstIndex(of: ":") else { throw OCIError("invalid digest \"\(text)\": missing algorithm") }
        let algorithm = String(text[..<colon])
        let encoded = String(text[text.index(after: colon)...])
        let length: Int
        switch algorithm {
        case "sha256": length = 64
        case "sha512": length = 128
        default: throw OCIError("invalid digest \"\(text)\": unsupported algorithm \(algorithm)")
        }
        guard encoded.utf8.count == length, encoded.utf8.allSatisfy({ (0x30 ... 0x39).contains($0) || (0x61 ... 0x66).contains($0) }) else {
            throw OCIError("invalid digest \"\(text)\": expected \(length) lowercase hex digits")
        }
        self.algorithm = algorithm
        self.encoded = encoded
    }

    public static func sha256(hex: String) throws(OCIError) -> ContentDigest { try ContentDigest(parsing: "sha256:" + hex) }

    public var description: String { "\(algorithm):\(encoded)" }

    public static func < (lhs: ContentDigest, rhs: ContentDigest) -> Bool { lhs.description < rhs.description }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try ContentDigest(parsing: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

public struct OCIError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
