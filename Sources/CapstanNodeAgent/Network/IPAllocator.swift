/// Host-local IP allocation in a subnet (pure): the gateway, network and broadcast addresses are
/// never handed out; allocation goes round-robin from the last address given, as CNI's
/// host-local plugin does, so a released address is not reused at once.
public struct IPAllocator: Sendable, Hashable {
    public let subnet: IPv4Subnet
    /// Address → owner (pod UID).
    public private(set) var allocations: [UInt32: String] = [:]
    private var owners: [String: UInt32] = [:]
    public private(set) var last: UInt32

    public init(subnet: IPv4Subnet, allocations: [UInt32: String] = [:], last: UInt32? = nil) {
        self.subnet = subnet
        self.last = last ?? subnet.gateway
        for (address, owner) in allocations where subnet.contains(address) {
            self.allocations[address] = owner
            owners[owner] = address
        }
    }

    public func address(of owner: String) -> UInt32? { owners[owner] }

    /// The owner's address: the one it has, else the next free one.
    public mutating func allocate(for owner: String) throws(NetworkError) -> UInt32 {
        if let existing = owners[owner] { return existing }
        let first = subnet.gateway + 1
        let lastUsable = subnet.broadcast - 1
        guard first <= lastUsable else { throw NetworkError("pod CIDR \(subnet) has no addresses for pods") }
        var candidate = last
        for _ in 0..<(lastUsable - first + 1) {
            candidate = candidate >= lastUsable || candidate < first ? first : candidate + 1
            if allocations[candidate] == nil {
                allocations[candidate] = owner
                owners[owner] = candidate
                last = candidate
                return candidate
            }
        }
        throw NetworkError("pod CIDR \(subnet) is full: \(allocations.count) addresses in use")
    }

    /// Frees the owner's address; returns it.
    @discardableResult
    public mutating func release(owner: String) -> UInt32? {
        guard let address = owners.removeValue(forKey: owner) else { return nil }
        allocations[address] = nil
        return address
    }
}
