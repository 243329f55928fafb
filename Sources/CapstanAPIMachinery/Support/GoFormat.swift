import CapstanAPI

/// Formatting and number parsing with the exact behaviour of the Go functions kube-apiserver uses
/// to build its messages (`strconv.Quote`, `encoding/json`, `strconv.ParseInt`), so messages match.
enum GoFormat {
    private static let hexDigits: [Character] = Array("0123456789abcdef")

    /// `strconv.Quote`: double-quoted, with Go escapes for quotes, backslashes and non-printable runes.
    static func quote(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x07: out += "\\a"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x0B: out += "\\v"
            default:
                if isPrint(scalar) {
                    out.unicodeScalars.append(scalar)
                } else if scalar.value < 0x80 {
                    out += "\\x" + hex(scalar.value, digits: 2)
                } else if scalar.value < 0x10000 {
                    out += "\\u" + hex(scalar.value, digits: 4)
                } else {
                    out += "\\U" + hex(scalar.value, digits: 8)
                }
            }
        }
        out += "\""
        return out
    }

    /// `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
    static func isPrint(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x80 { return v >= 0x20 && v < 0x7F }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark,
             .decimalNumber, .letterNumber, .otherNumber,
             .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation,
             .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }

    static func hex(_ value: UInt32, digits: Int) -> String {
        var chars = [Character](repeating: "0", count: digits)
        var v = value
        for i in stride(from: digits - 1, through: 0, by: -1) {
            chars[i] = hexDigits[Int(v & 0xF)]
            v >>= 4
        }
        return String(chars)
    }

    /// `encoding/json` output for a value (object keys sorted, HTML characters escaped), as
    /// `field.Error` renders bad values that are not plain strings or numbers.
    static func json(_ value: JSONValue) -> String {
        var out = ""
        appendJSON(value, to: &out)
        return out
    }

    static func json(_ strings: [String]?) -> String {
        guard let strings else { return "null" }
        return json(.array(strings.map { .string($0) }))
    }

    private static func appendJSON(_ value: JSONValue, to out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += number(d)
        case .string(let s): appendJSONString(s, to: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                appendJSON(v, to: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, k) in o.keys.sorted(by: byteOrder).enumerated() {
                if i > 0 { out += "," }
                appendJSONString(k, to: &out)
                out += ":"
                appendJSON(o[k] ?? .null, to: &out)
            }
            out += "}"
        }
    }

    static func appendJSONString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x3C, 0x3E, 0x26, 0x2028, 0x2029: out += "\\u" + hex(scalar.value, digits: 4)
            case 0..<0x20: out += "\\u" + hex(scalar.value, digits: 4)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// A float as Go's `%v` and `encoding/json` print the common cases.
    static func number(_ d: Double) -> String {
        if d.isNaN || d.isInfinite { return "\(d)" }
        if d == d.rounded(), abs(d) < 1e21, let i = Int64(exactly: d) { return String(i) }
        return "\(d)"
    }

    /// Byte-wise string order, as Go compares strings.
    static func byteOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    enum NumberError: Error { case syntax, range }

    /// `strconv.ParseInt(s, 10, 64)`: optional sign, decimal digits only.
    static func parseInt64<S: StringProtocol>(_ s: S) -> Result<Int64, NumberError> {
        var bytes = Substring(s).utf8[...]
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            negative = first == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        guard !bytes.isEmpty else { return .failure(.syntax) }
        let magnitude: UInt64
        switch parseUInt64(Substring(decoding: bytes, as: UTF8.self)) {
        case .success(let m): magnitude = m
        case .failure(let e): return .failure(e)
        }
        if negative {
            if magnitude > UInt64(Int64.max) + 1 { return .failure(.range) }
            return .success(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude))
        }
        if magnitude > UInt64(Int64.max) { return .failure(.range) }
        return .success(Int64(magnitude))
    }

    /// `strconv.ParseUint(s, 10, 64)`: decimal digits only, no sign.
    static func parseUInt64<S: StringProtocol>(_ s: S) -> Result<UInt64, NumberError> {
        let bytes = Substring(s).utf8
        guard !bytes.isEmpty else { return .failure(.syntax) }
        var value: UInt64 = 0
        for b in bytes {
            guard b >= 0x30, b <= 0x39 else { return .failure(.syntax) }
            // Like Go, an overflow is reported as soon as it happens, before later bad characters.
            let (m1, o1) = value.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(UInt64(b - 0x30))
            if o1 || o2 { return .failure(.range) }
            value = m2
        }
        return .success(value)
    }

    /// The `*strconv.NumError` text: `strconv.ParseUint: parsing "x": invalid syntax`.
    static func numberErrorText(function: String, input: String, _ error: NumberError) -> String {
        "strconv.\(function): parsing \(quote(input)): " + (error == .syntax ? "invalid syntax" : "value out of range")
    }
}
