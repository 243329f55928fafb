/// The decoded query of a request URI (`?labelSelector=app%3Dweb&limit=500`).
public struct QueryParameters: Sendable {
    private var values: [String: [String]] = [:]

    public init() {}

    public subscript(_ name: String) -> String? { values[name]?.first }

    public func all(_ name: String) -> [String] { values[name] ?? [] }

    public func has(_ name: String) -> Bool { values[name] != nil }

    /// `true`/`1` as Kubernetes' boolean query parameters accept them.
    public func bool(_ name: String) -> Bool {
        guard let v = values[name]?.first else { return false }
        return v == "true" || v == "1" || v.isEmpty
    }

    public func int(_ name: String) -> Int? { self[name].flatMap { Int($0) } }

    public mutating func add(_ name: String, _ value: String) { values[name, default: []].append(value) }

    static func split(uri: String) -> (String, QueryParameters) {
        var q = QueryParameters()
        guard let mark = uri.firstIndex(of: "?") else { return (uri, q) }
        let path = String(uri[..<mark])
        for pair in uri[uri.index(after: mark)...].split(separator: "&", omittingEmptySubsequences: true) {
            if let eq = pair.firstIndex(of: "=") {
                q.add(percentDecode(String(pair[..<eq]), plusAsSpace: true),
                      percentDecode(String(pair[pair.index(after: eq)...]), plusAsSpace: true))
            } else {
                q.add(percentDecode(String(pair), plusAsSpace: true), "")
            }
        }
        return (path, q)
    }

    /// Decodes `%XX` escapes (and `+` as space in queries); malformed escapes stay as they are.
    static func percentDecode(_ s: String, plusAsSpace: Bool = false) -> String {
        guard s.utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusAsSpace && $0 == UInt8(ascii: "+")) }) else { return s }
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count, let h = hex(b[i + 1]), let l = hex(b[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else if plusAsSpace, b[i] == UInt8(ascii: "+") {
                out.append(0x20)
                i += 1
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }
}
