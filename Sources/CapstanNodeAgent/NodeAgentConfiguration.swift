import Foundation

/// How a ``NodeAgent`` runs.
public struct NodeAgentConfiguration: Sendable {
    public enum Network: Sendable {
        /// Pod network namespaces with a veth into this bridge (see ``BridgeNetwork``).
        case bridge(name: String = "capstan0", namespacePrefix: String = "capstan-")
        /// No pod network (the runtime makes a namespace per pod, or a fake runtime); pods get no IP.
        case none
    }

    public var nodeName: String
    /// Pod directories (logs, volumes), IP allocations.
    public var rootDirectory: String
    /// Used when the Node has no `spec.podCIDR`.
    public var defaultPodCIDR: String
    public var network: Network
    public var maxPods: Int
    public var extraLabels: [String: String]
    /// Stop every pod's containers when ``NodeAgent/run()`` ends (the default leaves them running
    /// for the next agent to adopt).
    public var stopPodsOnExit: Bool
    /// How often each pod worker relists its containers (exits are noticed this fast).
    public var syncInterval: Duration
    /// How often mounted configMap, secret, downwardAPI and projected volumes are brought up to date.
    public var volumeRefreshInterval: Duration = .seconds(10)
    /// How many pods' sandboxes and containers are made and started at once, the pod taken on
    /// first going first (0: no limit; by default three per core). With more pods arriving than
    /// the cores can start together, a limit lets the first pods of a burst run early instead
    /// of every pod waiting for the whole burst (see docs/benchmarks.md, `bench pods`).
    public var parallelStarts: Int = NodeAgentConfiguration.defaultParallelStarts
    /// Three pod start-ups per core: on 2 cores, 20 pods at once had their median start fall by
    /// a fifth against no limit, and their slowest rise by a tenth (fewer let the slowest rise more).
    public static var defaultParallelStarts: Int { 3 * max(1, ProcessInfo.processInfo.activeProcessorCount) }
    /// Called once, when the agent has registered its Node and taken on the pods bound to it.
    public var onStarted: (@Sendable () -> Void)?
    /// The HTTPS endpoint for logs; nil: none.
    public var server: AgentServerConfiguration?
    public var clock: AgentClock

    public init(nodeName: String, rootDirectory: String, defaultPodCIDR: String = "10.42.0.0/24", network: Network = .bridge(),
                maxPods: Int = 110, extraLabels: [String: String] = [:], stopPodsOnExit: Bool = false,
                syncInterval: Duration = .seconds(1), server: AgentServerConfiguration? = nil, clock: AgentClock = .system) {
        self.nodeName = nodeName
        self.rootDirectory = rootDirectory
        self.defaultPodCIDR = defaultPodCIDR
        self.network = network
        self.maxPods = maxPods
        self.extraLabels = extraLabels
        self.stopPodsOnExit = stopPodsOnExit
        self.syncInterval = syncInterval
        self.server = server
        self.clock = clock
    }

    var podsDirectory: String { rootDirectory + "/pods" }

    /// `<root>/pods/<namespace>_<name>_<uid>`, as kubelet's /var/log/pods layout.
    func podDirectory(namespace: String, name: String, uid: String) -> String {
        "\(podsDirectory)/\(namespace)_\(name)_\(uid)"
    }

    /// `<pod dir>/<container>/<attempt>.log`.
    func logPath(namespace: String, name: String, uid: String, container: String, attempt: Int) -> String {
        "\(podDirectory(namespace: namespace, name: name, uid: uid))/\(container)/\(attempt).log"
    }
}

/// The agent's HTTPS endpoint (kubelet's port 10250).
public struct AgentServerConfiguration: Sendable {
    public var bindAddress: String
    /// 0: any free port (the bound port is reported in the Node's daemonEndpoints).
    public var port: Int
    /// PEM serving certificate chain and key.
    public var certificatePEM: String
    public var privateKeyPEM: String
    /// PEM CA that client certificates must chain to (the API server's client identity); nil
    /// accepts no client certificate requirement (tests only).
    public var clientCAPEM: String?

    public init(bindAddress: String = "0.0.0.0", port: Int = 10250, certificatePEM: String, privateKeyPEM: String,
                clientCAPEM: String?) {
        self.bindAddress = bindAddress
        self.port = port
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
        self.clientCAPEM = clientCAPEM
    }
}

import CapstanPKI

extension AgentServerConfiguration {
    /// A serving certificate from a throwaway CA made here (kubelet's self-signed default), for
    /// `nodeName` and `ipAddresses`; client certificates must chain to `clientCAPEM`.
    public static func selfSigned(nodeName: String, ipAddresses: [String], bindAddress: String = "0.0.0.0", port: Int = 10250,
                                  clientCAPEM: String?, now: Date = Date()) throws -> AgentServerConfiguration {
        let ca = try CertificateAuthority.generate(commonName: "\(nodeName)-ca@\(Int(now.timeIntervalSince1970))", now: now)
        let names = try ServingNames(dnsNames: [nodeName.lowercased()], ipAddresses: ipAddresses)
        let serving = try ca.issueServingCertificate(names: names, commonName: nodeName, now: now)
        return AgentServerConfiguration(bindAddress: bindAddress, port: port, certificatePEM: serving.certificatePEM + ca.certificatePEM,
                                        privateKeyPEM: serving.privateKeyPEM, clientCAPEM: clientCAPEM)
    }
}
