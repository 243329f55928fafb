import CapstanStorage

/// One etcd member's client address (plaintext gRPC).
public struct EtcdEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Parses a list of endpoints: `etcd://h1:p1,h2:p2`, `http://h1:p1,http://h2:p2` or
    /// `h1:p1,h2:p2` (the port defaults to 2379). TLS (`https://`) is not supported yet.
    public static func parse(_ text: String) throws(StorageError) -> [EtcdEndpoint] {
        var endpoints: [EtcdEndpoint] = []
        for rawItem in text.split(separator: ",", omittingEmptySubsequences: true) {
            var item = Substring(rawItem.trimmingSpaces())
            for scheme in ["etcd://", "http://"] where item.hasPrefix(scheme) {
                item = item.dropFirst(scheme.count)
            }
            if item.hasPrefix("https://") {
                throw .invalidArgument("etcd endpoint \(rawItem): TLS (https) is not supported")
            }
            if item.contains("://") {
                throw .invalidArgument("etcd endpoint \(rawItem): unknown scheme (use etcd:// or http://)")
            }
            if let slash = item.firstIndex(of: "/") { item = item[..<slash] }
            guard !item.isEmpty else { continue }
            var host = String(item)
            var port = 2379
            if item.hasPrefix("[") {
                guard let close = item.firstIndex(of: "]") else {
                    throw .invalidArgument("etcd endpoint \(rawItem): unterminated IPv6 address")
                }
                host = String(item[item.index(after: item.startIndex)..<close])
                let rest = item[item.index(after: close)...]
                if rest.hasPrefix(":") {
                    guard let value = Int(rest.dropFirst()) else {
                        throw .invalidArgument("etcd endpoint \(rawItem): bad port")
                    }
                    port = value
                }
            } else if let colon = item.lastIndex(of: ":") {
                host = String(item[..<colon])
                guard let value = Int(item[item.index(after: colon)...]) else {
                    throw .invalidArgument("etcd endpoint \(rawItem): bad port")
                }
                port = value
            }
            guard !host.isEmpty, (1...65535).contains(port) else {
                throw .invalidArgument("etcd endpoint \(rawItem): needs host:port with a port in 1...65535")
            }
            endpoints.append(EtcdEndpoint(host: host, port: port))
        }
        if endpoints.isEmpty { throw .invalidArgument("no etcd endpoint in '\(text)'") }
        return endpoints
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var result = self
        while result.first == " " { result = result.dropFirst() }
        while result.last == " " { result = result.dropLast() }
        return result
    }
}
