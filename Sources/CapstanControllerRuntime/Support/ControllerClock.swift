import CapstanAPI
import Foundation

/// The time a controller sees: a monotonic instant (as the time elapsed since the clock was made)
/// for delays, back-off and expiry, and the wall-clock date that goes into objects
/// (`lastTransitionTime`, Lease `renewTime`, Event timestamps).
///
/// Production code uses ``continuous``; tests wrap a `ManualClock`, whose dates advance with it
/// from a fixed epoch.
public struct ControllerClock: Sendable {
    private let elapsed: @Sendable () -> Duration
    private let sleeper: @Sendable (Duration) async throws -> Void
    private let wall: @Sendable (Duration) -> Date

    /// A clock over `clock`; dates are the real date (`epoch == nil`) or `epoch` plus the time elapsed.
    public init<C: Clock>(_ clock: C, epoch: Date? = nil) where C.Duration == Duration {
        let origin = clock.now
        elapsed = { origin.duration(to: clock.now) }
        sleeper = { offset in try await clock.sleep(until: origin.advanced(by: offset), tolerance: nil) }
        if let epoch {
            wall = { offset in epoch.addingTimeInterval(offset.timeInterval) }
        } else {
            wall = { _ in Date() }
        }
    }

    /// The continuous clock and the system date.
    public static var continuous: ControllerClock { ControllerClock(ContinuousClock()) }

    /// The monotonic instant: time elapsed since the clock was made.
    public var now: Duration { elapsed() }

    /// The wall-clock date now.
    public var date: Date { wall(elapsed()) }

    /// Sleeps until the monotonic instant `deadline`; throws `CancellationError` when cancelled.
    public func sleep(until deadline: Duration) async throws {
        try await sleeper(deadline)
    }

    /// Sleeps for `duration`.
    public func sleep(for duration: Duration) async throws {
        try await sleeper(elapsed() + duration)
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    public var timeInterval: TimeInterval {
        let c = components
        return TimeInterval(c.seconds) + TimeInterval(c.attoseconds) / 1e18
    }
}

extension MetaV1.Time {
    /// The date truncated to whole seconds.
    public init(_ date: Date) {
        self.init(secondsSinceEpoch: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    public var date: Date { Date(timeIntervalSince1970: TimeInterval(secondsSinceEpoch)) }
}

extension MetaV1.MicroTime {
    /// The date truncated to microseconds.
    public init(_ date: Date) {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
        let (seconds, rest) = micros.quotientAndRemainder(dividingBy: 1_000_000)
        self.init(secondsSinceEpoch: rest < 0 ? seconds - 1 : seconds, microseconds: Int32(rest < 0 ? rest + 1_000_000 : rest))
    }

    public var date: Date {
        Date(timeIntervalSince1970: TimeInterval(secondsSinceEpoch) + TimeInterval(microseconds) / 1_000_000)
    }
}
