import Foundation
import Synchronization

/// In-memory reference implementation of `ContainerRuntime` and `ImageService`, for pure
/// tests of the node agent. Nothing runs: a container's behaviour comes from its command.
///
/// Commands the fake understands (first argument "fake"):
/// - `fake exit N`: exits with code N as soon as it starts
/// - `fake echo TEXT...`: writes TEXT as one stdout line to the log, then exits 0
/// - `fake oom`: exits 137 with reason OOMKilled
/// - `fake ignore-term`: keeps running on SIGTERM (stop escalates to SIGKILL: exit 137)
/// - `fake cat`: with `stdin`, writes what is attached to its stdin to the log, line by line;
///   exits 0 when stdin is closed (`stdinOnce`)
/// - anything else: runs until stopped (exit 143 on SIGTERM)
/// The same forms work for `execSync`; `fake hang` there runs until the timeout. `exec`
/// streams them (see `FakeExecSession`, which adds `fake cat`).
/// Tests drive the rest with `exit(_:code:reason:)`, `failNext(_:with:)` and `addImage`.
public final class FakeContainerRuntime: ContainerRuntime, ImageService {
    public enum Operation: String, Sendable, Hashable {
        case runPodSandbox, stopPodSandbox, removePodSandbox
        case createContainer, startContainer, stopContainer, removeContainer, execSync, exec, attachStdin
        case pullImage, removeImage
    }

    /// One recorded call (operation and the id or reference it was about).
    public struct Call: Sendable, Hashable {
        public var operation: Operation
        public var target: String
    }

    private struct Sandbox {
        var status: PodSandboxStatus
        var config: PodSandboxConfig
    }

    private struct Container {
        var status: ContainerStatus
        var config: ContainerConfig
        var arguments: [String]
    }

    private struct State {
        var sandboxes: [String: Sandbox] = [:]
        var containers: [String: Container] = [:]
        var images: [String: ImageStatus] = [:]
        /// Normalized reference (tag or digest form) -> image id.
        var references: [String: String] = [:]
        /// References pullImage can fetch.
        var registry: [String: ImageStatus] = [:]
        var failures: [Operation: [RuntimeError]] = [:]
        var calls: [Call] = []
        var nextID = 1
        var nextPID: Int32 = 1000
        var startDelay: Duration = .zero
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> Date

    /// `now` stamps created/started/finished times (inject a manual clock's date in tests).
    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    // MARK: Test controls

    /// Makes `reference` present locally (and pullable). Returns its status.
    @discardableResult
    public func addImage(_ reference: String, config: ImageRuntimeConfig = ImageRuntimeConfig(cmd: ["fake", "run"]), id: String? = nil) -> ImageStatus {
        state.withLock { state in
            let status = Self.makeImage(reference, config: config, id: id, state: &state)
            Self.store(status, reference: reference, state: &state)
            return status
        }
    }

    /// Makes `reference` available to `pullImage` without being present locally.
    public func addRemoteImage(_ reference: String, config: ImageRuntimeConfig = ImageRuntimeConfig(cmd: ["fake", "run"]), id: String? = nil) {
        state.withLock { state in
            state.registry[reference] = Self.makeImage(reference, config: config, id: id, state: &state)
        }
    }

    /// The next call of `operation` fails with `error` (queued; one error per call).
    public func failNext(_ operation: Operation, with error: RuntimeError) {
        state.withLock { $0.failures[operation, default: []].append(error) }
    }

    /// Every later `startContainer` takes `delay` before the container runs (as a real runtime's
    /// start takes time, during which the pod's earlier status write lands).
    public func delayStarts(by delay: Duration) {
        state.withLock { $0.startDelay = delay }
    }

    /// Simulates the container's process exiting.
    public func exit(_ id: String, code: Int32, reason: String? = nil) {
        let date = now()
        state.withLock { state in
            guard var container = state.containers[id], container.status.state == .running else { return }
            Self.finish(&container, code: code, reason: reason ?? TerminationReason.forExit(code: code, oomKilled: false), at: date)
            state.containers[id] = container
        }
    }

    public var calls: [Call] { state.withLock { $0.calls } }

    /// The configuration a container was created with (mounts, env, ...).
    public func config(ofContainer id: String) -> ContainerConfig? { state.withLock { $0.containers[id]?.config } }

    public func resetCalls() { state.withLock { $0.calls.removeAll() } }

    // MARK: ContainerRuntime

    public func version() async throws -> RuntimeVersion {
        RuntimeVersion(runtimeName: "fake", runtimeVersion: "1.0.0")
    }

    public func runPodSandbox(_ config: PodSandboxConfig) async throws -> String {
        let date = now()
        return try state.withLock { state throws(RuntimeError) in
            try Self.record(.runPodSandbox, config.metadata.name, &state)
            let id = "sandbox-\(state.nextID)"
            state.nextID += 1
            let owns = config.namespaces.network == .pod && config.networkNamespacePath == nil
            let netns: String? = switch config.namespaces.network {
            case .node: nil
            default: config.networkNamespacePath ?? "/run/netns/fake-\(id)"
            }
            let status = PodSandboxStatus(
                id: id, metadata: config.metadata, state: .ready, createdAt: date, networkNamespacePath: netns,
                ownsNetworkNamespace: owns, labels: config.labels, annotations: config.annotations
            )
            state.sandboxes[id] = Sandbox(status: status, config: config)
            return id
        }
    }

    public func stopPodSandbox(_ id: String, timeout: Duration) async throws {
        let date = now()
        try state.withLock { state throws(RuntimeError) in
            try Self.record(.stopPodSandbox, id, &state)
            guard state.sandboxes[id] != nil else { return }
            for (cid, var container) in state.containers where container.status.sandboxID == id {
                Self.stop(&container, at: date)
                state.containers[cid] = container
            }
            state.sandboxes[id]?.status.state = .notReady
        }
    }

    public func removePodSandbox(_ id: String) async throws {
        let date = now()
        try state.withLock { state throws(RuntimeError) in
            try Self.record(.removePodSandbox, id, &state)
            guard state.sandboxes.removeValue(forKey: id) != nil else { return }
            for (cid, var container) in state.containers where container.status.sandboxID == id {
                Self.stop(&container, at: date)
                state.containers[cid] = nil
            }
        }
    }

    public func podSandboxStatus(_ id: String) async throws -> PodSandboxStatus {
        try state.withLock { state throws(RuntimeError) in
            guard let sandbox = state.sandboxes[id] else { throw RuntimeError(.notFound, "pod sandbox \(id) not found") }
            return sandbox.status
        }
    }

    public func listPodSandboxes(_ filter: PodSandboxFilter) async throws -> [PodSandboxStatus] {
        state.withLock { state in
            state.sandboxes.values.map(\.status).filter(filter.matches).sorted { $0.id < $1.id }
        }
    }

    public func createContainer(in sandboxID: String, _ config: ContainerConfig) async throws -> String {
        let date = now()
        return try state.withLock { state throws(RuntimeError) in
            try Self.record(.createContainer, config.metadata.name, &state)
            guard let sandbox = state.sandboxes[sandboxID] else { throw RuntimeError(.notFound, "pod sandbox \(sandboxID) not found") }
            guard sandbox.status.state == .ready else { throw RuntimeError(.failedPrecondition, "pod sandbox \(sandboxID) is not ready") }
            guard let image = Self.lookup(config.image, state) else {
                throw RuntimeError(.imageNotFound, "image \(config.image) is not present")
            }
            let arguments = try config.resolvedArguments(image: image.config)
            let id = "container-\(state.nextID)"
            state.nextID += 1
            let status = ContainerStatus(
                id: id, sandboxID: sandboxID, metadata: config.metadata, state: .created, createdAt: date,
                image: config.image, imageRef: image.id, logPath: config.logPath, labels: config.labels, annotations: config.annotations
            )
            state.containers[id] = Container(status: status, config: config, arguments: arguments)
            return id
        }
    }

    public func startContainer(_ id: String) async throws {
        let delay = state.withLock { $0.startDelay }
        if delay > .zero { try await Task.sleep(for: delay) }
        let date = now()
        let echo: (String, String)? = try state.withLock { state throws(RuntimeError) in
            try Self.record(.startContainer, id, &state)
            guard var container = state.containers[id] else { throw RuntimeError(.notFound, "container \(id) not found") }
            guard container.status.state == .created else {
                throw RuntimeError(.failedPrecondition, "container \(id) is \(container.status.state.rawValue), not created")
            }
            container.status.state = .running
            container.status.startedAt = date
            container.status.pid = state.nextPID
            state.nextPID += 1
            var echo: (String, String)?
            let args = container.arguments
            if args.first == "fake", args.count >= 2 {
                switch args[1] {
                case "exit": Self.finish(&container, code: Int32(args.dropFirst(2).first ?? "0") ?? 1, reason: nil, at: date)
                case "oom": Self.finish(&container, code: 137, reason: TerminationReason.oomKilled, at: date)
                case "echo":
                    if let path = container.config.logPath { echo = (path, args.dropFirst(2).joined(separator: " ")) }
                    Self.finish(&container, code: 0, reason: nil, at: date)
                default: break
                }
            }
            state.containers[id] = container
            return echo
        }
        if let (path, text) = echo {
            let line = CRILog.format(timestamp: CRILog.timestamp(date), stream: .stdout, partial: false, content: Array(text.utf8))
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            if let handle = FileHandle(forWritingAtPath: path) {
                handle.seekToEndOfFile()
                handle.write(Data(line))
                try? handle.close()
            }
        }
    }

    public func stopContainer(_ id: String, timeout: Duration) async throws {
        let date = now()
        try state.withLock { state throws(RuntimeError) in
            try Self.record(.stopContainer, id, &state)
            guard var container = state.containers[id] else { return }
            Self.stop(&container, at: date)
            state.containers[id] = container
        }
    }

    public func removeContainer(_ id: String) async throws {
        let date = now()
        try state.withLock { state throws(RuntimeError) in
            try Self.record(.removeContainer, id, &state)
            guard var container = state.containers[id] else { return }
            Self.stop(&container, at: date)
            state.containers[id] = nil
        }
    }

    public func containerStatus(_ id: String) async throws -> ContainerStatus {
        try state.withLock { state throws(RuntimeError) in
            guard let container = state.containers[id] else { throw RuntimeError(.notFound, "container \(id) not found") }
            return container.status
        }
    }

    public func listContainers(_ filter: ContainerFilter) async throws -> [ContainerStatus] {
        state.withLock { state in
            state.containers.values.map(\.status).filter(filter.matches).sorted { $0.id < $1.id }
        }
    }

    public func execSync(_ id: String, command: [String], timeout: Duration) async throws -> ExecResult {
        try state.withLock { state throws(RuntimeError) in
            try Self.record(.execSync, id, &state)
            guard let container = state.containers[id] else { throw RuntimeError(.notFound, "container \(id) not found") }
            guard container.status.state == .running else { throw RuntimeError(.failedPrecondition, "container \(id) is not running") }
        }
        guard command.first == "fake", command.count >= 2 else { return ExecResult(exitCode: 0) }
        switch command[1] {
        case "exit": return ExecResult(exitCode: Int32(command.dropFirst(2).first ?? "0") ?? 1)
        case "echo": return ExecResult(exitCode: 0, stdout: Array((command.dropFirst(2).joined(separator: " ") + "\n").utf8))
        case "hang": return ExecResult(exitCode: 137, timedOut: true)
        default: return ExecResult(exitCode: 0)
        }
    }

    public func exec(_ id: String, _ request: ExecRequest) async throws -> any ExecSession {
        try state.withLock { state throws(RuntimeError) in
            try Self.record(.exec, id, &state)
            guard let container = state.containers[id] else { throw RuntimeError(.notFound, "container \(id) not found") }
            guard container.status.state == .running else { throw RuntimeError(.failedPrecondition, "container \(id) is not running") }
        }
        guard !request.command.isEmpty else { throw RuntimeError(.invalidArgument, "exec needs a command") }
        return FakeExecSession(request)
    }

    public func attachStdin(_ id: String) async throws -> any ContainerInput {
        try state.withLock { state throws(RuntimeError) in
            try Self.record(.attachStdin, id, &state)
            guard let container = state.containers[id] else { throw RuntimeError(.notFound, "container \(id) not found") }
            guard container.status.state == .running else { throw RuntimeError(.failedPrecondition, "container \(id) is not running") }
            guard container.config.stdin else { throw RuntimeError(.failedPrecondition, "container \(id) was not created with stdin") }
        }
        return FakeContainerInput(runtime: self, id: id)
    }

    /// `fake cat` copies stdin to its log; other commands ignore it.
    fileprivate func receiveStdin(_ id: String, _ bytes: [UInt8]) throws(RuntimeError) {
        let date = now()
        let target: String? = try state.withLock { state throws(RuntimeError) in
            guard let container = state.containers[id], container.status.state == .running else {
                throw RuntimeError(.failedPrecondition, "stdin of \(id) is closed")
            }
            return container.arguments == ["fake", "cat"] ? container.config.logPath : nil
        }
        guard let target else { return }
        var data = Data()
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            data += CRILog.format(timestamp: CRILog.timestamp(date), stream: .stdout, partial: false, content: Array(line))
        }
        Self.appendLog(target, data)
    }

    fileprivate func closeStdin(_ id: String) {
        let stdinOnce = state.withLock { $0.containers[id]?.config.stdinOnce ?? false }
        let cat = state.withLock { $0.containers[id]?.arguments == ["fake", "cat"] }
        if stdinOnce, cat { exit(id, code: 0) }
    }

    private static func appendLog(_ path: String, _ data: Data) {
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(data)
            try? handle.close()
        }
    }

    // MARK: ImageService

    public func pullImage(_ reference: String, auth: RegistryAuth?) async throws -> ImageStatus {
        try state.withLock { state throws(RuntimeError) in
            try Self.record(.pullImage, reference, &state)
            if let image = Self.lookup(reference, state) { return image }
            guard let remote = state.registry[reference] else {
                throw RuntimeError(.imageNotFound, "\(reference): not found in registry")
            }
            Self.store(remote, reference: reference, state: &state)
            return state.images[remote.id] ?? remote
        }
    }

    public func imageStatus(_ reference: String) async throws -> ImageStatus? {
        state.withLock { Self.lookup(reference, $0) }
    }

    public func listImages() async throws -> [ImageStatus] {
        state.withLock { $0.images.values.sorted { $0.id < $1.id } }
    }

    public func removeImage(_ reference: String) async throws {
        try state.withLock { state throws(RuntimeError) in
            try Self.record(.removeImage, reference, &state)
            guard let image = Self.lookup(reference, state) else { return }
            state.images[image.id] = nil
            state.references = state.references.filter { $0.value != image.id }
        }
    }

    // MARK: Helpers

    private static func record(_ operation: Operation, _ target: String, _ state: inout State) throws(RuntimeError) {
        state.calls.append(Call(operation: operation, target: target))
        if var queue = state.failures[operation], !queue.isEmpty {
            let error = queue.removeFirst()
            state.failures[operation] = queue
            throw error
        }
    }

    private static func makeImage(_ reference: String, config: ImageRuntimeConfig, id: String?, state: inout State) -> ImageStatus {
        let id = id ?? "sha256:" + String(repeating: "0", count: 56) + String(format: "%08x", state.nextID)
        state.nextID += 1
        return ImageStatus(id: id, repoTags: [reference], repoDigests: [], size: 1024, config: config)
    }

    private static func store(_ image: ImageStatus, reference: String, state: inout State) {
        var image = image
        if let existing = state.images[image.id] {
            image.repoTags = Array(Set(existing.repoTags + image.repoTags)).sorted()
        }
        state.images[image.id] = image
        state.references[reference] = image.id
    }

    private static func lookup(_ reference: String, _ state: State) -> ImageStatus? {
        if let image = state.images[reference] { return image }
        return state.references[reference].flatMap { state.images[$0] }
    }

    private static func finish(_ container: inout Container, code: Int32, reason: String?, at date: Date) {
        container.status.state = .exited
        container.status.exitCode = code
        container.status.reason = reason ?? TerminationReason.forExit(code: code, oomKilled: false)
        container.status.finishedAt = date
        container.status.pid = nil
    }

    private static func stop(_ container: inout Container, at date: Date) {
        switch container.status.state {
        case .running:
            let ignoresTerm = container.arguments.starts(with: ["fake", "ignore-term"])
            finish(&container, code: ignoresTerm ? 137 : 143, reason: nil, at: date)
        case .created:
            container.status.state = .exited
            container.status.finishedAt = date
        case .exited, .unknown:
            break
        }
    }
}

/// One attach session's use of a fake container's stdin.
private struct FakeContainerInput: ContainerInput {
    let runtime: FakeContainerRuntime
    let id: String

    func write(_ bytes: [UInt8]) async throws {
        try runtime.receiveStdin(id, bytes)
    }

    func close() async {
        runtime.closeStdin(id)
    }
}
