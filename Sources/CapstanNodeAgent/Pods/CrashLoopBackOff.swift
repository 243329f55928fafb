import Foundation

/// Kubelet's restart back-off, per key (a container of a pod, or an image): the first restart
/// goes at once; each further one waits 10 s, 20 s, 40 s, ... up to 5 min, counted from the
/// container's exit. When the container ran for longer than twice the maximum (10 min) since
/// the last restart, the delay starts over.
public struct CrashLoopBackOff: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var delay: TimeInterval
        public var lastUpdate: Date
    }

    public var initial: TimeInterval
    public var maximum: TimeInterval
    public private(set) var entries: [String: Entry] = [:]

    public init(initial: TimeInterval = 10, maximum: TimeInterval = 300) {
        self.initial = initial
        self.maximum = maximum
    }

    private func expired(_ entry: Entry, at time: Date) -> Bool {
        time.timeIntervalSince(entry.lastUpdate) > 2 * maximum
    }

    /// When a restart for an exit at `eventTime` may happen, or nil when it may happen now.
    public func backOffUntil(_ key: String, since eventTime: Date, now: Date) -> Date? {
        guard let entry = entries[key], !expired(entry, at: eventTime) else { return nil }
        let until = eventTime.addingTimeInterval(entry.delay)
        return now < until ? until : nil
    }

    /// The delay that is current for `key` (what "back-off 20s" reports).
    public func delay(_ key: String) -> TimeInterval? { entries[key]?.delay }

    /// Records a restart at `now`: the next one waits twice as long (or the initial delay).
    public mutating func next(_ key: String, now: Date) {
        if let entry = entries[key], !expired(entry, at: now) {
            entries[key] = Entry(delay: min(entry.delay * 2, maximum), lastUpdate: now)
        } else {
            entries[key] = Entry(delay: initial, lastUpdate: now)
        }
    }

    public mutating func reset(_ key: String) { entries[key] = nil }
}
