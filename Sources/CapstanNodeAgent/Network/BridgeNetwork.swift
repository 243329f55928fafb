import CapstanContainerRuntime
import Foundation
import Synchronization

/// What a pod's network looks like once set up.
public struct PodNetworkStatus: Sendable, Hashable {
    /// The bind-mounted network namespace (`/run/netns/<name>`) the sandbox joins.
    public var namespacePath: String
    public var ip: String
}

/// Pods' network on one node: a bridge holding the pod CIDR's first address, and per pod a
/// network namespace with a veth pair into the bridge, an address from host-local allocation
/// (persisted under `<root>/ipam`, so an agent restart keeps it; released on tear-down), a
/// default route via the bridge and loopback up. The node reaches every pod over the bridge's
/// connected route and pods reach each other on L2; `net.ipv4.ip_forward` is left alone.
///
/// A pod's namespace and veth are made in-process over rtnetlink (`PodNamespaces`); `ip` only
/// creates the bridge at start and checks a pod's address after an agent restart.
public final class BridgeNetwork: Sendable {
    public struct Settings: Sendable {
        public var bridgeName: String
        public var podCIDR: String
        /// Where allocations are persisted.
        public var stateDirectory: String
        /// Prefix of network namespace names (`<prefix><uid>`), to keep tests' namespaces apart.
        public var namespacePrefix: String
        public var mtu: Int

        public init(bridgeName: String = "capstan0", podCIDR: String, stateDirectory: String, namespacePrefix: String = "capstan-",
                    mtu: Int = 1500) {
            self.bridgeName = bridgeName
            self.podCIDR = podCIDR
            self.stateDirectory = stateDirectory
            self.namespacePrefix = namespacePrefix
            self.mtu = mtu
        }
    }

    public let settings: Settings
    public let subnet: IPv4Subnet
    private let allocator: Mutex<IPAllocator>

    public init(settings: Settings) throws {
        self.settings = settings
        subnet = try IPv4Subnet(settings.podCIDR)
        try FileManager.default.createDirectory(atPath: settings.stateDirectory, withIntermediateDirectories: true)
        allocator = Mutex(IPAllocator(subnet: subnet, allocations: Self.load(settings.stateDirectory, subnet: subnet),
                                      last: Self.loadLast(settings.stateDirectory)))
    }

    public var gateway: String { IPv4Subnet.format(subnet.gateway) }

    /// Creates the bridge with the gateway address, if missing, and brings it up.
    public func ensureBridge() async throws {
        let bridge = settings.bridgeName
        let exists = try await Command.run(["ip", "link", "show", "dev", bridge], check: false).status == 0
        if !exists { try await Command.run(["ip", "link", "add", bridge, "type", "bridge"]) }
        let addresses = try await Command.run(["ip", "-4", "-o", "addr", "show", "dev", bridge]).stdout
        let cidr = "\(gateway)/\(subnet.prefixLength)"
        if !addresses.contains(" \(cidr) ") { try await Command.run(["ip", "addr", "add", cidr, "dev", bridge]) }
        try await Command.run(["ip", "link", "set", bridge, "up"])
        try PodNamespaces.prepareDirectory(Self.namespaceDirectory)
    }

    /// Deletes the bridge (tests, and `--stop-pods-on-exit` clean-up).
    public func removeBridge() async throws {
        _ = try await Command.run(["ip", "link", "del", settings.bridgeName], check: false)
    }

    public func namespaceName(podUID: String) -> String { settings.namespacePrefix + podUID }
    public func namespacePath(podUID: String) -> String { Self.namespaceDirectory + "/" + namespaceName(podUID: podUID) }

    /// Where pods' network namespaces are bound, as `ip netns` names them.
    static let namespaceDirectory = "/run/netns"

    /// The host side of the pod's veth pair: at most 15 characters, unique per pod.
    func hostInterface(podUID: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in (settings.namespacePrefix + podUID).utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return "veth" + String((String(repeating: "0", count: max(0, 11 - hex.count)) + hex).suffix(11))
    }

    /// The pod's address if it has one (after an agent restart).
    public func address(podUID: String) -> String? {
        allocator.withLock { $0.address(of: podUID) }.map(IPv4Subnet.format)
    }

    /// Sets up (or finds, after a restart) the pod's namespace, veth and address.
    public func setUp(podUID: String) async throws -> PodNetworkStatus {
        let address = try allocate(podUID)
        let ns = namespaceName(podUID: podUID)
        let path = namespacePath(podUID: podUID)
        let ip = IPv4Subnet.format(address)
        if FileManager.default.fileExists(atPath: path) {
            let configured = try await Command.run(["ip", "-n", ns, "-4", "-o", "addr", "show", "dev", "eth0"], check: false)
            if configured.status == 0 && configured.stdout.contains(" \(ip)/") { return PodNetworkStatus(namespacePath: path, ip: ip) }
            PodNamespaces.remove(path)
        }
        let veth = hostInterface(podUID: podUID)
        do {
            if FileManager.default.fileExists(atPath: "/sys/class/net/\(veth)") {
                try await Command.run(["ip", "link", "del", veth])
            }
            let bridgeIndex = if_nametoindex(settings.bridgeName)
            guard bridgeIndex != 0 else { throw NetworkError("bridge \(settings.bridgeName) is missing") }
            // The namespace, its veth pair, address and route in one step of this process (no `ip`).
            try PodNamespaces.create(network: path, interface: PodNamespaces.Interface(
                hostName: veth, bridgeIndex: bridgeIndex, mtu: settings.mtu, address: address,
                prefixLength: subnet.prefixLength, gateway: subnet.gateway))
        } catch {
            release(podUID)
            throw error
        }
        return PodNetworkStatus(namespacePath: path, ip: ip)
    }

    /// Deletes the pod's namespace (its veth goes with it) and releases its address. Idempotent.
    public func tearDown(podUID: String) async throws {
        PodNamespaces.remove(namespacePath(podUID: podUID))
        release(podUID)
    }

    /// Pod UIDs holding an address (for clean-up of pods that are gone).
    public var allocatedPods: [String] { allocator.withLock { Array($0.allocations.values) } }

    // MARK: Persistence (one file per address holding the owner, as host-local does)

    private func allocate(_ podUID: String) throws -> UInt32 {
        try allocator.withLock { allocator in
            if let existing = allocator.address(of: podUID) { return existing }
            let address = try allocator.allocate(for: podUID)
            let directory = settings.stateDirectory
            do {
                try FileReplace.write(Array(podUID.utf8), to: "\(directory)/\(IPv4Subnet.format(address))")
                try FileReplace.write(Array(IPv4Subnet.format(address).utf8), to: "\(directory)/last_reserved_ip")
            } catch {
                throw NetworkError("\(error)")
            }
            return address
        }
    }

    private func release(_ podUID: String) {
        allocator.withLock { allocator in
            if let address = allocator.release(owner: podUID) {
                try? FileManager.default.removeItem(atPath: "\(settings.stateDirectory)/\(IPv4Subnet.format(address))")
            }
        }
    }

    private static func load(_ directory: String, subnet: IPv4Subnet) -> [UInt32: String] {
        var allocations: [UInt32: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            guard let address = IPv4Subnet.parse(Substring(name)), subnet.contains(address),
                  let owner = try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8) else { continue }
            allocations[address] = owner.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return allocations
    }

    private static func loadLast(_ directory: String) -> UInt32? {
        (try? String(contentsOfFile: "\(directory)/last_reserved_ip", encoding: .utf8))
            .flatMap { IPv4Subnet.parse(Substring($0.trimmingCharacters(in: .whitespacesAndNewlines))) }
    }
}
