/// A JSON text that does not parse, with the byte offset of the fault.
public struct JSONParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public let offset: Int
    public let message: String

    public var description: String { "invalid JSON at byte \(offset): \(message)" }
}

extension JSONValue {
    /// Nesting deeper than this is refused rather than risking the stack.
    public static let maximumDepth = 512

    /// Parses one JSON value (RFC 8259) from UTF-8 bytes. Integers that fit `Int64` and have no
    /// fraction or exponent become `.int`; other numbers `.double`. Of duplicate keys the last wins;
    /// `duplicateKeys` collects their paths when given.
    public static func parse(_ bytes: [UInt8], duplicateKeys: UnsafeMutablePointer<[String]>? = nil) throws(JSONParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { (buffer) throws(JSONParseError) -> JSONValue in
            var parser = JSONByteParser(buffer, recordDuplicates: duplicateKeys != nil)
            let value = try parser.parseDocument()
            duplicateKeys?.pointee = parser.duplicates
            return value
        }
    }

    /// Parses a JSON text given as a string.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// Compact JSON bytes. Object keys come out as `apiVersion`, `kind`, `metadata` first, then
    /// the rest in byte order, so the same value always gives the same bytes.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        serialize(into: &out)
        return out
    }

    public func serialize(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: JSONLiterals.null)
        case .bool(let b): out.append(contentsOf: b ? JSONLiterals.true : JSONLiterals.false)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d): JSONValue.serializeDouble(d, into: &out)
        case .string(let s): JSONValue.serializeString(s, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.serialize(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            var first = true
            // The members by position, ordered once: no key is hashed again to find its value.
            for index in JSONValue.orderedIndices(o) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                let member = o[index]
                JSONValue.serializeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                member.value.serialize(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The positions of `o`'s members in ``orderedKeys(_:)``'s order.
    static func orderedIndices(_ o: [String: JSONValue]) -> [Dictionary<String, JSONValue>.Index] {
        var rest: [Dictionary<String, JSONValue>.Index] = []
        rest.reserveCapacity(o.count)
        var lead: [Dictionary<String, JSONValue>.Index] = []
        var index = o.startIndex
        while index != o.endIndex {
            if leadRank(o.keys[index]) < 3 { lead.append(index) } else { rest.append(index) }
            o.formIndex(after: &index)
        }
        rest.sort { bytewisePrecedes(o.keys[$0], o.keys[$1]) }
        if lead.isEmpty { return rest }
        lead.sort { leadRank(o.keys[$0]) < leadRank(o.keys[$1]) }
        return lead + rest
    }

    /// `apiVersion`, `kind`, `metadata` first (when present), then the other keys in byte order.
    public static func orderedKeys(_ o: [String: JSONValue]) -> [String] {
        var rest: [String] = []
        rest.reserveCapacity(o.count)
        var lead: [String] = []
        for k in o.keys {
            switch k {
            case "apiVersion", "kind", "metadata": lead.append(k)
            default: rest.append(k)
            }
        }
        rest.sort(by: bytewisePrecedes)
        if lead.isEmpty { return rest }
        lead.sort { leadRank($0) < leadRank($1) }
        return lead + rest
    }

    /// 0, 1, 2 for `apiVersion`, `kind`, `metadata`; 3 for any other key.
    private static func leadRank(_ k: String) -> Int {
        switch k {
        case "apiVersion": return 0
        case "kind": return 1
        case "metadata": return 2
        default: return 3
        }
    }

    /// Byte order of the UTF-8 forms, compared over contiguous bytes.
    static func bytewisePrecedes(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let n = min(x.count, y.count)
                var k = 0
                while k < n {
                    if x[k] != y[k] { return x[k] < y[k] }
                    k += 1
                }
                return x.count < y.count
            }
        }
    }

    public static func serializeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            // Runs that need no escape are copied whole.
            var run = 0
            for k in 0..<bytes.count {
                let b = bytes[k]
                if b >= 0x20, b != UInt8(ascii: "\""), b != UInt8(ascii: "\\") { continue }
                if run < k { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<k])) }
                run = k + 1
                switch b {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
                case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
                default:
                    out.append(contentsOf: JSONLiterals.unicodeEscape)
                    out.append(JSONLiterals.hex[Int(b >> 4)])
                    out.append(JSONLiterals.hex[Int(b & 0xF)])
                }
            }
            if run < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run...])) }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func serializeDouble(_ d: Double, into out: inout [UInt8]) {
        guard d.isFinite else {
            out.append(contentsOf: JSONLiterals.null)
            return
        }
        if d == d.rounded(.towardZero), abs(d) < 1e15 {
            // Integral doubles keep a fraction so they parse back as doubles, not integers.
            out.append(contentsOf: String(Int64(d)).utf8)
            out.append(contentsOf: ".0".utf8)
            return
        }
        out.append(contentsOf: "\(d)".utf8)
    }
}

extension JSONValue: CustomStringConvertible {
    /// The compact JSON text.
    public var description: String { String(decoding: serialized(), as: UTF8.self) }
}

enum JSONLiterals {
    static let null = Array("null".utf8)
    static let `true` = Array("true".utf8)
    static let `false` = Array("false".utf8)
    static let hex = Array("0123456789abcdef".utf8)
    static let unicodeEscape = Array("\\u00".utf8)
}

/// A recursive-descent parser over a byte buffer.
struct JSONByteParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0
    var depth = 0
    let recordDuplicates: Bool
    /// Paths of duplicate keys, in the order the keys appear in the text.
    var duplicates: [String] { found.sorted { $0.offset < $1.offset }.map(\.path) }
    var found: [(offset: Int, path: String)] = []
    /// Members of the objects being parsed (nested ones above their parent's), so each object's
    /// dictionary is made once at its final size instead of growing member by member.
    var members: [Member] = []
    /// The byte offset of each of `members` (kept only when duplicates are recorded).
    var origins: [Int] = []
    /// The members and items above the value being parsed (kept only when duplicates are
    /// recorded), to name a duplicate's path when one is found.
    var trail: [TrailStep] = []

    enum TrailStep {
        case key(String), index(Int)
    }

    /// `a.b[2].c`: the path of member `key` of the object the trail leads to.
    func trailPath(appending key: String) -> String {
        var out = ""
        for step in trail {
            switch step {
            case .key(let k): out += out.isEmpty ? k : "." + k
            case .index(let i): out += "[\(i)]"
            }
        }
        return out.isEmpty ? key : out + "." + key
    }

    /// A struct, not a tuple: its copies and destruction are specialized, not generic runtime calls.
    struct Member {
        let key: String
        let value: JSONValue
    }

    init(_ bytes: UnsafeBufferPointer<UInt8>, recordDuplicates: Bool) {
        self.bytes = bytes
        self.recordDuplicates = recordDuplicates
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        // A UTF-8 byte order mark is tolerated.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        skipSpace()
        let v = try parseValue()
        skipSpace()
        guard i == bytes.count else { throw fail("unexpected data after the top-level value") }
        return v
    }

    func fail(_ message: String) -> JSONParseError { JSONParseError(offset: i, message: message) }

    mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard i < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default:
            throw fail("invalid character '\(Character(Unicode.Scalar(bytes[i])))' looking for beginning of value")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw fail("unexpected end of input") }
        let p = word.utf8Start
        for k in 0..<n where bytes[i + k] != p[k] {
            throw fail("invalid literal, expected \(word)")
        }
        i += n
    }

    mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > JSONValue.maximumDepth { throw fail("nesting deeper than \(JSONValue.maximumDepth) levels") }
    }

    mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        i += 1
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
            i += 1
            return .object([:])
        }
        let base = members.count
        defer {
            members.removeSubrange(base...)
            if recordDuplicates { origins.removeSubrange(base...) }
        }
        while true {
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end of input in object") }
            guard bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a string key in object") }
            let offset = i
            let key = try parseString()
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':' after object key") }
            i += 1
            skipSpace()
            if recordDuplicates {
                trail.append(.key(key))
                let value = try parseValue()
                trail.removeLast()
                members.append(Member(key: key, value: value))
                origins.append(offset)
            } else {
                members.append(Member(key: key, value: try parseValue()))
            }
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end of input in object") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if bytes[i] == UInt8(ascii: "}") {
                i += 1
                var object = [String: JSONValue](minimumCapacity: members.count - base)
                if recordDuplicates {
                    for k in base..<members.count where object.updateValue(members[k].value, forKey: members[k].key) != nil {
                        found.append((origins[k], trailPath(appending: members[k].key)))
                    }
                } else {
                    for k in base..<members.count { object[members[k].key] = members[k].value }
                }
                return .object(object)
            }
            throw fail("expected ',' or '}' in object")
        }
    }

    mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        i += 1
        var array: [JSONValue] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
            i += 1
            return .array(array)
        }
        while true {
            skipSpace()
            if recordDuplicates {
                trail.append(.index(array.count))
                array.append(try parseValue())
                trail.removeLast()
            } else {
                array.append(try parseValue())
            }
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end of input in array") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if bytes[i] == UInt8(ascii: "]") {
                i += 1
                return .array(array)
            }
            throw fail("expected ',' or ']' in array")
        }
    }

    mutating func parseString() throws(JSONParseError) -> String {
        i += 1
        let start = i
        // Fast path: no escapes.
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
                i += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw fail("control character in string") }
            i += 1
        }
        var out = Array(bytes[start..<i])
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            if b < 0x20 { throw fail("control character in string") }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                i += 1
                continue
            }
            i += 1
            guard i < bytes.count else { break }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by a low one; otherwise U+FFFD.
                    if i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let low = try hex4()
                        if (0xDC00..<0xE000).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            appendScalar(0xFFFD, to: &out)
                            scalar = low
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if (0xDC00..<0xE000).contains(scalar) {
                    scalar = 0xFFFD
                }
                appendScalar(scalar, to: &out)
            default:
                throw fail("invalid escape in string")
            }
        }
        throw fail("unterminated string")
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - 55)
            default: throw fail("invalid \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    func appendScalar(_ v: UInt32, to out: inout [UInt8]) {
        let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
        out.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = i
        var isInteger = true
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count, isDigit(bytes[i]) else { throw fail("invalid number") }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            guard i < bytes.count, isDigit(bytes[i]) else { throw fail("invalid number: digits expected after '.'") }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            isInteger = false
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < bytes.count, isDigit(bytes[i]) else { throw fail("invalid number: digits expected in exponent") }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        if isInteger, i - start <= 18 {
            // At most 18 digits: no overflow, no string.
            var n: Int64 = 0
            let negative = bytes[start] == UInt8(ascii: "-")
            for k in (negative ? start + 1 : start)..<i { n = n * 10 + Int64(bytes[k] - 48) }
            return .int(negative ? -n : n)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        if isInteger, let n = Int64(text) { return .int(n) }
        guard let d = Double(text), d.isFinite else { throw fail("number out of range") }
        return .double(d)
    }

    @inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
}
