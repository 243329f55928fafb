import Foundation

/// The agent's sense of time: a clock to sleep on and the wall-clock date it stands for (status
/// timestamps, back-off). Production uses the continuous clock and the system date; tests pass a
/// manual clock, whose instants map to dates from a fixed epoch.
public struct AgentClock: Sendable {
    private let sleeper: @Sendable (Duration) async throws -> Void
    private let date: @Sendable () -> Date

    public init(sleep: @escaping @Sendable (Duration) async throws -> Void, now: @escaping @Sendable () -> Date) {
        self.sleeper = sleep
        self.date = now
    }

    /// A clock whose dates advance with `clock` from `epoch`.
    public init<C: Clock>(_ clock: C, epoch: Date) where C.Duration == Duration {
        let start = clock.now
        self.sleeper = { duration in try await clock.sleep(until: clock.now.advanced(by: duration), tolerance: nil) }
        self.date = { epoch.addingTimeInterval(start.duration(to: clock.now).timeInterval) }
    }

    public static let system = AgentClock(sleep: { try await Task.sleep(for: $0) }, now: { Date() })

    public func now() -> Date { date() }
    public func sleep(for duration: Duration) async throws { try await sleeper(duration) }
}

extension Duration {
    var timeInterval: TimeInterval {
        let c = components
        return TimeInterval(c.seconds) + TimeInterval(c.attoseconds) / 1e18
    }

    init(timeInterval: TimeInterval) {
        self = .nanoseconds(Int64((timeInterval * 1e9).rounded()))
    }
}
