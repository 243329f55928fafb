import NIOCore

/// A SPDY name/value header block: lower-case names, each with one or more values (sent as
/// one entry whose values are joined by NUL, since a block may not repeat a name).
public struct SPDYHeaders: Hashable, Sendable, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// Names in the order they were first added, with their values.
    public private(set) var entries: [(name: String, values: [String])] = []

    public init() {}

    public init(dictionaryLiteral elements: (String, String)...) {
        for (name, value) in elements { add(name: name, value: value) }
    }

    public init(_ pairs: [(String, String)]) {
        for (name, value) in pairs { add(name: name, value: value) }
    }

    /// Adds a value; the name is lower-cased (SPDY peers reject upper-case names).
    public mutating func add(name: String, value: String) {
        let name = name.lowercased()
        if let index = entries.firstIndex(where: { $0.name == name }) {
            entries[index].values.append(value)
        } else {
            entries.append((name, [value]))
        }
    }

    /// The first value of `name` (case-insensitive), if any.
    public subscript(name: String) -> String? {
        let name = name.lowercased()
        return entries.first(where: { $0.name == name })?.values.first
    }

    public var isEmpty: Bool { entries.isEmpty }

    public var description: String {
        "[" + entries.map { "\($0.name): \($0.values.joined(separator: ","))" }.joined(separator: ", ") + "]"
    }

    public static func == (lhs: SPDYHeaders, rhs: SPDYHeaders) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.name == $1.name && $0.values == $1.values }
    }

    public func hash(into hasher: inout Hasher) {
        for entry in entries {
            hasher.combine(entry.name)
            hasher.combine(entry.values)
        }
    }

    // MARK: Wire form (before compression)

    /// The uncompressed block: a 32-bit count, then per name a 32-bit length and the name,
    /// a 32-bit length and the NUL-joined values.
    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        func append32(_ value: Int) {
            let v = UInt32(value)
            out += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
        }
        append32(entries.count)
        for entry in entries {
            let name = Array(entry.name.utf8)
            let value = Array(entry.values.joined(separator: "\0").utf8)
            append32(name.count)
            out += name
            append32(value.count)
            out += value
        }
        return out
    }

    /// Parses an uncompressed block. Empty or upper-case names, a repeated name, an empty
    /// value list element, lengths past the end and trailing bytes are all errors.
    static func decode(_ bytes: [UInt8]) throws(SPDYHeaderBlockError) -> SPDYHeaders {
        var index = 0
        func read32() throws(SPDYHeaderBlockError) -> Int {
            guard index + 4 <= bytes.count else { throw SPDYHeaderBlockError("the header block is truncated") }
            let v = Int(bytes[index]) << 24 | Int(bytes[index + 1]) << 16 | Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            index += 4
            return v
        }
        func readString(_ what: String) throws(SPDYHeaderBlockError) -> String {
            let length = try read32()
            guard length <= bytes.count - index else { throw SPDYHeaderBlockError("a header \(what) runs past the end of the block") }
            defer { index += length }
            return String(decoding: bytes[index..<index + length], as: UTF8.self)
        }
        let count = try read32()
        guard count <= bytes.count / 8 else { throw SPDYHeaderBlockError("the header block claims \(count) entries") }
        var headers = SPDYHeaders()
        var seen = Set<String>()
        for _ in 0..<count {
            let name = try readString("name")
            guard !name.isEmpty else { throw SPDYHeaderBlockError("a header name is empty") }
            guard name == name.lowercased() else { throw SPDYHeaderBlockError("header name \"\(name)\" is not lower-case") }
            guard seen.insert(name).inserted else { throw SPDYHeaderBlockError("header \"\(name)\" appears twice") }
            let value = try readString("value")
            for part in value.split(separator: "\0", omittingEmptySubsequences: false) {
                headers.add(name: name, value: String(part))
            }
        }
        guard index == bytes.count else { throw SPDYHeaderBlockError("the header block has \(bytes.count - index) trailing bytes") }
        return headers
    }
}

/// Why a (decompressed) header block was refused.
struct SPDYHeaderBlockError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
