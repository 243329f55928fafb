import struct Foundation.Date

/// Where a pod-level namespace comes from.
public enum NamespaceMode: String, Sendable, Hashable, Codable {
    /// Shared by the containers of the pod (the default for network, IPC and UTS).
    case pod
    /// Each container has its own (the default for PID).
    case container
    /// The node's namespace (hostNetwork, hostPID, hostIPC).
    case node
}

public struct NamespaceOptions: Sendable, Hashable, Codable {
    public var network: NamespaceMode
    public var pid: NamespaceMode
    public var ipc: NamespaceMode

    public init(network: NamespaceMode = .pod, pid: NamespaceMode = .container, ipc: NamespaceMode = .pod) {
        self.network = network
        self.pid = pid
        self.ipc = ipc
    }
}

public struct PodSandboxMetadata: Sendable, Hashable, Codable {
    public var name: String
    public var namespace: String
    public var uid: String
    public var attempt: Int

    public init(name: String, namespace: String, uid: String, attempt: Int = 0) {
        self.name = name
        self.namespace = namespace
        self.uid = uid
        self.attempt = attempt
    }
}

public struct PodSandboxConfig: Sendable, Hashable, Codable {
    public var metadata: PodSandboxMetadata
    public var hostname: String
    /// Directory under which the agent puts container log files (informational).
    public var logDirectory: String?
    public var namespaces: NamespaceOptions
    /// A network namespace made by the caller (bind-mounted file such as `/run/netns/x`).
    /// `nil` with `namespaces.network == .pod`: the runtime creates one.
    public var networkNamespacePath: String?
    /// Parent cgroup of the pod's containers (relative, e.g. "kubepods/burstable/pod<uid>").
    /// `nil`: the runtime's default parent.
    public var cgroupParent: String?
    public var labels: [String: String]
    public var annotations: [String: String]
    /// Sysctls applied to every container of the pod (namespaced ones only).
    public var sysctls: [String: String]

    public init(
        metadata: PodSandboxMetadata, hostname: String = "", logDirectory: String? = nil,
        namespaces: NamespaceOptions = NamespaceOptions(), networkNamespacePath: String? = nil,
        cgroupParent: String? = nil, labels: [String: String] = [:], annotations: [String: String] = [:],
        sysctls: [String: String] = [:]
    ) {
        self.metadata = metadata
        self.hostname = hostname
        self.logDirectory = logDirectory
        self.namespaces = namespaces
        self.networkNamespacePath = networkNamespacePath
        self.cgroupParent = cgroupParent
        self.labels = labels
        self.annotations = annotations
        self.sysctls = sysctls
    }
}

public enum PodSandboxState: String, Sendable, Hashable, Codable {
    case ready = "SANDBOX_READY"
    case notReady = "SANDBOX_NOTREADY"
}

public struct PodSandboxStatus: Sendable, Hashable, Codable {
    public var id: String
    public var metadata: PodSandboxMetadata
    public var state: PodSandboxState
    public var createdAt: Date
    /// The network namespace the pod's containers join (`nil` for hostNetwork).
    public var networkNamespacePath: String?
    /// Whether the runtime made the network namespace (and deletes it).
    public var ownsNetworkNamespace: Bool
    public var labels: [String: String]
    public var annotations: [String: String]

    public init(
        id: String, metadata: PodSandboxMetadata, state: PodSandboxState, createdAt: Date,
        networkNamespacePath: String?, ownsNetworkNamespace: Bool,
        labels: [String: String] = [:], annotations: [String: String] = [:]
    ) {
        self.id = id
        self.metadata = metadata
        self.state = state
        self.createdAt = createdAt
        self.networkNamespacePath = networkNamespacePath
        self.ownsNetworkNamespace = ownsNetworkNamespace
        self.labels = labels
        self.annotations = annotations
    }
}

public struct PodSandboxFilter: Sendable, Hashable {
    public var id: String?
    public var state: PodSandboxState?
    /// Every pair must match.
    public var labelSelector: [String: String]

    public init(id: String? = nil, state: PodSandboxState? = nil, labelSelector: [String: String] = [:]) {
        self.id = id
        self.state = state
        self.labelSelector = labelSelector
    }

    public func matches(_ status: PodSandboxStatus) -> Bool {
        if let id, status.id != id { return false }
        if let state, status.state != state { return false }
        return labelSelector.allSatisfy { status.labels[$0.key] == $0.value }
    }
}
