/// The decisions of a list-then-watch loop, without IO: list when there is no usable
/// resourceVersion, watch from the last one seen, relist when it expired, back off after failures.
///
/// The shell (``ListWatcher``) asks ``nextStep()`` what to do and reports what happened.
struct ListWatchCore: Sendable, Equatable {
    enum Step: Equatable {
        /// List everything and report it as a replacement.
        case list
        /// Watch changes after this resourceVersion.
        case watch(resourceVersion: String)
        /// Pause before the next attempt.
        case wait(Duration)
    }

    let backoff: ListWatcherBackoff
    /// The last resourceVersion seen: the list's, then each event's and bookmark's.
    private(set) var resourceVersion: String?
    private var needsList = true
    private var pendingWait: Duration?
    /// Failures since the last success, which set the pause.
    private(set) var consecutiveFailures = 0

    init(backoff: ListWatcherBackoff = .init()) {
        self.backoff = backoff
    }

    mutating func nextStep() -> Step {
        if let wait = pendingWait {
            pendingWait = nil
            return .wait(wait)
        }
        if needsList { return .list }
        guard let resourceVersion else { return .list }
        return .watch(resourceVersion: resourceVersion)
    }

    mutating func listSucceeded(resourceVersion: String) {
        self.resourceVersion = resourceVersion.isEmpty ? nil : resourceVersion
        needsList = false
        consecutiveFailures = 0
    }

    mutating func listFailed() {
        failed()
    }

    /// An event or bookmark arrived.
    mutating func observed(resourceVersion: String?) {
        if let resourceVersion, !resourceVersion.isEmpty { self.resourceVersion = resourceVersion }
        consecutiveFailures = 0
    }

    /// The server ended the watch (its timeout): watch again from where it stopped.
    mutating func watchEnded() {}

    /// The resourceVersion is too old to watch from: list again, at once.
    mutating func watchExpired() {
        needsList = true
        resourceVersion = nil
    }

    /// The watch could not start or broke: watch again from the last resourceVersion after a pause.
    mutating func watchFailed() {
        failed()
    }

    private mutating func failed() {
        consecutiveFailures += 1
        pendingWait = backoff.delay(afterFailures: consecutiveFailures)
    }
}

/// Pauses after consecutive failures: `initial`, doubled each time, at most `maximum`.
public struct ListWatcherBackoff: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration = .milliseconds(200), maximum: Duration = .seconds(30)) {
        self.initial = initial
        self.maximum = maximum
    }

    func delay(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        var delay = initial
        for _ in 1..<min(failures, 32) {
            delay *= 2
            if delay >= maximum { return maximum }
        }
        return min(delay, maximum)
    }
}
