/// The CRI-like interface the node agent drives. One implementation talks to runc/crun
/// (`OCIRuntime` in CapstanRuntimeOCI); `FakeContainerRuntime` is the in-memory reference
/// implementation; `ContainerRuntimeConformance` checks any implementation.
///
/// Pod sandboxes own the pod-level namespaces. The network namespace is decided by the
/// caller: pass `PodSandboxConfig.networkNamespacePath` (the agent's network code created
/// it, e.g. `/run/netns/<name>`) and the runtime only joins it; leave it `nil` and the
/// runtime creates and deletes one itself (reported in `PodSandboxStatus.networkNamespacePath`).
/// With `network: .node` (hostNetwork) no namespace is created or joined.
///
/// Containers are created in a sandbox, started, stopped (SIGTERM, then SIGKILL after the
/// timeout) and removed. Their stdout/stderr go to `ContainerConfig.logPath` in the CRI log
/// format (`<RFC3339Nano> stdout|stderr F|P <line>`), written by the runtime.
///
/// All identifiers are opaque strings chosen by the runtime. Errors are `RuntimeError`.
public protocol ContainerRuntime: Sendable {
    /// Name and version of the runtime (e.g. "runc", "1.1.5").
    func version() async throws -> RuntimeVersion

    // MARK: Sandboxes
    func runPodSandbox(_ config: PodSandboxConfig) async throws -> String
    /// Stops every container of the sandbox (with `timeout` as their grace period) and
    /// releases the namespaces the runtime created. Idempotent.
    func stopPodSandbox(_ id: String, timeout: Duration) async throws
    /// Removes a stopped sandbox and all its containers. Idempotent (unknown id is not an error).
    func removePodSandbox(_ id: String) async throws
    func podSandboxStatus(_ id: String) async throws -> PodSandboxStatus
    func listPodSandboxes(_ filter: PodSandboxFilter) async throws -> [PodSandboxStatus]

    // MARK: Containers
    func createContainer(in sandboxID: String, _ config: ContainerConfig) async throws -> String
    func startContainer(_ id: String) async throws
    /// Sends SIGTERM (or the image's stop signal), waits up to `timeout`, then SIGKILL; returns
    /// once the container has exited. A container that is not running is left as it is.
    func stopContainer(_ id: String, timeout: Duration) async throws
    /// Removes a container that is not running (stop it first). Idempotent.
    func removeContainer(_ id: String) async throws
    func containerStatus(_ id: String) async throws -> ContainerStatus
    func listContainers(_ filter: ContainerFilter) async throws -> [ContainerStatus]
    /// Runs `command` in a running container and collects its output (exec probes).
    /// A command still running after `timeout` is killed and `ExecResult.timedOut` is set.
    func execSync(_ id: String, command: [String], timeout: Duration) async throws -> ExecResult
    /// Starts `request.command` in a running container and streams it (`kubectl exec`).
    /// Throws `notFound` for an unknown container, `failedPrecondition` when it is not running,
    /// `invalidArgument` for an empty command; a command that cannot be started ends with
    /// exit code 126/127 and the runtime's message on stderr.
    func exec(_ id: String, _ request: ExecRequest) async throws -> any ExecSession
    /// The stdin of a running container created with `ContainerConfig.stdin` (`kubectl attach
    /// -i`); its output is in its log. Throws `notFound`, or `failedPrecondition` when the
    /// container is not running or has no stdin.
    func attachStdin(_ id: String) async throws -> any ContainerInput
}

/// Image management the agent drives (pull before create; GC).
public protocol ImageService: Sendable {
    /// Pulls (or finds) the image and returns its status. `auth` is used for the registry
    /// of `reference` (imagePullSecrets already resolved by the caller).
    func pullImage(_ reference: String, auth: RegistryAuth?) async throws -> ImageStatus
    /// The image if it is present locally, `nil` otherwise. `reference` may be a name,
    /// a name with tag or digest, or an image id (`sha256:...`).
    func imageStatus(_ reference: String) async throws -> ImageStatus?
    func listImages() async throws -> [ImageStatus]
    /// Removes the image's references and, when nothing else uses them, its content.
    /// Unknown image is not an error.
    func removeImage(_ reference: String) async throws
}

public struct RuntimeVersion: Sendable, Hashable, Codable {
    public var runtimeName: String
    public var runtimeVersion: String

    public init(runtimeName: String, runtimeVersion: String) {
        self.runtimeName = runtimeName
        self.runtimeVersion = runtimeVersion
    }
}
