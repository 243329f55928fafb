/// Go's `time.Duration.String()`, the JSON form of `metav1.Duration`: `1h2m3.5s`, `150ms`, `0s`.
enum GoDuration {
    static func format(nanoseconds d: Int64) -> String {
        var u = d.magnitude
        var out = ""
        if u < 1_000_000_000 {
            let prec: Int
            let unit: String
            switch u {
            case 0: return "0s"
            case ..<1_000: prec = 0; unit = "ns"
            case ..<1_000_000: prec = 3; unit = "µs"
            default: prec = 6; unit = "ms"
            }
            let frac = fraction(&u, prec)
            out = String(u) + frac + unit
        } else {
            let frac = fraction(&u, 9)
            out = String(u % 60) + frac + "s"
            u /= 60
            if u > 0 {
                out = String(u % 60) + "m" + out
                u /= 60
                if u > 0 { out = String(u) + "h" + out }
            }
        }
        return d < 0 ? "-" + out : out
    }

    /// The last `prec` digits of `v` as `.ddd` without trailing zeros (empty when all are zero);
    /// `v` keeps the rest.
    private static func fraction(_ v: inout UInt64, _ prec: Int) -> String {
        var digits: [Character] = []
        var printing = false
        for _ in 0..<prec {
            let digit = v % 10
            printing = printing || digit != 0
            if printing { digits.append(Character(String(digit))) }
            v /= 10
        }
        return printing ? "." + String(digits.reversed()) : ""
    }
}
