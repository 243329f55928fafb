import CapstanSchedulerFramework

/// The plugins and weights of kube-scheduler's default profile (in its order, which decides
/// which filter's reason a node reports).
public enum DefaultPlugins {
    /// Score weights of the default profile.
    public static let scoreWeights: [String: Int64] = [
        TaintToleration.name: 3,
        NodeAffinity.name: 2,
        NodeResourcesFit.name: 1,
        PodTopologySpread.name: 2,
        InterPodAffinity.name: 2,
        NodeResourcesBalancedAllocation.name: 1,
        ImageLocality.name: 1,
    ]

    /// The default plugins, freshly configured.
    public static func plugins(
        scoringStrategy: ScoringStrategy = ScoringStrategy(),
        podTopologySpread: PodTopologySpread = PodTopologySpread(),
        interPodAffinity: InterPodAffinity = InterPodAffinity(),
        preemption: DefaultPreemption = DefaultPreemption()
    ) -> [any Plugin] {
        [
            SchedulingGates(),
            PrioritySort(),
            NodeUnschedulable(),
            NodeName(),
            TaintToleration(),
            NodeAffinity(),
            NodePorts(),
            NodeResourcesFit(scoringStrategy: scoringStrategy),
            podTopologySpread,
            interPodAffinity,
            preemption,
            NodeResourcesBalancedAllocation(),
            ImageLocality(),
            DefaultBinder(),
        ]
    }

    /// The default profile under `schedulerName`.
    public static func profile(schedulerName: String = "default-scheduler", percentageOfNodesToScore: Int32? = nil,
                               scoringStrategy: ScoringStrategy = ScoringStrategy()) -> Profile {
        Profile(schedulerName: schedulerName, plugins: plugins(scoringStrategy: scoringStrategy), scoreWeights: scoreWeights,
                percentageOfNodesToScore: percentageOfNodesToScore)
    }
}
