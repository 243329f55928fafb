/// Kubernetes' `duration.HumanDuration`: a short, two-unit rendering of an elapsed time as the
/// AGE column shows it ("59s", "3m20s", "10m", "7h59m", "3d4h", "45d", "2y30d").
///
/// Up to 2 minutes it counts seconds; up to 10 minutes minutes and seconds; up to 3 hours
/// minutes; up to 8 hours hours and minutes; up to 2 days hours; up to 8 days days and hours;
/// up to 2 years days; up to 8 years years and days; beyond that years. A duration of at
/// least one second into the future reads `<invalid>`; less reads `0s` (clock skew).
public enum HumanDuration {
    public static func format(_ duration: Duration) -> String {
        format(nanoseconds: nanoseconds(of: duration))
    }

    /// The same for a Go `time.Duration` count of nanoseconds.
    public static func format(nanoseconds d: Int64) -> String {
        let seconds = d / 1_000_000_000
        if seconds < -1 { return "<invalid>" }
        if seconds < 0 { return "0s" }
        if seconds < 60 * 2 { return "\(seconds)s" }
        let minutes = d / 60_000_000_000
        if minutes < 10 {
            let s = seconds % 60
            return s == 0 ? "\(minutes)m" : "\(minutes)m\(s)s"
        }
        if minutes < 60 * 3 { return "\(minutes)m" }
        let hours = d / 3_600_000_000_000
        if hours < 8 {
            let m = minutes % 60
            return m == 0 ? "\(hours)h" : "\(hours)h\(m)m"
        }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 {
            let h = hours % 24
            return h == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(h)h"
        }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        if hours < 24 * 365 * 8 {
            let dy = (hours / 24) % 365
            return dy == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(dy)d"
        }
        return "\(hours / 24 / 365)y"
    }

    /// Whole nanoseconds, truncated toward zero and saturated to `Int64` as Go's durations are.
    static func nanoseconds(of duration: Duration) -> Int64 {
        let (s, atto) = duration.components
        let (scaled, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return s < 0 ? .min : .max }
        let (sum, overflow2) = scaled.addingReportingOverflow(atto / 1_000_000_000)
        if overflow2 { return s < 0 ? .min : .max }
        return sum
    }
}
