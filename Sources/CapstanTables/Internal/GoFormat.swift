import CapstanAPI

/// Renderings of JSON values the way Go prints them, for JSONPath cells of custom resources:
/// `fmt.Sprint` of scalars and `encoding/json` of objects and arrays.
enum GoFormat {
    /// Shortest round-trip decimal digits of a finite, positive double, with the position of the
    /// decimal point: the value is 0.d1d2d3... x 10^point.
    static func decimal(_ v: Double) -> (digits: [UInt8], point: Int) {
        let text = "\(v)"  // Swift prints the shortest round-trip form
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        var digits: [UInt8] = []
        var point = 0
        var seenDot = false
        for c in mantissa.utf8 {
            if c == UInt8(ascii: ".") {
                seenDot = true
            } else if c >= 48, c <= 57 {
                digits.append(c)
                if !seenDot { point += 1 }
            }
        }
        point += exponent
        while let first = digits.first, first == UInt8(ascii: "0") {
            digits.removeFirst()
            point -= 1
        }
        while let last = digits.last, last == UInt8(ascii: "0") {
            digits.removeLast()
        }
        return (digits, point)
    }

    /// `fmt.Sprint(float64)`: `%g` with the shortest precision, in exponent form when the decimal
    /// exponent is below -4 or at least 6 (`1e+06`, `1.5e-05`, `123456`).
    static func printV(_ v: Double) -> String {
        guard v.isFinite else { return v.isNaN ? "NaN" : (v < 0 ? "-Inf" : "+Inf") }
        if v == 0 { return v.sign == .minus ? "-0" : "0" }
        let (digits, point) = decimal(abs(v))
        let sign = v < 0 ? "-" : ""
        let exp = point - 1
        if exp < -4 || exp >= 6 {
            return sign + exponentForm(digits, exp)
        }
        return sign + fixedForm(digits, point)
    }

    /// A number as `encoding/json` writes a float64.
    static func jsonNumber(_ v: Double) -> String {
        guard v.isFinite else { return "null" }
        if v == 0 { return v.sign == .minus ? "-0" : "0" }
        let (digits, point) = decimal(abs(v))
        let sign = v < 0 ? "-" : ""
        let a = abs(v)
        if a < 1e-6 || a >= 1e21 {
            // Go trims a one-digit negative exponent: "1e-07" -> "1e-7".
            let exp = point - 1
            if exp < 0 && exp > -10 {
                return sign + exponentForm(digits, exp).replacingLastExponentZero()
            }
            return sign + exponentForm(digits, exp)
        }
        return sign + fixedForm(digits, point)
    }

    private static func exponentForm(_ digits: [UInt8], _ exp: Int) -> String {
        var s = String(decoding: digits.prefix(1), as: UTF8.self)
        if digits.count > 1 { s += "." + String(decoding: digits.dropFirst(), as: UTF8.self) }
        let magnitude = abs(exp)
        s += exp < 0 ? "e-" : "e+"
        s += magnitude < 10 ? "0\(magnitude)" : "\(magnitude)"
        return s
    }

    private static func fixedForm(_ digits: [UInt8], _ point: Int) -> String {
        let d = String(decoding: digits, as: UTF8.self)
        if point <= 0 { return "0." + String(repeating: "0", count: -point) + d }
        if point >= digits.count { return d + String(repeating: "0", count: point - digits.count) }
        let i = d.index(d.startIndex, offsetBy: point)
        return String(d[..<i]) + "." + String(d[i...])
    }

    /// `fmt.Sprint` of a decoded JSON value, as `jsonpath` prints a result: scalars plainly,
    /// objects and arrays as compact JSON, `null` as `<no value>`.
    static func print(_ value: JSONValue) -> String {
        switch value {
        case .null: return "<no value>"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return printV(d)
        case .string(let s): return s
        case .array, .object: return json(value)
        }
    }

    /// `json.Marshal` of a decoded JSON value: keys sorted, HTML characters escaped.
    static func json(_ value: JSONValue) -> String {
        var out = ""
        writeJSON(value, into: &out)
        return out
    }

    private static func writeJSON(_ value: JSONValue, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += jsonNumber(d)
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                writeJSON(v, into: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, k) in o.keys.sorted(by: Format.byteOrder).enumerated() {
                if i > 0 { out += "," }
                writeString(k, into: &out)
                out += ":"
                writeJSON(o[k]!, into: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out += "\\u" + hex4(scalar.value)
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + hex4(scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    private static func hex4(_ v: UInt32) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: max(0, 4 - h.count)) + h
    }
}

extension String {
    /// "1e-07" -> "1e-7".
    fileprivate func replacingLastExponentZero() -> String {
        var bytes = Array(utf8)
        guard bytes.count >= 4, bytes[bytes.count - 2] == UInt8(ascii: "0") else { return self }
        bytes.remove(at: bytes.count - 2)
        return String(decoding: bytes, as: UTF8.self)
    }
}
