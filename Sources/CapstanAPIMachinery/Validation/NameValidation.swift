/// The string-format checks Kubernetes applies everywhere (`k8s.io/apimachinery/pkg/util/validation`).
/// Each returns the failure messages Kubernetes prints; empty means valid. Byte-level, no regular expressions.
public enum NameValidation {
    /// Length limits, in bytes.
    public static let dns1123LabelMaxLength = 63
    public static let dns1123SubdomainMaxLength = 253
    public static let dns1035LabelMaxLength = 63
    public static let qualifiedNameMaxLength = 63
    public static let labelValueMaxLength = 63

    static let qualifiedNameFormat = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
    static let qualifiedNameMessage = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
    static let labelValueMessage = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
    static let dns1123LabelFormat = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
    static let dns1123LabelMessage = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
    static let dns1123SubdomainFormat = dns1123LabelFormat + "(\\." + dns1123LabelFormat + ")*"
    static let dns1123SubdomainMessage = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
    static let dns1035LabelFormat = "[a-z]([-a-z0-9]*[a-z0-9])?"
    static let dns1035LabelMessage = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character"

    /// `must be no more than N characters`.
    static func maxLengthMessage(_ n: Int) -> String { "must be no more than \(n) characters" }

    /// `msg (e.g. 'a',  or 'b', regex used for validation is 'fmt')`, with Kubernetes' odd spacing.
    static func regexMessage(_ message: String, _ format: String, _ examples: [String]) -> String {
        if examples.isEmpty { return message + " (regex used for validation is '" + format + "')" }
        var m = message + " (e.g. "
        for (i, e) in examples.enumerated() {
            if i > 0 { m += " or " }
            m += "'" + e + "', "
        }
        return m + "regex used for validation is '" + format + "')"
    }

    // MARK: Character classes

    @inline(__always) static func isLowerAlnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
    @inline(__always) static func isAlnum(_ b: UInt8) -> Bool { isLowerAlnum(b) || (b >= 0x41 && b <= 0x5A) }

    /// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
    static func matchesQualifiedNamePart<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        guard let first = bytes.first, isAlnum(first) else { return false }
        var last = first
        for b in bytes {
            guard isAlnum(b) || b == 0x2D || b == 0x5F || b == 0x2E else { return false }
            last = b
        }
        return isAlnum(last)
    }

    /// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
    static func matchesDNS1123Label<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        guard let first = bytes.first, isLowerAlnum(first) else { return false }
        var last = first
        for b in bytes {
            guard isLowerAlnum(b) || b == 0x2D else { return false }
            last = b
        }
        return isLowerAlnum(last)
    }

    /// Labels joined by single dots.
    static func matchesDNS1123Subdomain(_ s: String) -> Bool {
        let bytes = s.utf8
        guard !bytes.isEmpty else { return false }
        return bytes.split(separator: 0x2E, omittingEmptySubsequences: false).allSatisfy { matchesDNS1123Label($0) }
    }

    // MARK: Checks

    /// A DNS-1123 label (<= 63): namespaces, most service-like names.
    public static func dns1123Label(_ value: String) -> [String] {
        var errs: [String] = []
        if value.utf8.count > dns1123LabelMaxLength { errs.append(maxLengthMessage(dns1123LabelMaxLength)) }
        if !matchesDNS1123Label(value.utf8) {
            if matchesDNS1123Subdomain(value) {
                errs.append("must not contain dots")
            } else {
                errs.append(regexMessage(dns1123LabelMessage, dns1123LabelFormat, ["my-name", "123-abc"]))
            }
        }
        return errs
    }

    /// A DNS-1123 subdomain (<= 253): the names of most objects.
    public static func dns1123Subdomain(_ value: String) -> [String] {
        var errs: [String] = []
        if value.utf8.count > dns1123SubdomainMaxLength { errs.append(maxLengthMessage(dns1123SubdomainMaxLength)) }
        if !matchesDNS1123Subdomain(value) {
            errs.append(regexMessage(dns1123SubdomainMessage, dns1123SubdomainFormat, ["example.com"]))
        }
        return errs
    }

    /// A DNS-1035 label (<= 63, starts with a letter): service names.
    public static func dns1035Label(_ value: String) -> [String] {
        var errs: [String] = []
        if value.utf8.count > dns1035LabelMaxLength { errs.append(maxLengthMessage(dns1035LabelMaxLength)) }
        let bytes = value.utf8
        let ok = matchesDNS1123Label(bytes) && (bytes.first.map { $0 >= 0x61 && $0 <= 0x7A } ?? false)
        if !ok { errs.append(regexMessage(dns1035LabelMessage, dns1035LabelFormat, ["my-name", "abc-123"])) }
        return errs
    }

    /// A qualified name (label and annotation keys): optional DNS-1123 subdomain prefix and `/`, then a name part of <= 63.
    public static func qualifiedName(_ value: String) -> [String] {
        var errs: [String] = []
        let parts = value.utf8.split(separator: 0x2F, maxSplits: 2, omittingEmptySubsequences: false)
        let name: Substring.UTF8View
        switch parts.count {
        case 1:
            name = parts[0]
        case 2:
            let prefix = String(Substring(parts[0]))
            name = parts[1]
            if prefix.isEmpty {
                errs.append("prefix part must be non-empty")
            } else {
                errs += dns1123Subdomain(prefix).map { "prefix part " + $0 }
            }
        default:
            return ["a qualified name " + regexMessage(qualifiedNameMessage, qualifiedNameFormat, ["MyName", "my.name", "123-abc"])
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
        }
        if name.isEmpty {
            errs.append("name part must be non-empty")
        } else if name.count > qualifiedNameMaxLength {
            errs.append("name part " + maxLengthMessage(qualifiedNameMaxLength))
        }
        if !matchesQualifiedNamePart(name) {
            errs.append("name part " + regexMessage(qualifiedNameMessage, qualifiedNameFormat, ["MyName", "my.name", "123-abc"]))
        }
        return errs
    }

    /// A label value: empty, or <= 63 alphanumerics, `-`, `_`, `.` starting and ending alphanumeric.
    public static func labelValue(_ value: String) -> [String] {
        if isValidLabelValue(value) { return [] }
        var errs: [String] = []
        if value.utf8.count > labelValueMaxLength { errs.append(maxLengthMessage(labelValueMaxLength)) }
        if !(value.isEmpty || matchesQualifiedNamePart(value.utf8)) {
            errs.append(regexMessage(labelValueMessage, "(" + qualifiedNameFormat + ")?", ["MyValue", "my_value", "12345"]))
        }
        return errs
    }

    /// True for a valid label value; no allocation.
    public static func isValidLabelValue(_ value: String) -> Bool {
        let bytes = value.utf8
        return bytes.isEmpty || (bytes.count <= labelValueMaxLength && matchesQualifiedNamePart(bytes))
    }

    /// A name usable as one URL path segment: not `.` or `..`, no `/` or `%`.
    public static func pathSegmentName(_ value: String) -> [String] {
        if value == "." || value == ".." { return ["may not be '\(value)'"] }
        return pathSegmentPrefix(value)
    }

    /// A `generateName` prefix usable in a path segment: no `/` or `%`.
    public static func pathSegmentPrefix(_ value: String) -> [String] {
        var errs: [String] = []
        if value.utf8.contains(0x2F) { errs.append("may not contain '/'") }
        if value.utf8.contains(0x25) { errs.append("may not contain '%'") }
        return errs
    }
}
