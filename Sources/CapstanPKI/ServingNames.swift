#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import SwiftASN1
import X509

/// The DNS names and IP addresses a serving certificate must carry as subject alternative names.
///
/// DNS names are lower-cased; IP addresses are kept in canonical text form (`::1`, not `0:0::1`).
/// Both lists are de-duplicated and keep the order in which names were first given.
public struct ServingNames: Hashable, Sendable {
    /// DNS names, lower-cased.
    public private(set) var dnsNames: [String] = []
    /// IP addresses in canonical text form.
    public var ipAddresses: [String] { ips.map(\.description) }

    private var ips: [IPAddress] = []

    /// The names every Capstan API server answers to, as Kubernetes' own serving certificates do.
    public static let kubernetesDNSNames = [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    ]

    /// The loopback addresses every Capstan API server answers on.
    public static let loopbackIPAddresses = ["127.0.0.1", "::1"]

    /// Validates and normalizes names. Entries of `dnsNames` that are IP addresses are moved to the
    /// IP list (so a bind address can be passed either way); IPv6 addresses may be bracketed.
    /// Throws ``PKIError/Code-swift.struct/invalidName`` for an empty or malformed name or address.
    public init(dnsNames: [String] = [], ipAddresses: [String] = []) throws {
        for name in dnsNames { try insert(name: name) }
        for address in ipAddresses {
            guard let ip = IPAddress(Self.unbracketed(address.trimmed)) else {
                throw PKIError(.invalidName, "\"\(address)\" is not an IP address")
            }
            insert(ip)
        }
    }

    /// The standard set: ``kubernetesDNSNames``, the host name (when given), ``loopbackIPAddresses``,
    /// then the extra names and addresses. Unspecified addresses (`0.0.0.0`, `::`) are left out,
    /// since no client connects to them.
    public static func standard(
        hostName: String?,
        extraDNSNames: [String] = [],
        extraIPAddresses: [String] = []
    ) throws -> ServingNames {
        var dns = kubernetesDNSNames
        if let hostName, !hostName.trimmed.isEmpty { dns.append(hostName) }
        dns += extraDNSNames.filter { !isUnspecified($0) }
        let ips = loopbackIPAddresses + extraIPAddresses.filter { !isUnspecified($0) }
        return try ServingNames(dnsNames: dns, ipAddresses: ips)
    }

    /// The subject alternative names of `certificate` (DNS names and IP addresses only);
    /// entries that cannot be parsed are ignored.
    public init(of certificate: Certificate) {
        guard let sans = try? certificate.extensions.subjectAlternativeNames else { return }
        for name in sans {
            switch name {
            case .dnsName(let dns):
                let lowered = dns.lowercased()
                if !dnsNames.contains(lowered) { dnsNames.append(lowered) }
            case .ipAddress(let octets):
                if let ip = IPAddress(bytes: octets.bytes) { insert(ip) }
            default:
                break
            }
        }
    }

    /// Whether every name and address here is also in `other`.
    public func isSubset(of other: ServingNames) -> Bool {
        Set(dnsNames).isSubset(of: Set(other.dnsNames)) && Set(ips).isSubset(of: Set(other.ips))
    }

    /// Names and addresses here that `other` lacks, as text (for messages).
    public func missing(from other: ServingNames) -> [String] {
        dnsNames.filter { !other.dnsNames.contains($0) } + ips.filter { !other.ips.contains($0) }.map(\.description)
    }

    /// The names as X.509 general names, DNS names first.
    var generalNames: [GeneralName] {
        dnsNames.map { GeneralName.dnsName($0) } + ips.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: $0.bytes[...])) }
    }

    /// The local host name (`gethostname`), lower-cased, or `nil` if it cannot be read.
    public static func currentHostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        let bytes = buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
        let name = String(decoding: bytes, as: UTF8.self).trimmed
        return name.isEmpty ? nil : name.lowercased()
    }

    private mutating func insert(name raw: String) throws {
        let name = raw.trimmed
        if let ip = IPAddress(Self.unbracketed(name)) {
            insert(ip)
            return
        }
        let lowered = name.lowercased()
        guard Self.isValidDNSName(lowered) else {
            throw PKIError(.invalidName, "\"\(raw)\" is neither a valid DNS name nor an IP address")
        }
        if !dnsNames.contains(lowered) { dnsNames.append(lowered) }
    }

    private mutating func insert(_ ip: IPAddress) {
        if !ips.contains(ip) { ips.append(ip) }
    }

    /// Letters, digits, `-` and `_` in dot-separated labels of 1...63 characters, at most 253 in all;
    /// the first label may be `*` (a wildcard).
    static func isValidDNSName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for (index, label) in labels.enumerated() {
            if index == 0 && label == "*" && labels.count > 1 { continue }
            guard (1...63).contains(label.utf8.count) else { return false }
            guard label.utf8.allSatisfy({ byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }) else { return false }
            if label.hasPrefix("-") || label.hasSuffix("-") { return false }
        }
        return true
    }

    private static func unbracketed(_ text: String) -> String {
        if text.hasPrefix("[") && text.hasSuffix("]") && text.count >= 2 {
            return String(text.dropFirst().dropLast())
        }
        return text
    }

    private static func isUnspecified(_ text: String) -> Bool {
        guard let ip = IPAddress(unbracketed(text.trimmed)) else { return false }
        return ip.bytes.allSatisfy { $0 == 0 }
    }
}
