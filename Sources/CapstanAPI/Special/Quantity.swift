/// A fixed-point resource amount as Kubernetes writes it: `100m`, `1Gi`, `1e3`, `0.5`.
///
/// The value is `mantissa × 10^exponent`. Parsing rounds amounts finer than one nano up (away
/// from zero), caps binary-suffixed amounts at `Int64.max`, and remembers the format the
/// amount was written in (decimal SI, binary SI, or decimal exponent). `description` gives the
/// canonical form Kubernetes serializes: `1.5Gi` becomes `1536Mi`, `0.5` becomes `500m`,
/// `1000` becomes `1k`. Equality, hashing and ordering compare values, not spellings.
public struct Quantity: Sendable {
    public enum Format: String, Sendable, Hashable {
        /// Suffixes `n u m "" k M G T P E`.
        case decimalSI = "DecimalSI"
        /// Suffixes `Ki Mi Gi Ti Pi Ei`.
        case binarySI = "BinarySI"
        /// `e<n>` exponents, `1e3`.
        case decimalExponent = "DecimalExponent"
    }

    /// Signed digits of the amount.
    public private(set) var mantissa: Int128
    /// Power of ten the mantissa is multiplied by.
    public private(set) var exponent: Int32
    public var format: Format

    /// The smallest exponent a parsed amount keeps (one nano).
    static let minimumExponent: Int32 = -9

    public init(mantissa: Int128, exponent: Int32 = 0, format: Format = .decimalSI) {
        self.mantissa = mantissa
        self.exponent = exponent
        self.format = format
    }

    public init(_ value: Int64, format: Format = .decimalSI) {
        self.init(mantissa: Int128(value), exponent: 0, format: format)
    }

    /// An amount given in thousandths (`Quantity(milli: 250)` is `250m`).
    public init(milli: Int64, format: Format = .decimalSI) {
        self.init(mantissa: Int128(milli), exponent: -3, format: format)
    }

    public static let zero = Quantity(mantissa: 0)

    public var isZero: Bool { mantissa == 0 }
    public var sign: Int { mantissa == 0 ? 0 : (mantissa < 0 ? -1 : 1) }
}

// MARK: - Parsing

public struct QuantityError: Error, Hashable, Sendable, CustomStringConvertible {
    public let input: String
    public let reason: String

    public var description: String {
        "invalid quantity \(Self.quote(input)): \(reason)"
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for ch in s {
            if ch == "\"" || ch == "\\" { out.append("\\") }
            out.append(ch)
        }
        return out + "\""
    }

    public static let grammar =
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
}

extension Quantity {
    /// Parses a quantity exactly as Kubernetes does, or throws a `QuantityError` naming the input.
    public init(parsing input: String) throws(QuantityError) {
        let bytes = Array(input.utf8)
        guard !bytes.isEmpty else {
            throw QuantityError(input: input, reason: "quantity must not be empty")
        }
        var i = 0
        var negative = false
        if bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        var digits: [UInt8] = []
        var fractionDigits = 0
        var sawDigit = false
        while i < bytes.count, Self.isDigit(bytes[i]) {
            digits.append(bytes[i] - 48)
            sawDigit = true
            i += 1
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            while i < bytes.count, Self.isDigit(bytes[i]) {
                digits.append(bytes[i] - 48)
                fractionDigits += 1
                sawDigit = true
                i += 1
            }
        }
        guard sawDigit else { throw QuantityError(input: input, reason: QuantityError.grammar) }
        let suffix = String(decoding: bytes[i...], as: UTF8.self)
        guard let (base, power, format) = Self.interpret(suffix: suffix) else {
            throw QuantityError(input: input, reason: QuantityError.grammar)
        }

        // Digits without leading zeros; they must fit the mantissa.
        var start = 0
        while start < digits.count - 1, digits[start] == 0 { start += 1 }
        let significant = digits[start...]
        // Trailing zeros of the digits move into the exponent, so long zero tails still fit.
        var end = significant.endIndex
        var trailingZeros: Int32 = 0
        while end - 1 > significant.startIndex, significant[end - 1] == 0 {
            end -= 1
            trailingZeros += 1
        }
        guard end - significant.startIndex <= 37 else {
            throw QuantityError(input: input, reason: "quantity has more significant digits than supported (37)")
        }
        var mantissa: Int128 = 0
        for d in significant[significant.startIndex..<end] { mantissa = mantissa * 10 + Int128(d) }
        var exponent = trailingZeros - Int32(fractionDigits)

        if base == 10 {
            let (sum, overflow) = exponent.addingReportingOverflow(power)
            guard !overflow, abs(Int64(sum)) < 100_000 else {
                throw QuantityError(input: input, reason: "quantity exponent out of range")
            }
            exponent = sum
        } else {
            // Binary suffix: multiply by 2^power exactly.
            let multiplier = Int128(1) << Int128(power)
            let (product, overflow) = mantissa.multipliedReportingOverflow(by: multiplier)
            if overflow {
                mantissa = Int128(Int64.max)
                exponent = 0
            } else {
                mantissa = product
            }
        }
        var q = Quantity(mantissa: negative ? -mantissa : mantissa, exponent: exponent, format: format)
        q.roundUpToNano()
        if format == .binarySI {
            if q > Quantity(Int64.max) {
                q = Quantity(Int64.max, format: .binarySI)
            } else if q.mantissa < 0, q < Quantity(-Int64.max) {
                q = Quantity(-Int64.max, format: .binarySI)
            }
            if q.mantissa != 0, Quantity(mantissa: Int128(q.mantissa.magnitude), exponent: q.exponent) < Quantity(1) {
                q.format = .decimalSI
            }
        }
        self = q
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }

    /// Suffix -> (base, power, format).
    private static func interpret(suffix: String) -> (Int, Int32, Format)? {
        switch suffix {
        case "": return (10, 0, .decimalSI)
        case "n": return (10, -9, .decimalSI)
        case "u": return (10, -6, .decimalSI)
        case "m": return (10, -3, .decimalSI)
        case "k": return (10, 3, .decimalSI)
        case "M": return (10, 6, .decimalSI)
        case "G": return (10, 9, .decimalSI)
        case "T": return (10, 12, .decimalSI)
        case "P": return (10, 15, .decimalSI)
        case "E": return (10, 18, .decimalSI)
        case "Ki": return (2, 10, .binarySI)
        case "Mi": return (2, 20, .binarySI)
        case "Gi": return (2, 30, .binarySI)
        case "Ti": return (2, 40, .binarySI)
        case "Pi": return (2, 50, .binarySI)
        case "Ei": return (2, 60, .binarySI)
        default:
            guard let first = suffix.utf8.first, first == UInt8(ascii: "e") || first == UInt8(ascii: "E") else {
                return nil
            }
            var rest = Substring(suffix.dropFirst())
            var negative = false
            if let sign = rest.first, sign == "+" || sign == "-" {
                negative = sign == "-"
                rest = rest.dropFirst()
            }
            guard !rest.isEmpty, rest.utf8.allSatisfy(isDigit), rest.count <= 6, let n = Int32(rest) else {
                return nil
            }
            return (10, negative ? -n : n, .decimalExponent)
        }
    }

    /// Rounds amounts finer than one nano up, away from zero, as Kubernetes does.
    private mutating func roundUpToNano() {
        guard exponent < Self.minimumExponent, mantissa != 0 else { return }
        let shift = Self.minimumExponent - exponent
        var magnitude = mantissa.magnitude
        if shift > 38 {
            magnitude = 1
        } else {
            let divisor = UInt128(Self.pow10(Int(shift)))
            let (q, r) = magnitude.quotientAndRemainder(dividingBy: divisor)
            magnitude = r == 0 ? q : q + 1
        }
        mantissa = mantissa < 0 ? -Int128(magnitude) : Int128(magnitude)
        exponent = Self.minimumExponent
    }

    static func pow10(_ n: Int) -> Int128 {
        var r: Int128 = 1
        for _ in 0..<n { r *= 10 }
        return r
    }
}

// MARK: - Canonical form

extension Quantity: CustomStringConvertible {
    /// The canonical string Kubernetes serializes.
    public var description: String {
        if mantissa == 0 { return "0" }
        var format = self.format
        if format == .binarySI {
            if self > Quantity(-1024) && self < Quantity(1024) {
                format = .decimalSI
            } else if let integer = exactInteger {
                var n = integer
                var steps = 0
                while steps < 6, n % 1024 == 0 {
                    n /= 1024
                    steps += 1
                }
                return "\(n)" + ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][steps]
            } else {
                format = .decimalSI
            }
        }
        // Strip trailing zeros into the exponent, then lower the exponent to a multiple of three.
        var (m, e) = normalized
        var zeros = 0
        while e % 3 != 0 {
            e -= 1
            zeros += 1
        }
        if format == .decimalSI {
            if e > 18 {
                zeros += Int(e - 18)
                e = 18
            }
            let suffixes: [Int32: String] = [-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G",
                                             12: "T", 15: "P", 18: "E"]
            if let suffix = suffixes[e] {
                return Self.digits(m, zeros: zeros) + suffix
            }
            // Finer than nano only arises from arithmetic; show it exactly in exponent form.
            return Self.digits(m, zeros: zeros) + "e\(e)"
        }
        return Self.digits(m, zeros: zeros) + (e == 0 ? "" : "e\(e)")
    }

    private static func digits(_ m: Int128, zeros: Int) -> String {
        "\(m)" + String(repeating: "0", count: zeros)
    }

    /// Mantissa without trailing zeros, and the matching exponent.
    var normalized: (Int128, Int32) {
        guard mantissa != 0 else { return (0, 0) }
        var m = mantissa
        var e = exponent
        while m % 10 == 0 {
            m /= 10
            e += 1
        }
        return (m, e)
    }

    /// The amount as an integer if it is one and fits.
    var exactInteger: Int128? {
        let (m, e) = normalized
        if e >= 0 {
            var r = m
            for _ in 0..<e {
                let (p, o) = r.multipliedReportingOverflow(by: 10)
                if o { return nil }
                r = p
            }
            return r
        }
        return nil
    }
}

// MARK: - Values, comparison and arithmetic

extension Quantity: Comparable, Hashable {
    public static func == (a: Quantity, b: Quantity) -> Bool {
        a.normalized == b.normalized
    }

    public func hash(into hasher: inout Hasher) {
        let (m, e) = normalized
        hasher.combine(m)
        hasher.combine(e)
    }

    public static func < (a: Quantity, b: Quantity) -> Bool {
        compare(a, b) < 0
    }

    /// -1, 0 or 1.
    public static func compare(_ a: Quantity, _ b: Quantity) -> Int {
        if a.sign != b.sign { return a.sign < b.sign ? -1 : 1 }
        if a.sign == 0 { return 0 }
        let (ma, ea) = a.normalized
        let (mb, eb) = b.normalized
        // Position of the most significant digit decides unless equal.
        let pa = Int64(decimalDigits(ma.magnitude)) + Int64(ea)
        let pb = Int64(decimalDigits(mb.magnitude)) + Int64(eb)
        var magnitudeOrder: Int
        if pa != pb {
            magnitudeOrder = pa < pb ? -1 : 1
        } else {
            // Same leading position: scaling the larger exponent down to the smaller cannot overflow.
            let e = min(ea, eb)
            let xa = ma.magnitude * UInt128(pow10(Int(ea - e)))
            let xb = mb.magnitude * UInt128(pow10(Int(eb - e)))
            magnitudeOrder = xa == xb ? 0 : (xa < xb ? -1 : 1)
        }
        return a.sign < 0 ? -magnitudeOrder : magnitudeOrder
    }

    static func decimalDigits(_ x: UInt128) -> Int {
        var n = 1
        var v = x
        while v >= 10 {
            v /= 10
            n += 1
        }
        return n
    }

    public static func + (a: Quantity, b: Quantity) -> Quantity { a.adding(b) }
    public static func - (a: Quantity, b: Quantity) -> Quantity { a.adding(b.negated()) }
    public static func += (a: inout Quantity, b: Quantity) { a = a.adding(b) }
    public static func -= (a: inout Quantity, b: Quantity) { a = a.adding(b.negated()) }

    public func negated() -> Quantity {
        Quantity(mantissa: -mantissa, exponent: exponent, format: format)
    }

    /// The sum; keeps this amount's format (as Kubernetes' `Add` does), or the other's when this is zero.
    public func adding(_ other: Quantity) -> Quantity {
        if other.mantissa == 0 { return self }
        if mantissa == 0 { return other }
        var (ma, ea) = normalized
        var (mb, eb) = other.normalized
        // Bring both to a common exponent; if scaling up would overflow, round the finer one instead.
        var e = min(ea, eb)
        while true {
            if let xa = Self.scale(ma, from: ea, to: e), let xb = Self.scale(mb, from: eb, to: e) {
                let (sum, overflow) = xa.addingReportingOverflow(xb)
                if !overflow {
                    return Quantity(mantissa: sum, exponent: e, format: format)
                }
            }
            e += 1
            if e > max(ea, eb) + 1 {
                // Only reachable with values near the mantissa limit; drop a digit of precision.
                ma /= 10; ea += 1
                mb /= 10; eb += 1
                e = min(ea, eb)
            }
        }
    }

    /// `m × 10^(from-to)`, rounding half away from zero when `to > from`; nil on overflow.
    private static func scale(_ m: Int128, from: Int32, to: Int32) -> Int128? {
        if from == to { return m }
        if from > to {
            let d = Int(from - to)
            guard d <= 38 else { return nil }
            let (p, o) = m.multipliedReportingOverflow(by: pow10(d))
            return o ? nil : p
        }
        let d = Int(to - from)
        guard d <= 38 else { return 0 }
        let divisor = pow10(d)
        let (q, r) = m.quotientAndRemainder(dividingBy: divisor)
        if r.magnitude * 2 >= divisor.magnitude { return m < 0 ? q - 1 : q + 1 }
        return q
    }

    /// The amount multiplied by an integer.
    public func multiplied(by factor: Int64) -> Quantity {
        let (p, o) = mantissa.multipliedReportingOverflow(by: Int128(factor))
        if !o { return Quantity(mantissa: p, exponent: exponent, format: format) }
        let (m, e) = normalized
        let (p2, o2) = m.multipliedReportingOverflow(by: Int128(factor))
        if !o2 { return Quantity(mantissa: p2, exponent: e, format: format) }
        return Quantity(mantissa: (m / 1000) * Int128(factor), exponent: e + 3, format: format)
    }

    /// The amount at `scale` (a power of ten), rounded up away from zero, saturating at Int64's range.
    public func scaledValue(_ scale: Int32) -> Int64 {
        let (m, e) = normalized
        let shifted: Int128
        if e >= scale {
            let d = Int(e - scale)
            if d > 38 { return m < 0 ? Int64.min : Int64.max }
            let (p, o) = m.multipliedReportingOverflow(by: Self.pow10(d))
            if o { return m < 0 ? Int64.min : Int64.max }
            shifted = p
        } else {
            let d = Int(scale - e)
            if d > 38 { return m < 0 ? -1 : 1 }
            let divisor = Self.pow10(d)
            let (q, r) = m.quotientAndRemainder(dividingBy: divisor)
            shifted = r == 0 ? q : (m < 0 ? q - 1 : q + 1)
        }
        if shifted > Int128(Int64.max) { return Int64.max }
        if shifted < Int128(Int64.min) { return Int64.min }
        return Int64(shifted)
    }

    /// The amount rounded up to an integer (Kubernetes' `Value()`).
    public var value: Int64 { scaledValue(0) }
    /// The amount in thousandths, rounded up (Kubernetes' `MilliValue()`).
    public var milliValue: Int64 { scaledValue(-3) }
    /// An approximation as a floating point number.
    public var doubleValue: Double {
        let (m, e) = normalized
        var d = Double(m)
        if e >= 0 {
            for _ in 0..<e { d *= 10 }
        } else {
            for _ in 0..<(-e) { d /= 10 }
        }
        return d
    }
}

// MARK: - JSON and literals

extension Quantity: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text: String
        if let s = try? c.decode(String.self) {
            text = s
        } else if let i = try? c.decode(Int64.self) {
            text = String(i)
        } else if let d = try? c.decode(Double.self), d.isFinite {
            text = "\(d)"
        } else {
            throw DecodingError.typeMismatch(
                Quantity.self,
                .init(codingPath: decoder.codingPath, debugDescription: "expected a quantity (string or number)"))
        }
        do {
            self = try Quantity(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension Quantity: ExpressibleByStringLiteral {
    /// For literals in code, which must be valid: `let cpu: Quantity = "250m"`.
    public init(stringLiteral value: String) {
        do {
            self = try Quantity(parsing: value)
        } catch {
            preconditionFailure("invalid Quantity literal: \(error)")
        }
    }
}
