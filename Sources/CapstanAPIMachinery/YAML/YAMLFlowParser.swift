import CapstanAPI

/// Inline YAML: flow collections, quoted scalars and plain scalars in flow context, over the
/// bytes of one value (newlines included when it spans lines).
struct YAMLFlowParser {
    let bytes: [UInt8]
    var i = 0
    /// The line of the current position.
    var line: Int

    init(_ bytes: [UInt8], line: Int) {
        self.bytes = bytes
        self.line = line
    }

    var atEnd: Bool { i >= bytes.count }

    func fail(_ message: String) -> YAMLError { YAMLError(line: line, message: message) }

    /// Skips spaces, tabs, newlines and comments.
    mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 32, 9, 13: i += 1
            case 10:
                line += 1
                i += 1
            case UInt8(ascii: "#"):
                while i < bytes.count, bytes[i] != 10 { i += 1 }
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(YAMLError) -> JSONValue {
        guard depth <= YAML.maximumDepth else { throw fail("nesting deeper than \(YAML.maximumDepth) levels") }
        skipSpace()
        guard i < bytes.count else { return .null }
        switch bytes[i] {
        case UInt8(ascii: "["): return try parseSequence(depth: depth + 1)
        case UInt8(ascii: "{"): return try parseMapping(depth: depth + 1)
        case UInt8(ascii: "\""), UInt8(ascii: "'"): return .string(try parseQuoted())
        case UInt8(ascii: "!"):
            let tag = parseTag()
            let value = try parseValue(depth: depth)
            if tag == "!!str" || tag == "tag:yaml.org,2002:str" {
                switch value {
                case .null: return .string("")
                case .bool(let b): return .string(b ? "true" : "false")
                case .int, .double: return .string(value.description)
                default: return value
                }
            }
            return value
        case UInt8(ascii: "*"), UInt8(ascii: "&"): throw fail("anchors and aliases are not supported")
        default: return Self.resolvePlain(try parsePlain(), multiLine: false)
        }
    }

    mutating func parseTag() -> String {
        let start = i
        while i < bytes.count, ![32, 9, 10].contains(bytes[i]) { i += 1 }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    mutating func parseSequence(depth: Int) throws(YAMLError) -> JSONValue {
        i += 1
        var items: [JSONValue] = []
        while true {
            skipSpace()
            guard i < bytes.count else { throw fail("did not find expected ',' or ']' in a flow sequence") }
            if bytes[i] == UInt8(ascii: "]") {
                i += 1
                return .array(items)
            }
            var item = try parseValue(depth: depth)
            skipSpace()
            // A single-pair mapping inside a flow sequence: [a: 1].
            if i < bytes.count, bytes[i] == UInt8(ascii: ":") {
                i += 1
                let value = try parseValue(depth: depth)
                item = .object([Self.keyString(item): value])
                skipSpace()
            }
            items.append(item)
            guard i < bytes.count else { throw fail("did not find expected ',' or ']' in a flow sequence") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
            } else if bytes[i] != UInt8(ascii: "]") {
                throw fail("did not find expected ',' or ']' in a flow sequence")
            }
        }
    }

    mutating func parseMapping(depth: Int) throws(YAMLError) -> JSONValue {
        i += 1
        var object: [String: JSONValue] = [:]
        while true {
            skipSpace()
            guard i < bytes.count else { throw fail("did not find expected ',' or '}' in a flow mapping") }
            if bytes[i] == UInt8(ascii: "}") {
                i += 1
                return .object(object)
            }
            let key = Self.keyString(try parseValue(depth: depth))
            skipSpace()
            var value = JSONValue.null
            if i < bytes.count, bytes[i] == UInt8(ascii: ":") {
                i += 1
                skipSpace()
                if i < bytes.count, bytes[i] != UInt8(ascii: ","), bytes[i] != UInt8(ascii: "}") {
                    value = try parseValue(depth: depth)
                }
                skipSpace()
            }
            object[key] = value
            guard i < bytes.count else { throw fail("did not find expected ',' or '}' in a flow mapping") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
            } else if bytes[i] != UInt8(ascii: "}") {
                throw fail("did not find expected ',' or '}' in a flow mapping")
            }
        }
    }

    static func keyString(_ key: JSONValue) -> String {
        switch key {
        case .string(let s): return s
        case .null: return ""
        case .bool(let b): return b ? "true" : "false"
        default: return key.description
        }
    }

    /// A plain scalar in flow context: ends at `,[]{}`, at `: ` and at ` #`.
    mutating func parsePlain() throws(YAMLError) -> String {
        let start = i
        var end = i
        while i < bytes.count {
            let c = bytes[i]
            if [UInt8(ascii: ","), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}")].contains(c) { break }
            if c == UInt8(ascii: ":") {
                let next = i + 1 < bytes.count ? bytes[i + 1] : 32
                if [32, 9, 10, UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}")].contains(next) { break }
            }
            if c == UInt8(ascii: "#"), i > start, [32, 9, 10].contains(bytes[i - 1]) { break }
            if c == 10 { line += 1 }
            i += 1
            if ![32, 9, 10, 13].contains(c) { end = i }
        }
        // Line breaks inside a multi-line plain scalar fold into spaces.
        var words: [String] = []
        for part in bytes[start..<end].split(separator: 10) {
            let trimmed = part.drop { $0 == 32 || $0 == 9 }.reversed().drop { $0 == 32 || $0 == 9 || $0 == 13 }.reversed()
            words.append(String(decoding: trimmed, as: UTF8.self))
        }
        return words.joined(separator: " ")
    }

    /// A single- or double-quoted scalar; line breaks fold as YAML specifies.
    mutating func parseQuoted() throws(YAMLError) -> String {
        let quote = bytes[i]
        let double = quote == UInt8(ascii: "\"")
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw fail("found unexpected end of stream in a quoted scalar") }
            let c = bytes[i]
            if c == quote {
                if !double, i + 1 < bytes.count, bytes[i + 1] == quote {
                    out.append(quote)
                    i += 2
                    continue
                }
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c == 10 {
                // Fold: trailing spaces go, one break is a space, n breaks are n-1 newlines.
                while let l = out.last, l == 32 || l == 9 { out.removeLast() }
                var breaks = 0
                while i < bytes.count, [10, 32, 9, 13].contains(bytes[i]) {
                    if bytes[i] == 10 {
                        breaks += 1
                        line += 1
                    }
                    i += 1
                }
                out += breaks == 1 ? [32] : Array(repeating: 10, count: breaks - 1)
                continue
            }
            if double, c == UInt8(ascii: "\\") {
                i += 1
                guard i < bytes.count else { throw fail("found unexpected end of stream in a quoted scalar") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "0"): out.append(0)
                case UInt8(ascii: "a"): out.append(7)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "t"), 9: out.append(9)
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "v"): out.append(11)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "e"): out.append(27)
                case 32, UInt8(ascii: "\""), UInt8(ascii: "/"), UInt8(ascii: "\\"): out.append(e)
                case UInt8(ascii: "N"): out += Array("\u{85}".utf8)
                case UInt8(ascii: "_"): out += Array("\u{A0}".utf8)
                case UInt8(ascii: "L"): out += Array("\u{2028}".utf8)
                case UInt8(ascii: "P"): out += Array("\u{2029}".utf8)
                case UInt8(ascii: "x"): out += try hexScalar(2)
                case UInt8(ascii: "u"): out += try hexScalar(4)
                case UInt8(ascii: "U"): out += try hexScalar(8)
                case 10:
                    // An escaped line break joins the lines without a space.
                    line += 1
                    while i < bytes.count, bytes[i] == 32 || bytes[i] == 9 { i += 1 }
                default:
                    throw fail("found unknown escape character while parsing a quoted scalar")
                }
                continue
            }
            out.append(c)
            i += 1
        }
    }

    mutating func hexScalar(_ digits: Int) throws(YAMLError) -> [UInt8] {
        guard i + digits <= bytes.count,
              let n = UInt32(String(decoding: bytes[i..<(i + digits)], as: UTF8.self), radix: 16),
              let scalar = Unicode.Scalar(n)
        else { throw fail("did not find expected hexadecimal number in an escape") }
        i += digits
        return Array(String(Character(scalar)).utf8)
    }

    /// The YAML 1.2 core schema resolution of a plain scalar.
    static func resolvePlain(_ s: String, multiLine: Bool) -> JSONValue {
        if multiLine { return .string(s) }
        switch s {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        let utf8 = Array(s.utf8)
        guard let first = utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
                || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) else { return .string(s) }
        if s.hasPrefix("0x"), let n = Int64(s.dropFirst(2), radix: 16) { return .int(n) }
        if s.hasPrefix("0o"), let n = Int64(s.dropFirst(2), radix: 8) { return .int(n) }
        if isDecimalInteger(utf8) {
            if let n = Int64(s.hasPrefix("+") ? String(s.dropFirst()) : s) { return .int(n) }
            return Double(s).map(JSONValue.double) ?? .string(s)
        }
        if isDecimalFloat(utf8), let d = Double(s) { return .double(d) }
        return .string(s)
    }

    static func isDecimalInteger(_ b: [UInt8]) -> Bool {
        var digits = b[...]
        if digits.first == UInt8(ascii: "-") || digits.first == UInt8(ascii: "+") { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.allSatisfy { $0 >= 48 && $0 <= 57 }
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
    static func isDecimalFloat(_ b: [UInt8]) -> Bool {
        var s = b[...]
        if s.first == UInt8(ascii: "-") || s.first == UInt8(ascii: "+") { s = s.dropFirst() }
        let isDigit = { (c: UInt8) in c >= 48 && c <= 57 }
        let intPart = s.prefix(while: isDigit)
        s = s.dropFirst(intPart.count)
        var fraction = 0
        if s.first == UInt8(ascii: ".") {
            s = s.dropFirst()
            fraction = s.prefix(while: isDigit).count
            s = s.dropFirst(fraction)
        }
        guard !intPart.isEmpty || fraction > 0 else { return false }
        if s.first == UInt8(ascii: "e") || s.first == UInt8(ascii: "E") {
            s = s.dropFirst()
            if s.first == UInt8(ascii: "-") || s.first == UInt8(ascii: "+") { s = s.dropFirst() }
            let exp = s.prefix(while: isDigit).count
            guard exp > 0 else { return false }
            s = s.dropFirst(exp)
        }
        return s.isEmpty
    }
}
