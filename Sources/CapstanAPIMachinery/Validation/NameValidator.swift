/// How an object kind's `metadata.name` (and `generateName` prefix) is checked.
public struct NameValidator: Sendable {
    private let check: @Sendable (String) -> [String]
    private let checkPrefix: @Sendable (String) -> [String]

    /// A validator from its full-name and prefix checks.
    public init(name: @escaping @Sendable (String) -> [String], prefix: @escaping @Sendable (String) -> [String]) {
        check = name
        checkPrefix = prefix
    }

    /// Messages for a name, or for a `generateName` prefix when `prefix` is true.
    public func validate(_ name: String, prefix: Bool) -> [String] {
        prefix ? checkPrefix(name) : check(name)
    }

    /// DNS-1123 subdomain: most kinds.
    public static let dns1123Subdomain = NameValidator(name: NameValidation.dns1123Subdomain) {
        NameValidation.dns1123Subdomain(maskTrailingDash($0))
    }

    /// DNS-1123 label: namespaces and similar.
    public static let dns1123Label = NameValidator(name: NameValidation.dns1123Label) {
        NameValidation.dns1123Label(maskTrailingDash($0))
    }

    /// DNS-1035 label: services.
    public static let dns1035Label = NameValidator(name: NameValidation.dns1035Label) {
        NameValidation.dns1035Label(maskTrailingDash($0))
    }

    /// Path segment: RBAC roles and bindings and other kinds whose names may hold most characters.
    public static let pathSegment = NameValidator(name: NameValidation.pathSegmentName, prefix: NameValidation.pathSegmentPrefix)

    /// A prefix may end in `-` since random characters follow: Kubernetes replaces the last two
    /// characters of such a prefix by `a` before checking it.
    static func maskTrailingDash(_ name: String) -> String {
        let bytes = Array(name.utf8)
        guard bytes.count > 1, bytes.last == 0x2D else { return name }
        return String(decoding: bytes[..<(bytes.count - 2)], as: UTF8.self) + "a"
    }
}
