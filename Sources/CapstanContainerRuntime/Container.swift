import struct Foundation.Date

public struct ContainerMetadata: Sendable, Hashable, Codable {
    public var name: String
    /// Restart count of this container in its pod (0 for the first run).
    public var attempt: Int

    public init(name: String, attempt: Int = 0) {
        self.name = name
        self.attempt = attempt
    }
}

public struct EnvVar: Sendable, Hashable, Codable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

public enum MountPropagation: String, Sendable, Hashable, Codable {
    /// No propagation (`rprivate`), Kubernetes' `None`.
    case `private`
    /// Host mounts show up in the container (`rslave`), Kubernetes' `HostToContainer`.
    case hostToContainer
    /// Both ways (`rshared`), Kubernetes' `Bidirectional`; needs a privileged container.
    case bidirectional
}

/// A bind mount of a host path (file or directory) into the container.
public struct Mount: Sendable, Hashable, Codable {
    public var hostPath: String
    public var containerPath: String
    public var readOnly: Bool
    public var propagation: MountPropagation

    public init(hostPath: String, containerPath: String, readOnly: Bool = false, propagation: MountPropagation = .private) {
        self.hostPath = hostPath
        self.containerPath = containerPath
        self.readOnly = readOnly
        self.propagation = propagation
    }
}

public struct Capabilities: Sendable, Hashable, Codable {
    /// Names with or without the `CAP_` prefix; "ALL" is allowed in `drop` (and `add`).
    public var add: [String]
    public var drop: [String]

    public init(add: [String] = [], drop: [String] = []) {
        self.add = add
        self.drop = drop
    }
}

public enum SeccompProfile: String, Sendable, Hashable, Codable {
    case unconfined
    case runtimeDefault
}

public struct LinuxResources: Sendable, Hashable, Codable {
    /// cgroup v1 `cpu.shares` (Kubernetes: requests.cpu millicores * 1024 / 1000, at least 2).
    public var cpuShares: UInt64?
    /// CFS quota in microseconds per `cpuPeriod` (Kubernetes: limits.cpu * period).
    public var cpuQuota: Int64?
    public var cpuPeriod: UInt64?
    public var memoryLimitBytes: Int64?
    public var pidsLimit: Int64?
    /// Clamped to >= 0 on hosts without CAP_SYS_RESOURCE.
    public var oomScoreAdj: Int?

    public init(
        cpuShares: UInt64? = nil, cpuQuota: Int64? = nil, cpuPeriod: UInt64? = nil,
        memoryLimitBytes: Int64? = nil, pidsLimit: Int64? = nil, oomScoreAdj: Int? = nil
    ) {
        self.cpuShares = cpuShares
        self.cpuQuota = cpuQuota
        self.cpuPeriod = cpuPeriod
        self.memoryLimitBytes = memoryLimitBytes
        self.pidsLimit = pidsLimit
        self.oomScoreAdj = oomScoreAdj
    }
}

public struct ContainerConfig: Sendable, Hashable, Codable {
    public var metadata: ContainerMetadata
    /// Image reference as written in the pod spec (the image must be present: pull first).
    public var image: String
    /// Kubernetes `command` (replaces the image entrypoint when not empty).
    public var command: [String]
    /// Kubernetes `args` (replace the image cmd when not empty).
    public var args: [String]
    /// Added to the image's environment; a name given here wins.
    public var env: [EnvVar]
    /// `nil`: the image's working dir, or "/".
    public var workingDir: String?
    public var mounts: [Mount]
    /// `nil`: the image's user (a name is looked up in the image's /etc/passwd).
    public var runAsUser: UInt32?
    public var runAsGroup: UInt32?
    public var supplementalGroups: [UInt32]
    /// Refuse to start when the effective user is root.
    public var runAsNonRoot: Bool
    public var capabilities: Capabilities
    public var privileged: Bool
    public var readOnlyRootFilesystem: Bool
    /// `false` sets `noNewPrivileges`. Kubernetes' default is true.
    public var allowPrivilegeEscalation: Bool
    public var seccomp: SeccompProfile
    /// `nil`: the runtime's default masked and read-only paths; `[]`: none (procMount Unmasked).
    public var maskedPaths: [String]?
    public var readonlyPaths: [String]?
    public var resources: LinuxResources
    /// CRI-format log file, written by the runtime; `nil`: output is discarded.
    public var logPath: String?
    public var tty: Bool
    public var stdin: Bool
    public var stdinOnce: Bool
    /// Signal sent first by `stopContainer` (`nil`: the image's StopSignal, else SIGTERM).
    public var stopSignal: Int32?
    public var labels: [String: String]
    public var annotations: [String: String]

    public init(
        name: String, attempt: Int = 0, image: String, command: [String] = [], args: [String] = [],
        env: [EnvVar] = [], workingDir: String? = nil, mounts: [Mount] = [],
        runAsUser: UInt32? = nil, runAsGroup: UInt32? = nil, supplementalGroups: [UInt32] = [],
        runAsNonRoot: Bool = false, capabilities: Capabilities = Capabilities(), privileged: Bool = false,
        readOnlyRootFilesystem: Bool = false, allowPrivilegeEscalation: Bool = true,
        seccomp: SeccompProfile = .unconfined, maskedPaths: [String]? = nil, readonlyPaths: [String]? = nil,
        resources: LinuxResources = LinuxResources(), logPath: String? = nil,
        tty: Bool = false, stdin: Bool = false, stdinOnce: Bool = false, stopSignal: Int32? = nil,
        labels: [String: String] = [:], annotations: [String: String] = [:]
    ) {
        self.metadata = ContainerMetadata(name: name, attempt: attempt)
        self.image = image
        self.command = command
        self.args = args
        self.env = env
        self.workingDir = workingDir
        self.mounts = mounts
        self.runAsUser = runAsUser
        self.runAsGroup = runAsGroup
        self.supplementalGroups = supplementalGroups
        self.runAsNonRoot = runAsNonRoot
        self.capabilities = capabilities
        self.privileged = privileged
        self.readOnlyRootFilesystem = readOnlyRootFilesystem
        self.allowPrivilegeEscalation = allowPrivilegeEscalation
        self.seccomp = seccomp
        self.maskedPaths = maskedPaths
        self.readonlyPaths = readonlyPaths
        self.resources = resources
        self.logPath = logPath
        self.tty = tty
        self.stdin = stdin
        self.stdinOnce = stdinOnce
        self.stopSignal = stopSignal
        self.labels = labels
        self.annotations = annotations
    }
}

public enum ContainerState: String, Sendable, Hashable, Codable {
    case created = "CONTAINER_CREATED"
    case running = "CONTAINER_RUNNING"
    case exited = "CONTAINER_EXITED"
    case unknown = "CONTAINER_UNKNOWN"
}

/// Termination reasons as Kubernetes reports them in `containerStatuses[].state.terminated.reason`.
public enum TerminationReason {
    public static let completed = "Completed"
    public static let error = "Error"
    public static let oomKilled = "OOMKilled"
    public static let containerCannotRun = "ContainerCannotRun"

    /// Completed for 0, Error otherwise; OOMKilled wins when the cgroup saw an OOM kill.
    public static func forExit(code: Int32, oomKilled: Bool) -> String {
        if oomKilled { return Self.oomKilled }
        return code == 0 ? completed : error
    }
}

public struct ContainerStatus: Sendable, Hashable, Codable {
    public var id: String
    public var sandboxID: String
    public var metadata: ContainerMetadata
    public var state: ContainerState
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Exit code (128 + signal for a signalled process); set once exited.
    public var exitCode: Int32?
    /// Completed, Error, OOMKilled, ... once exited.
    public var reason: String?
    public var message: String?
    /// Host PID of the container's init process while it runs.
    public var pid: Int32?
    /// The reference the container was created with.
    public var image: String
    /// The image id (`sha256:` of its config) the container runs.
    public var imageRef: String
    public var logPath: String?
    public var labels: [String: String]
    public var annotations: [String: String]

    public init(
        id: String, sandboxID: String, metadata: ContainerMetadata, state: ContainerState, createdAt: Date,
        startedAt: Date? = nil, finishedAt: Date? = nil, exitCode: Int32? = nil, reason: String? = nil,
        message: String? = nil, pid: Int32? = nil, image: String, imageRef: String, logPath: String? = nil,
        labels: [String: String] = [:], annotations: [String: String] = [:]
    ) {
        self.id = id
        self.sandboxID = sandboxID
        self.metadata = metadata
        self.state = state
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.exitCode = exitCode
        self.reason = reason
        self.message = message
        self.pid = pid
        self.image = image
        self.imageRef = imageRef
        self.logPath = logPath
        self.labels = labels
        self.annotations = annotations
    }
}

public struct ContainerFilter: Sendable, Hashable {
    public var id: String?
    public var sandboxID: String?
    public var state: ContainerState?
    /// Every pair must match.
    public var labelSelector: [String: String]

    public init(id: String? = nil, sandboxID: String? = nil, state: ContainerState? = nil, labelSelector: [String: String] = [:]) {
        self.id = id
        self.sandboxID = sandboxID
        self.state = state
        self.labelSelector = labelSelector
    }

    public func matches(_ status: ContainerStatus) -> Bool {
        if let id, status.id != id { return false }
        if let sandboxID, status.sandboxID != sandboxID { return false }
        if let state, status.state != state { return false }
        return labelSelector.allSatisfy { status.labels[$0.key] == $0.value }
    }
}

public struct ExecResult: Sendable, Hashable {
    public var exitCode: Int32
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    public var timedOut: Bool

    public init(exitCode: Int32, stdout: [UInt8] = [], stderr: [UInt8] = [], timedOut: Bool = false) {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
        self.timedOut = timedOut
    }

    public var stdoutString: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrString: String { String(decoding: stderr, as: UTF8.self) }
}
