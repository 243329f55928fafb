import CapstanAPI
import CapstanAPIMachinery
import Synchronization

/// Hands out ClusterIPs from the service CIDR and node ports from 30000-32767, remembering
/// what is in use (loaded from the stored services on first use).
public final class ServiceAllocator: Sendable {
    public let network: UInt32
    public let size: UInt32
    public static let nodePortRange: ClosedRange<Int64> = 30000...32767

    private struct State {
        var loaded = false
        var ips = Set<UInt32>()
        var ports = Set<Int64>()
        var nextIP: UInt32 = 10
        var nextPort: Int64 = 30000
    }

    private let state = Mutex(State())

    public init(cidr: String) throws {
        let parts = cidr.split(separator: "/")
        guard parts.count == 2, let bits = UInt32(parts[1]), bits >= 8, bits <= 30,
              let base = Self.parseIPv4(String(parts[0]))
        else { throw APIError.internalError("invalid service CIDR \(cidr)") }
        size = 1 << (32 - bits)
        network = base & ~(size - 1)
    }

    /// The first address of the range: the `kubernetes` service's ClusterIP.
    public var apiServerIP: String { Self.format(network + 1) }

    public static func parseIPv4(_ s: String) -> UInt32? {
        let octets = s.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var v: UInt32 = 0
        for o in octets {
            guard let n = UInt32(o), n <= 255, !o.isEmpty else { return nil }
            v = v << 8 | n
        }
        return v
    }

    public static func format(_ v: UInt32) -> String {
        "\(v >> 24).\(v >> 16 & 255).\(v >> 8 & 255).\(v & 255)"
    }

    func loadIfNeeded(_ registry: Registry) async {
        guard !state.withLock({ $0.loaded }) else { return }
        guard let services = registry.resource(group: "", version: "v1", plural: "services") else { return }
        try? await services.cache.sync()
        let (entries, _) = services.cache.list(filter: WatchFilter(namespace: nil))
        var ips = Set<UInt32>()
        var ports = Set<Int64>()
        for e in entries {
            guard case .object(let o)? = try? e.object(), let spec = o.object("spec") else { continue }
            for ip in (spec.array("clusterIPs") ?? []).compactMap(\.stringValue) + [spec.string("clusterIP") ?? ""] {
                if let v = Self.parseIPv4(ip) { ips.insert(v) }
            }
            for p in spec.array("ports") ?? [] { if let n = p.objectValue?.int("nodePort") { ports.insert(n) } }
        }
        state.withLock { s in
            guard !s.loaded else { return }
            s.ips.formUnion(ips)
            s.ports.formUnion(ports)
            s.loaded = true
        }
    }

    /// Reserves `requested` (if given and free) or the next free address.
    func allocateIP(_ requested: String?, service name: String = "") throws(APIError) -> String {
        try state.withLock { (s: inout State) throws(APIError) -> String in
            if let requested, !requested.isEmpty {
                guard let v = Self.parseIPv4(requested), v & ~(size - 1) == network, v != network, v != network + size - 1 else {
                    throw ServiceAllocator.invalid(name, "spec.clusterIPs", requested,
                                                "failed to allocate IP \(requested): provided IP is not in the valid range. The range of valid IPs is \(Self.format(network))/\(32 - size.trailingZeroBitCount)")
                }
                guard s.ips.insert(v).inserted else {
                    throw ServiceAllocator.invalid(name, "spec.clusterIPs", requested,
                                                "failed to allocate IP \(requested): provided IP is already allocated")
                }
                return requested
            }
            for _ in 0..<size {
                let candidate = network + s.nextIP
                s.nextIP = s.nextIP + 1 >= size - 1 ? 10 : s.nextIP + 1
                if s.ips.insert(candidate).inserted { return Self.format(candidate) }
            }
            throw APIError.internalError("failed to allocate a serviceIP: range is full")
        }
    }

    func allocatePort(_ requested: Int64?, service name: String = "") throws(APIError) -> Int64 {
        try state.withLock { (s: inout State) throws(APIError) -> Int64 in
            if let requested, requested != 0 {
                guard Self.nodePortRange.contains(requested) else {
                    throw ServiceAllocator.invalid(name, "spec.ports[].nodePort", String(requested),
                                                "provided port is not in the valid range. The range of valid ports is 30000-32767")
                }
                guard s.ports.insert(requested).inserted else {
                    throw ServiceAllocator.invalid(name, "spec.ports[].nodePort", String(requested), "provided port is already allocated")
                }
                return requested
            }
            for _ in Self.nodePortRange {
                let candidate = s.nextPort
                s.nextPort = s.nextPort >= Self.nodePortRange.upperBound ? Self.nodePortRange.lowerBound : s.nextPort + 1
                if s.ports.insert(candidate).inserted { return candidate }
            }
            throw APIError.internalError("failed to allocate a nodePort: range is full")
        }
    }

    static func invalid(_ name: String, _ path: String, _ value: String, _ detail: String) -> APIError {
        APIError.invalid(GroupKind(kind: "Service"), name: name, errors: [.invalid(FieldPath(path), value: value, detail)])
    }

    func release(ips: [String], ports: [Int64]) {
        state.withLock { s in
            for ip in ips { if let v = Self.parseIPv4(ip) { s.ips.remove(v) } }
            for p in ports { s.ports.remove(p) }
        }
    }
}

/// Services: defaults, ClusterIP and node port allocation, immutable ClusterIP.
struct ServiceStrategy: ResourceStrategy {
    let allocator: ServiceAllocator

    func applyDefaults(_ object: inout [String: JSONValue]) {
        object.edit("spec") { spec in
            spec.setDefault("type", .string("ClusterIP"))
            spec.setDefault("sessionAffinity", .string("None"))
            let type = spec.string("type") ?? "ClusterIP"
            if type != "ExternalName" {
                spec.setDefault("internalTrafficPolicy", .string("Cluster"))
            }
            if type == "NodePort" || type == "LoadBalancer" {
                spec.setDefault("externalTrafficPolicy", .string("Cluster"))
            }
            spec.editEach("ports") { p in
                p.setDefault("protocol", .string("TCP"))
                if p["targetPort"] == nil, let port = p["port"] { p["targetPort"] = port }
            }
        }
    }

    func prepareForCreate(_ object: inout [String: JSONValue], context: WriteContext) async throws(APIError) {
        await allocator.loadIfNeeded(context.registry)
        object["status"] = .object(["loadBalancer": .object([:])])
        var spec = object.object("spec") ?? [:]
        let type = spec.string("type") ?? "ClusterIP"
        if type != "ExternalName" {
            let requested = spec.string("clusterIP") ?? spec.array("clusterIPs")?.first?.stringValue
            if requested == "None" {
                spec["clusterIP"] = .string("None")
                spec["clusterIPs"] = .array([.string("None")])
            } else {
                let ip = try allocator.allocateIP(requested, service: object.object("metadata")?.string("name") ?? "")
                spec["clusterIP"] = .string(ip)
                spec["clusterIPs"] = .array([.string(ip)])
            }
            spec.setDefault("ipFamilies", .array([.string("IPv4")]))
            spec.setDefault("ipFamilyPolicy", .string("SingleStack"))
        }
        if type == "NodePort" || type == "LoadBalancer" {
            var ports = spec.array("ports") ?? []
            for i in ports.indices {
                guard case .object(var p) = ports[i] else { continue }
                p["nodePort"] = .int(try allocator.allocatePort(p.int("nodePort"), service: object.object("metadata")?.string("name") ?? ""))
                ports[i] = .object(p)
            }
            spec["ports"] = .array(ports)
        }
        object["spec"] = .object(spec)
    }

    func prepareForUpdate(_ object: inout [String: JSONValue], old: [String: JSONValue], context: WriteContext) {
        let oldSpec = old.object("spec") ?? [:]
        object.edit("spec") { spec in
            for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] where spec[field] == nil || spec[field] == .string("") {
                spec[field] = oldSpec[field]
            }
            // Node ports stay with their port unless set explicitly.
            let oldPorts = (oldSpec.array("ports") ?? []).compactMap(\.objectValue)
            spec.editEach("ports") { p in
                if p["nodePort"] == nil, let match = oldPorts.first(where: { $0["port"] == p["port"] && $0["protocol"] == p["protocol"] }) {
                    p["nodePort"] = match["nodePort"]
                }
            }
        }
    }

    func validate(_ object: [String: JSONValue], old: [String: JSONValue]?) -> [FieldError] {
        var issues: [FieldError] = []
        let spec = object.object("spec") ?? [:]
        let type = spec.string("type") ?? "ClusterIP"
        let ports = spec.array("ports") ?? []
        if ports.isEmpty && type != "ExternalName" && spec.string("clusterIP") != "None" {
            issues.append(.required("spec.ports"))
        }
        var names = Set<String>()
        for (i, p) in ports.enumerated() {
            let o = p.objectValue ?? [:]
            if let port = o.int("port"), !(1...65535).contains(port) {
                issues.append(.invalid(FieldPath("spec.ports[\(i)].port"), value: String(port), "must be between 1 and 65535, inclusive"))
            }
            let name = o.string("name") ?? ""
            if ports.count > 1, name.isEmpty { issues.append(.required(FieldPath("spec.ports[\(i)].name"))) }
            if !name.isEmpty, !names.insert(name).inserted { issues.append(.duplicate(FieldPath("spec.ports[\(i)].name"), value: name)) }
        }
        if let old, let oldIP = old.object("spec")?.string("clusterIP"), !oldIP.isEmpty,
           let newIP = spec.string("clusterIP"), newIP != oldIP, type != "ExternalName" {
            issues.append(.invalid("spec.clusterIPs[0]", value: newIP, "may not change once set"))
        }
        if type == "ExternalName", (spec.string("externalName") ?? "").isEmpty {
            issues.append(.required("spec.externalName"))
        }
        return issues
    }


    func afterDelete(_ object: [String: JSONValue], context: WriteContext) async {
        let spec = object.object("spec") ?? [:]
        let ips = (spec.array("clusterIPs") ?? []).compactMap(\.stringValue)
        let ports = (spec.array("ports") ?? []).compactMap { $0.objectValue?.int("nodePort") }
        allocator.release(ips: ips, ports: ports)
    }
}
