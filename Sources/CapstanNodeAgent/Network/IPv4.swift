/// An IPv4 subnet such as `10.42.0.0/24`.
public struct IPv4Subnet: Sendable, Hashable, CustomStringConvertible {
    public let network: UInt32
    public let prefixLength: Int

    public init(_ text: String) throws(NetworkError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let prefix = Int(parts[1]), (8...30).contains(prefix), let address = Self.parse(parts[0]) else {
            throw NetworkError("invalid IPv4 pod CIDR \"\(text)\": expected a.b.c.d/n with n between 8 and 30")
        }
        prefixLength = prefix
        network = address & Self.mask(prefix)
    }

    static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix) }

    public static func parse(_ text: Substring) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard !octet.isEmpty, octet.count <= 3, let byte = UInt8(octet) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }

    public static func format(_ address: UInt32) -> String {
        "\(address >> 24).\(address >> 16 & 0xFF).\(address >> 8 & 0xFF).\(address & 0xFF)"
    }

    public var size: UInt32 { UInt32(1) << UInt32(32 - prefixLength) }
    public var broadcast: UInt32 { network | ~Self.mask(prefixLength) }
    /// The bridge's address: the first host address (`.1`).
    public var gateway: UInt32 { network + 1 }
    public func contains(_ address: UInt32) -> Bool { address & Self.mask(prefixLength) == network }
    public var description: String { "\(Self.format(network))/\(prefixLength)" }
}

public struct NetworkError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
