import CapstanAPI

/// A host port a container asks for: `hostIP` ("0.0.0.0" when unset), protocol ("TCP" when
/// unset) and port.
public struct HostPort: Sendable, Hashable {
    public static let bindAll = "0.0.0.0"
    public var ip: String
    public var `protocol`: String
    public var port: Int32

    public init(ip: String?, protocol proto: String?, port: Int32) {
        self.ip = (ip?.isEmpty ?? true) ? Self.bindAll : ip!
        self.protocol = (proto?.isEmpty ?? true) ? "TCP" : proto!
        self.port = port
    }

    /// The host ports of the pod's containers and restartable init containers (hostPort > 0).
    public static func of(_ spec: CoreV1.PodSpec?) -> [HostPort] {
        guard let spec else { return [] }
        var out: [HostPort] = []
        func collect(_ ports: [CoreV1.ContainerPort]?) {
            for p in ports ?? [] where (p.hostPort ?? 0) > 0 {
                out.append(HostPort(ip: p.hostIP, protocol: p.protocol, port: p.hostPort!))
            }
        }
        for c in spec.initContainers ?? [] where c.restartPolicy == "Always" { collect(c.ports) }
        for c in spec.containers { collect(c.ports) }
        return out
    }
}

/// The host ports in use on a node, as Kubernetes' `HostPortInfo`. A port bound on 0.0.0.0
/// conflicts with the same protocol and port on every address.
public struct HostPortInfo: Sendable, Hashable {
    public private(set) var used: [HostPort] = []

    public init() {}

    public var isEmpty: Bool { used.isEmpty }

    public mutating func add(_ p: HostPort) { used.append(p) }

    public mutating func remove(_ p: HostPort) {
        if let i = used.firstIndex(of: p) { used.remove(at: i) }
    }

    /// True when `p` cannot be bound because of a port already in use.
    public func conflicts(_ p: HostPort) -> Bool {
        for u in used where u.port == p.port && u.protocol == p.protocol {
            if p.ip == HostPort.bindAll || u.ip == HostPort.bindAll || u.ip == p.ip { return true }
        }
        return false
    }
}
