import CapstanAPI

/// Small conveniences for reading and defaulting JSON objects in strategies.
extension Dictionary where Key == String, Value == JSONValue {
    public func string(_ key: String) -> String? { self[key]?.stringValue }

    public func object(_ key: String) -> [String: JSONValue]? { self[key]?.objectValue }

    public func array(_ key: String) -> [JSONValue]? { self[key]?.arrayValue }

    public func int(_ key: String) -> Int64? {
        if case .int(let i)? = self[key] { return i }
        return nil
    }

    public func bool(_ key: String) -> Bool? {
        if case .bool(let b)? = self[key] { return b }
        return nil
    }

    /// Sets `key` to `value` unless it already holds a non-empty value.
    public mutating func setDefault(_ key: String, _ value: JSONValue) {
        switch self[key] {
        case nil, .null?, .string("")?: self[key] = value
        default: break
        }
    }

    /// Edits the object at `key`, creating it when absent (and `create` is true).
    public mutating func edit(_ key: String, create: Bool = true, _ body: (inout [String: JSONValue]) -> Void) {
        guard var o = self[key]?.objectValue ?? (create ? [:] : nil) else { return }
        body(&o)
        self[key] = .object(o)
    }

    /// Edits every object element of the list at `key`.
    public mutating func editEach(_ key: String, _ body: (inout [String: JSONValue]) -> Void) {
        guard case .array(var items)? = self[key] else { return }
        for i in items.indices {
            if case .object(var o) = items[i] {
                body(&o)
                items[i] = .object(o)
            }
        }
        self[key] = .array(items)
    }

    /// String-to-string map at `key` (labels, annotations, selectors).
    public func stringMap(_ key: String) -> [String: String] {
        guard let o = object(key) else { return [:] }
        var out: [String: String] = [:]
        for (k, v) in o { if let s = v.stringValue { out[k] = s } }
        return out
    }
}

extension StringProtocol {
    /// The string without leading and trailing spaces and tabs.
    public var trimmedWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
