/// Percent-encoding of URL path segments and query components (RFC 3986).
enum PercentEncoding {
    /// Encodes everything but unreserved characters and the sub-delimiters a path segment may hold
    /// (`:` `@` `!` `$` `&` `'` `(` `)` `*` `+` `,` `;` `=`), so `system:node:a` stays readable.
    static func pathSegment(_ s: String) -> String {
        encode(s) { isUnreserved($0) || isPathExtra($0) }
    }

    /// Encodes everything but unreserved characters: safe for query names and values
    /// (`app=web,tier in (a,b)` becomes `app%3Dweb%2Ctier%20in%20%28a%2Cb%29`).
    static func queryComponent(_ s: String) -> String {
        encode(s, allowed: isUnreserved)
    }

    /// `a=1&b=2`, each part encoded.
    static func query(_ items: [(name: String, value: String)]) -> String {
        var out = ""
        for (i, item) in items.enumerated() {
            if i > 0 { out += "&" }
            out += queryComponent(item.name)
            out += "="
            out += queryComponent(item.value)
        }
        return out
    }

    private static func encode(_ s: String, allowed: (UInt8) -> Bool) -> String {
        if s.utf8.allSatisfy(allowed) { return s }
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count * 3)
        for b in s.utf8 {
            if allowed(b) {
                out.append(b)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let hex: [UInt8] = Array("0123456789ABCDEF".utf8)

    private static func isUnreserved(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static func isPathExtra(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"),
             UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }
}
