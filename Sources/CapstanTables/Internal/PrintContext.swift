import CapstanAPI

/// What a printer needs besides the object: the injected current time.
struct PrintContext: Sendable {
    /// Microseconds since the epoch.
    let nowMicros: Int64

    init(now: MetaV1.MicroTime) {
        nowMicros = now.secondsSinceEpoch &* 1_000_000 &+ Int64(now.microseconds)
    }

    /// `HumanDuration(now - t)`.
    func since(micros: Int64) -> String {
        HumanDuration.format(.microseconds(nowMicros &- micros))
    }

    /// Kubernetes' `translateTimestampSince`: `<unknown>` for an absent or zero timestamp.
    func since(_ timestamp: JSONNode) -> String {
        guard let t = timestamp.timestampMicros else { return "<unknown>" }
        return since(micros: t)
    }

    /// The AGE cell of an object.
    func age(_ object: JSONNode) -> String {
        since(object["metadata"]["creationTimestamp"])
    }
}
