import CapstanAPI

/// The pure part of the TTL-after-finished controller: when a finished Job with
/// `ttlSecondsAfterFinished` is due for deletion.
public enum TTLAfterFinishedCore {
    /// When the job finished: the transition time of its `Complete` or `Failed` condition
    /// (else its completionTime); nil while it runs.
    public static func finishTime(_ job: BatchV1.Job) -> Int64? {
        guard let c = job.status?.conditions?.first(where: { ($0.type == "Complete" || $0.type == "Failed") && $0.status == "True" }) else {
            return nil
        }
        return c.lastTransitionTime?.secondsSinceEpoch ?? job.status?.completionTime?.secondsSinceEpoch
    }

    /// The time the job expires; nil when it has no TTL, is not finished, or is already being deleted.
    public static func expiry(_ job: BatchV1.Job) -> Int64? {
        guard job.metadata?.deletionTimestamp == nil, let ttl = job.spec?.ttlSecondsAfterFinished, ttl >= 0,
              let finished = finishTime(job) else { return nil }
        return finished + Int64(ttl)
    }

    public enum Decision: Sendable, Equatable {
        case keep
        case delete
        case wait(seconds: Int64)
    }

    public static func decide(_ job: BatchV1.Job, now: Int64) -> Decision {
        guard let at = expiry(job) else { return .keep }
        return at <= now ? .delete : .wait(seconds: at - now)
    }
}
