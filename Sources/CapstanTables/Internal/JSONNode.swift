import CapstanAPI

/// A read-only cursor over a parsed JSON tree: every step succeeds, and a missing or mistyped
/// field reads as absent, so printers can walk objects without guarding each level.
struct JSONNode {
    let value: JSONValue?

    init(_ value: JSONValue?) {
        self.value = value
    }

    subscript(_ key: String) -> JSONNode {
        guard case .object(let o)? = value else { return JSONNode(nil) }
        return JSONNode(o[key])
    }

    /// Present and not JSON `null` (what a non-nil Go pointer is).
    var exists: Bool {
        switch value {
        case nil, .null?: return false
        default: return true
        }
    }

    var string: String? {
        if case .string(let s)? = value { return s }
        return nil
    }

    /// The string, or "" when absent (a Go string field's zero value).
    var text: String { string ?? "" }

    /// The string when present and not empty.
    var nonEmpty: String? {
        guard let s = string, !s.isEmpty else { return nil }
        return s
    }

    var int: Int64? {
        switch value {
        case .int(let i)?: return i
        case .double(let d)? where d.isFinite && d == d.rounded(.towardZero) && abs(d) < 9.2e18: return Int64(d)
        default: return nil
        }
    }

    /// The integer, or 0 when absent.
    var integer: Int64 { int ?? 0 }

    var bool: Bool? {
        if case .bool(let b)? = value { return b }
        return nil
    }

    /// The boolean, or false when absent.
    var flag: Bool { bool ?? false }

    var array: [JSONNode] {
        guard case .array(let a)? = value else { return [] }
        return a.map(JSONNode.init)
    }

    var object: [String: JSONValue] {
        guard case .object(let o)? = value else { return [:] }
        return o
    }

    /// The number of entries of an array or object (Go's `len` of a slice or map).
    var count: Int {
        switch value {
        case .array(let a)?: return a.count
        case .object(let o)?: return o.count
        default: return 0
        }
    }

    /// A `map[string]string` such as labels; non-string values are skipped.
    var stringMap: [String: String] {
        var out: [String: String] = [:]
        for (k, v) in object {
            if case .string(let s) = v { out[k] = s }
        }
        return out
    }

    /// Microseconds since the epoch of an RFC 3339 timestamp; nil when absent, unparsable, or
    /// Go's zero time (which Kubernetes prints as `<unknown>`).
    var timestampMicros: Int64? {
        guard let s = string, !s.isEmpty, let t = try? MetaV1.MicroTime(rfc3339: s) else { return nil }
        if t.secondsSinceEpoch == JSONNode.goZeroTimeSeconds { return nil }
        return t.secondsSinceEpoch &* 1_000_000 &+ Int64(t.microseconds)
    }

    /// `0001-01-01T00:00:00Z`, Go's `time.Time{}`.
    static let goZeroTimeSeconds: Int64 = -62_135_596_800
}
