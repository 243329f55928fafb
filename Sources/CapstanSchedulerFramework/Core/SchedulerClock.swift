/// The clock the queue (back-off, flushes) and the cache (assumed-pod expiry) read, erased
/// from any `Clock<Duration>` so the scheduler types need not be generic. Times are durations
/// since the clock was wrapped.
///
/// Production passes `ContinuousClock()`; tests pass a manual clock and advance it.
public struct SchedulerClock: Sendable {
    private let elapsed: @Sendable () -> Duration

    public init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let origin = clock.now
        elapsed = { origin.duration(to: clock.now) }
    }

    /// Time since the clock was wrapped.
    public func now() -> Duration { elapsed() }

    /// A continuous (monotonic) clock.
    public static var continuous: SchedulerClock { SchedulerClock(ContinuousClock()) }
}

/// A small, fast, seedable generator (SplitMix64) for the tie-breaks Kubernetes leaves to
/// chance (equal scores, the preemption start offset), so runs can be reproduced.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in 0..<n (n > 0), cheaper than `Int.random(in:using:)`.
    public mutating func next(below n: Int) -> Int {
        Int(truncatingIfNeeded: next() % UInt64(n))
    }
}
