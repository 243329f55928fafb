/// A field selector: `field=value` / `field==value` / `field!=value` terms that must all hold
/// (`metadata.name=x,status.phase!=Running`). Values escape `\`, `,` and `=` with a backslash.
public struct FieldSelector: Sendable, Hashable, CustomStringConvertible {
    /// One term.
    public struct Requirement: Sendable, Hashable, CustomStringConvertible {
        /// The field label (`spec.nodeName`).
        public let field: String
        /// True for `=`/`==`, false for `!=`.
        public let equals: Bool
        /// The unescaped value.
        public let value: String

        /// A term; `equals` false means `!=`.
        public init(field: String, equals: Bool, value: String) {
            self.field = field
            self.equals = equals
            self.value = value
        }

        /// True when the field's value (missing fields read as "") satisfies the term.
        @inline(__always)
        public func matches(value actual: String?) -> Bool {
            ((actual ?? "") == value) == equals
        }

        /// `field=value` or `field!=value`, the value escaped.
        public var description: String {
            field + (equals ? "=" : "!=") + FieldSelector.escapeValue(value)
        }
    }

    /// The terms, in Kubernetes' order (sorted by their text as written).
    public let requirements: [Requirement]

    /// Matches everything.
    public static let everything = FieldSelector(requirements: [])

    /// A selector of these terms, kept in the given order.
    public init(requirements: [Requirement]) { self.requirements = requirements }

    /// True when the selector matches everything.
    public var isEmpty: Bool { requirements.isEmpty }

    /// Parses the string form as Kubernetes' `fields.ParseSelector`; an empty string matches everything.
    public init(parsing text: String) throws(SelectorError) {
        var terms = Self.splitTerms(text)
        terms.sort(by: GoFormat.byteOrder)
        var reqs: [Requirement] = []
        for term in terms where !term.isEmpty {
            guard let (lhs, op, rhs) = Self.splitTerm(term) else {
                throw SelectorError("invalid selector: '\(text)'; can't understand '\(term)'")
            }
            let value = try Self.unescapeValue(rhs)
            reqs.append(Requirement(field: lhs, equals: op != "!=", value: value))
        }
        requirements = reqs
    }

    /// Splits on commas that are not escaped.
    static func splitTerms(_ text: String) -> [String] {
        if text.isEmpty { return [] }
        let bytes = Array(text.utf8)
        var terms: [String] = []
        var start = 0
        var inSlash = false
        for (i, b) in bytes.enumerated() {
            if inSlash {
                inSlash = false
            } else if b == 0x5C {
                inSlash = true
            } else if b == 0x2C {
                terms.append(String(decoding: bytes[start..<i], as: UTF8.self))
                start = i + 1
            }
        }
        terms.append(String(decoding: bytes[start...], as: UTF8.self))
        return terms
    }

    /// The first `!=`, `==` or `=` splits a term into field, operator and raw value.
    static func splitTerm(_ term: String) -> (String, String, String)? {
        let bytes = Array(term.utf8)
        for i in bytes.indices {
            let op: String
            if bytes[i] == 0x21, i + 1 < bytes.count, bytes[i + 1] == 0x3D {
                op = "!="
            } else if bytes[i] == 0x3D {
                op = i + 1 < bytes.count && bytes[i + 1] == 0x3D ? "==" : "="
            } else {
                continue
            }
            return (String(decoding: bytes[..<i], as: UTF8.self), op,
                    String(decoding: bytes[(i + op.utf8.count)...], as: UTF8.self))
        }
        return nil
    }

    /// Escapes `\`, `,` and `=` with a backslash.
    public static func escapeValue(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 0x5C || $0 == 0x2C || $0 == 0x3D }) else { return value }
        var out = ""
        out.reserveCapacity(value.utf8.count + 4)
        for ch in value.unicodeScalars {
            if ch == "\\" || ch == "," || ch == "=" { out.unicodeScalars.append("\\") }
            out.unicodeScalars.append(ch)
        }
        return out
    }

    /// Undoes `escapeValue`; an unknown escape or a bare `,` or `=` is an error, with Kubernetes' message.
    public static func unescapeValue(_ value: String) throws(SelectorError) -> String {
        guard value.utf8.contains(where: { $0 == 0x5C || $0 == 0x2C || $0 == 0x3D }) else { return value }
        var out = ""
        var inSlash = false
        for ch in value.unicodeScalars {
            if inSlash {
                switch ch {
                case "\\", ",", "=": out.unicodeScalars.append(ch)
                default: throw SelectorError("invalid field selector: invalid escape sequence: \\\(ch)")
                }
                inSlash = false
                continue
            }
            switch ch {
            case "\\": inSlash = true
            case ",", "=": throw SelectorError("invalid field selector: unescaped character in value: \(ch.value)")
            default: out.unicodeScalars.append(ch)
            }
        }
        if inSlash { throw SelectorError("invalid field selector: invalid escape sequence: \\") }
        return out
    }

    // MARK: Matching

    /// True when `fields` satisfy every term (a missing field reads as "").
    public func matches(_ fields: [String: String]) -> Bool {
        for r in requirements where !r.matches(value: fields[r.field]) { return false }
        return true
    }

    /// True when the fields given by `lookup` satisfy every term.
    public func matches(lookup: (String) -> String?) -> Bool {
        for r in requirements where !r.matches(value: lookup(r.field)) { return false }
        return true
    }

    /// The value an `=` term pins `field` to; lets a cache answer from an index (`spec.nodeName`).
    public func requiresExactMatch(_ field: String) -> String? {
        for r in requirements where r.equals && r.field == field { return r.value }
        return nil
    }

    /// The canonical form: terms joined by `,`, values escaped, `==` written `=`.
    public var description: String {
        requirements.map(\.description).joined(separator: ",")
    }
}
