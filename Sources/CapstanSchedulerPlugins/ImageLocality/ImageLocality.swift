import CapstanSchedulerFramework

/// Prefers nodes that already have the pod's container images, weighted by image size and
/// by how widely the image is spread over the cluster (Kubernetes' ImageLocality).
public final class ImageLocality: PreScorePlugin, ScorePlugin {
    public static let name = "ImageLocality"
    public var name: String { Self.name }

    static let mb: Int64 = 1024 * 1024
    /// Below this total, a node scores 0.
    static let minThreshold: Int64 = 23 * mb
    /// Per container, above this the score is maximal.
    static let maxContainerThreshold: Int64 = 1000 * mb

    final class PreScoreState: StateData {
        /// Images some node has, with the fraction of nodes having them.
        let images: [(name: String, spread: Double)]
        let containers: Int
        init(images: [(name: String, spread: Double)], containers: Int) {
            self.images = images
            self.containers = containers
        }
        func clone() -> any StateData { self }
    }
    private let preScoreKey = StateKey<PreScoreState>()

    public init() {}

    /// Skips pods none of whose images any node has (every node would score 0).
    public func preScore(state: CycleState, pod: PodInfo, nodes: [NodeInfo]) -> Status {
        let snapshot = state.snapshot
        let total = snapshot.numNodes
        guard total > 0 else { return .skip }
        var images: [(String, Double)] = []
        for image in pod.images {
            if let n = snapshot.imageNodeCounts[image], n > 0 { images.append((image, Double(n) / Double(total))) }
        }
        if images.isEmpty { return .skip }
        state.write(preScoreKey, PreScoreState(images: images, containers: pod.images.count))
        return .success
    }

    public func score(state: CycleState, pod: PodInfo, node: NodeInfo) -> Int64 {
        guard let s = state.read(preScoreKey), !node.imageSizes.isEmpty else { return 0 }
        var sum: Int64 = 0
        for (image, spread) in s.images {
            if let size = node.imageSizes[image] { sum += Int64(Double(size) * spread) }
        }
        return Self.calculatePriority(sum, containers: s.containers)
    }

    static func calculatePriority(_ sumScores: Int64, containers: Int) -> Int64 {
        let maxThreshold = maxContainerThreshold * Int64(max(containers, 1))
        let s = min(max(sumScores, minThreshold), maxThreshold)
        return maxNodeScore * (s - minThreshold) / (maxThreshold - minThreshold)
    }
}
