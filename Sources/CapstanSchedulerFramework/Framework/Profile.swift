/// A scheduling profile (Kubernetes' `KubeSchedulerProfile` with "multiPoint" plugins): the
/// scheduler name pods select it by, the plugins in order (each enabled at every extension
/// point it implements), score weights and an optional percentage of nodes to score.
public struct Profile: Sendable {
    public var schedulerName: String
    public var plugins: [any Plugin]
    /// Weight of each Score plugin by name (1 when absent).
    public var scoreWeights: [String: Int64]
    /// Percentage of nodes to find feasible before scoring (nil: the scheduler's setting;
    /// 0: adaptive, 50% at 100 nodes down to 5% at 5,625 nodes).
    public var percentageOfNodesToScore: Int32?

    public init(schedulerName: String = "default-scheduler", plugins: [any Plugin], scoreWeights: [String: Int64] = [:],
                percentageOfNodesToScore: Int32? = nil) {
        self.schedulerName = schedulerName
        self.plugins = plugins
        self.scoreWeights = scoreWeights
        self.percentageOfNodesToScore = percentageOfNodesToScore
    }
}
