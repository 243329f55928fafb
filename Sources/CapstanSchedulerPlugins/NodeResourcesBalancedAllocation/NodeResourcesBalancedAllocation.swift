import CapstanSchedulerFramework

/// Prefers nodes whose resource usage stays balanced across resources once the pod is
/// placed: score = (1 - standard deviation of the requested fractions) x 100 (Kubernetes'
/// NodeResourcesBalancedAllocation). Best-effort pods are not scored.
public final class NodeResourcesBalancedAllocation: PreScorePlugin, ScorePlugin {
    public static let name = "NodeResourcesBalancedAllocation"
    public var name: String { Self.name }

    public let resources: [ResourceSpec]
    let scorer: ResourceScorer

    public init(resources: [ResourceSpec] = ResourceSpec.defaults) {
        self.resources = resources
        scorer = ResourceScorer(resources: resources, useRequested: true)
    }

    /// Skips pods that request nothing, so they do not all pile onto one node.
    public func preScore(state: CycleState, pod: PodInfo, nodes: [NodeInfo]) -> Status {
        scorer.podRequests(pod).allSatisfy { $0 == 0 } ? .skip : .success
    }

    public func score(state: CycleState, pod: PodInfo, node: NodeInfo) -> Int64 {
        scorer.withRequests(pod: pod, node: node) { requested, allocatable in
            Self.balancedScore(requested: requested, allocatable: allocatable)
        }
    }

    static func balancedScore(requested: UnsafeBufferPointer<Int64>, allocatable: UnsafeBufferPointer<Int64>) -> Int64 {
        var n = 0
        var total = 0.0
        var f0 = 0.0, f1 = 0.0
        for i in 0..<requested.count where allocatable[i] != 0 {
            let f = min(Double(requested[i]) / Double(allocatable[i]), 1)
            if n == 0 { f0 = f } else if n == 1 { f1 = f }
            total += f
            n += 1
        }
        var std = 0.0
        if n == 2 {
            std = abs((f0 - f1) / 2)
        } else if n > 2 {
            let mean = total / Double(n)
            var sum = 0.0
            for i in 0..<requested.count where allocatable[i] != 0 {
                let f = min(Double(requested[i]) / Double(allocatable[i]), 1)
                sum += (f - mean) * (f - mean)
            }
            std = (sum / Double(n)).squareRoot()
        }
        return Int64((1 - std) * Double(maxNodeScore))
    }
}
