/// A JSON Pointer (RFC 6901): `""` is the whole document, `/a/0/b~1c` walks keys and indexes,
/// `~1` is `/` and `~0` is `~`.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    /// The unescaped reference tokens.
    public let tokens: [String]

    /// The pointer to the whole document.
    public static let root = JSONPointer(tokens: [])

    /// A pointer from unescaped tokens.
    public init(tokens: [String]) { self.tokens = tokens }

    /// Parses a pointer; nil unless it is empty or starts with `/`. Like the patch library
    /// Kubernetes uses, a `~` not followed by `0` or `1` is kept as written.
    public init?(_ text: String) {
        if text.isEmpty {
            tokens = []
            return
        }
        guard text.utf8.first == 0x2F else { return nil }
        tokens = text.utf8.dropFirst().split(separator: 0x2F, omittingEmptySubsequences: false).map { part in
            let s = String(Substring(part))
            guard s.utf8.contains(0x7E) else { return s }
            return s.replacingOccurrences("~1", with: "/").replacingOccurrences("~0", with: "~")
        }
    }

    /// The pointer in its escaped text form.
    public var description: String {
        tokens.map { "/" + $0.replacingOccurrences("~", with: "~0").replacingOccurrences("/", with: "~1") }.joined()
    }

    /// True when `self` is a proper prefix of `other` (`/a` of `/a/b`).
    public func isProperPrefix(of other: JSONPointer) -> Bool {
        tokens.count < other.tokens.count && Array(other.tokens.prefix(tokens.count)) == tokens
    }
}
