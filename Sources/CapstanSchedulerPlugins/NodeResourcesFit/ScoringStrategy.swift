import CapstanSchedulerFramework

/// A resource and its weight in a resource score.
public struct ResourceSpec: Sendable, Hashable {
    public var name: String
    public var weight: Int64

    public init(_ name: String, weight: Int64 = 1) {
        self.name = name
        self.weight = weight
    }

    /// cpu and memory, weight 1 each: the default of both resource scores.
    public static let defaults = [ResourceSpec("cpu"), ResourceSpec("memory")]
}

/// A point of the RequestedToCapacityRatio shape: utilization 0...100 -> score 0...10.
public struct UtilizationShapePoint: Sendable, Hashable {
    public var utilization: Int64
    public var score: Int64

    public init(utilization: Int64, score: Int64) {
        self.utilization = utilization
        self.score = score
    }
}

/// How NodeResourcesFit scores nodes (`scoringStrategy` of `NodeResourcesFitArgs`).
public struct ScoringStrategy: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// Prefer nodes with more free capacity (spreading; the default).
        case leastAllocated
        /// Prefer nodes with less free capacity (bin packing).
        case mostAllocated
        /// Score by a piecewise linear function of utilization.
        case requestedToCapacityRatio([UtilizationShapePoint])
    }

    public let kind: Kind
    public let resources: [ResourceSpec]
    /// The shape with scores scaled from 0...10 to 0...100.
    private let scaledShape: [UtilizationShapePoint]

    public init(_ kind: Kind = .leastAllocated, resources: [ResourceSpec] = ResourceSpec.defaults) {
        self.kind = kind
        self.resources = resources
        if case .requestedToCapacityRatio(let shape) = kind {
            scaledShape = shape.map { UtilizationShapePoint(utilization: $0.utilization, score: $0.score * (maxNodeScore / 10)) }
        } else {
            scaledShape = []
        }
    }

    /// Combines per-resource (requested, allocatable) into a node score 0...100.
    /// Resources with allocatable 0 are left out, as Kubernetes does.
    func score(requested: UnsafeBufferPointer<Int64>, allocatable: UnsafeBufferPointer<Int64>) -> Int64 {
        switch kind {
        case .leastAllocated:
            var nodeScore: Int64 = 0, weightSum: Int64 = 0
            for i in requested.indices where allocatable[i] != 0 {
                let w = resources[i].weight
                nodeScore += Self.leastRequestedScore(requested[i], allocatable[i]) * w
                weightSum += w
            }
            return weightSum == 0 ? 0 : nodeScore / weightSum
        case .mostAllocated:
            var nodeScore: Int64 = 0, weightSum: Int64 = 0
            for i in requested.indices where allocatable[i] != 0 {
                let w = resources[i].weight
                nodeScore += Self.mostRequestedScore(requested[i], allocatable[i]) * w
                weightSum += w
            }
            return weightSum == 0 ? 0 : nodeScore / weightSum
        case .requestedToCapacityRatio:
            let scaled = scaledShape
            var nodeScore: Int64 = 0, weightSum: Int64 = 0
            for i in requested.indices where allocatable[i] != 0 {
                let w = resources[i].weight
                let utilization = requested[i] > allocatable[i] ? 100 : requested[i] * 100 / allocatable[i]
                let s = Self.brokenLinear(scaled, utilization)
                if s > 0 {
                    nodeScore += s * w
                    weightSum += w
                }
            }
            return weightSum == 0 ? 0 : Int64((Double(nodeScore) / Double(weightSum)).rounded())
        }
    }

    static func leastRequestedScore(_ requested: Int64, _ capacity: Int64) -> Int64 {
        if capacity == 0 || requested > capacity { return 0 }
        return (capacity - requested) * maxNodeScore / capacity
    }

    static func mostRequestedScore(_ requested: Int64, _ capacity: Int64) -> Int64 {
        if capacity == 0 { return 0 }
        // Pods without requests count defaults, so requested may exceed capacity.
        return min(requested, capacity) * maxNodeScore / capacity
    }

    /// Kubernetes' `BuildBrokenLinearFunction`.
    static func brokenLinear(_ shape: [UtilizationShapePoint], _ p: Int64) -> Int64 {
        for i in shape.indices where p <= shape[i].utilization {
            if i == 0 { return shape[0].score }
            let a = shape[i - 1], b = shape[i]
            return a.score + (b.score - a.score) * (p - a.utilization) / (b.utilization - a.utilization)
        }
        return shape.last?.score ?? 0
    }
}
