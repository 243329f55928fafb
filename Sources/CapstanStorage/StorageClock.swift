/// The clock a backend measures lease TTLs with, erased from any `Clock<Duration>` so
/// backends need not be generic. Times are durations since the clock was wrapped.
///
/// Production passes `ContinuousClock()`; tests pass a manual clock and advance it.
public struct StorageClock: Sendable {
    private let elapsed: @Sendable () -> Duration
    private let sleeper: @Sendable (Duration) async throws -> Void

    public init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let origin = clock.now
        self.elapsed = { origin.duration(to: clock.now) }
        self.sleeper = { deadline in try await clock.sleep(until: origin.advanced(by: deadline), tolerance: nil) }
    }

    /// Time since the clock was wrapped.
    public func now() -> Duration { elapsed() }

    /// Sleeps until `now()` reaches `deadline`; throws `CancellationError` when cancelled.
    public func sleep(until deadline: Duration) async throws {
        try await sleeper(deadline)
    }
}
