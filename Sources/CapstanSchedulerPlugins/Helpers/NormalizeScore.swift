import CapstanSchedulerFramework

/// Kubernetes' `helper.DefaultNormalizeScore`: scales scores so the largest becomes
/// `maxPriority` (all `maxPriority` when reversing an all-zero list), optionally reversed.
func defaultNormalizeScore(maxPriority: Int64 = maxNodeScore, reverse: Bool, scores: inout [Int64]) {
    var maxCount: Int64 = 0
    for s in scores where s > maxCount { maxCount = s }
    if maxCount == 0 {
        if reverse {
            for i in scores.indices { scores[i] = maxPriority }
        }
        return
    }
    for i in scores.indices {
        var s = maxPriority * scores[i] / maxCount
        if reverse { s = maxPriority - s }
        scores[i] = s
    }
}
