import CapstanContainerRuntime
import Foundation

/// What the runtime holds for one pod: its newest sandbox and every container run, indexed by
/// container name (newest attempt first).
public struct PodRuntimeState: Sendable, Hashable {
    public var sandbox: PodSandboxStatus?
    /// Older sandboxes of the same pod (to remove).
    public var staleSandboxes: [PodSandboxStatus]
    public private(set) var containers: [ContainerStatus]
    private var byName: [String: [Int]] = [:]

    public init(sandboxes: [PodSandboxStatus] = [], containers: [ContainerStatus] = []) {
        let ordered = sandboxes.sorted {
            ($0.metadata.attempt, $0.createdAt) > ($1.metadata.attempt, $1.createdAt)
        }
        sandbox = ordered.first
        staleSandboxes = Array(ordered.dropFirst())
        let current = sandbox?.id
        self.containers = containers.filter { current == nil || $0.sandboxID == current }
            .sorted { ($0.metadata.attempt, $0.createdAt) > ($1.metadata.attempt, $1.createdAt) }
        for (index, container) in self.containers.enumerated() {
            byName[container.metadata.name, default: []].append(index)
        }
    }

    /// The newest run of the container.
    public func latest(_ name: String) -> ContainerStatus? { byName[name]?.first.map { containers[$0] } }
    /// The run before the newest.
    public func previous(_ name: String) -> ContainerStatus? {
        guard let runs = byName[name], runs.count > 1 else { return nil }
        return containers[runs[1]]
    }
    /// Runs older than the previous one (garbage).
    public func older(_ name: String) -> [ContainerStatus] {
        (byName[name] ?? []).dropFirst(2).map { containers[$0] }
    }

    public var running: [ContainerStatus] { containers.filter { $0.state == .running } }
    public var names: Dictionary<String, [Int]>.Keys { byName.keys }
}
