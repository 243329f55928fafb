import CCapstanHost
#if canImport(Glibc)
import Glibc
#endif

/// A pod's persistent namespaces, each bind-mounted on a file, made in-process (a child sharing
/// the agent's memory unshares them and configures the links over rtnetlink) instead of running
/// `unshare`, `hostname` and `ip`. The runtime makes the IPC and UTS namespaces (and a network
/// namespace with only `lo` when the agent gives none); the agent's pod network makes the
/// network namespace with the pod's veth.
public enum PodNamespaces {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// The pod's side of a veth pair into the node's bridge.
    public struct Interface: Sendable {
        public var hostName: String
        public var bridgeIndex: UInt32
        public var mtu: Int
        /// IPv4 addresses as numbers (the first octet in the top byte).
        public var address: UInt32
        public var prefixLength: Int
        public var gateway: UInt32

        public init(hostName: String, bridgeIndex: UInt32, mtu: Int, address: UInt32, prefixLength: Int, gateway: UInt32) {
            self.hostName = hostName
            self.bridgeIndex = bridgeIndex
            self.mtu = mtu
            self.address = address
            self.prefixLength = prefixLength
            self.gateway = gateway
        }
    }

    /// Creates the namespaces whose files are given (the files must not exist). A new network
    /// namespace gets `lo` up and the interface, if one is given; a new UTS namespace gets
    /// `hostname` ("localhost" if empty). On failure nothing is left behind.
    public static func create(network: String? = nil, ipc: String? = nil, uts: String? = nil, hostname: String = "",
                              interface: Interface? = nil) throws(Failure) {
        var request = capstan_namespace_request()
        let result: Int32 = withOptionalCString(network) { network in
            withOptionalCString(ipc) { ipc in
                withOptionalCString(uts) { uts in
                    hostname.withCString { hostname in
                        (interface?.hostName ?? "").withCString { hostName in
                            request.net_path = network
                            request.ipc_path = ipc
                            request.uts_path = uts
                            request.hostname = hostname
                            guard let interface else { return capstan_create_namespaces(&request) }
                            var link = capstan_pod_interface(
                                host_name: hostName, bridge_index: interface.bridgeIndex, mtu: Int32(interface.mtu),
                                address: interface.address, prefix_length: Int32(interface.prefixLength), gateway: interface.gateway)
                            return withUnsafePointer(to: &link) { link in
                                request.interface = link
                                return capstan_create_namespaces(&request)
                            }
                        }
                    }
                }
            }
        }
        guard result == 0 else {
            let step = withUnsafeBytes(of: request.step) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw Failure(description: "\(step): \(String(cString: strerror(request.error_number)))")
        }
    }

    /// Unmounts and deletes a namespace file; a missing file is fine.
    public static func remove(_ path: String) {
        _ = capstan_remove_namespace(path)
    }

    /// Whether `path` is a namespace bound on a file, as a pod's namespaces are while they exist.
    public static func exists(_ path: String) -> Bool {
        capstan_is_namespace_file(path) != 0
    }

    /// Makes `directory` a shared mount point for namespace files (as `ip netns` does for /run/netns).
    public static func prepareDirectory(_ directory: String) throws(Failure) {
        let result = capstan_prepare_namespace_directory(directory)
        guard result == 0 else { throw Failure(description: "preparing \(directory): \(String(cString: strerror(-result)))") }
    }

    private static func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
        guard let string else { return body(nil) }
        return string.withCString { body($0) }
    }
}
