import CapstanAPI
import Foundation

public enum ProbeKind: String, Sendable, Hashable, CaseIterable {
    case startup, liveness, readiness
}

/// What one probe run found.
public enum ProbeOutcome: Sendable, Hashable {
    case success
    case failure(String)
}

/// One probe of one container: when it runs next, and the result it reports once the success or
/// failure threshold is reached (kubelet's prober worker, without the IO).
public struct ProbeTracker: Sendable, Hashable {
    public let kind: ProbeKind
    public let initialDelay: TimeInterval
    public let period: TimeInterval
    public let timeout: TimeInterval
    public let successThreshold: Int
    public let failureThreshold: Int
    /// The reported result: readiness starts failed, liveness starts successful, startup unknown (nil).
    public private(set) var result: Bool?
    public private(set) var lastFailure: String?
    private var lastOutcome: Bool?
    private var run = 0
    public private(set) var nextRunAt: Date?

    public init(kind: ProbeKind, probe: CoreV1.Probe) {
        self.kind = kind
        initialDelay = TimeInterval(max(0, probe.initialDelaySeconds ?? 0))
        period = TimeInterval(max(1, probe.periodSeconds ?? 10))
        timeout = TimeInterval(max(1, probe.timeoutSeconds ?? 1))
        // Liveness and startup probes must use 1 (validation enforces it); be lenient here.
        successThreshold = kind == .readiness ? Int(max(1, probe.successThreshold ?? 1)) : 1
        failureThreshold = Int(max(1, probe.failureThreshold ?? 3))
        switch kind {
        case .readiness: result = false
        case .liveness: result = true
        case .startup: result = nil
        }
    }

    /// Whether the probe should run at `now` for a container that started at `startedAt`.
    public mutating func isDue(now: Date, startedAt: Date) -> Bool {
        let first = startedAt.addingTimeInterval(initialDelay)
        if now < first { nextRunAt = first; return false }
        if let next = nextRunAt, now < next { return false }
        return true
    }

    /// Records a run at `now`; returns whether the reported result changed.
    @discardableResult
    public mutating func record(_ outcome: ProbeOutcome, now: Date) -> Bool {
        nextRunAt = now.addingTimeInterval(period)
        let ok: Bool
        switch outcome {
        case .success: ok = true
        case .failure(let message): ok = false; lastFailure = message
        }
        if ok == lastOutcome { run += 1 } else { lastOutcome = ok; run = 1 }
        if ok && run < successThreshold { return false }
        if !ok && run < failureThreshold { return false }
        let changed = result != ok
        result = ok
        if !ok && kind != .readiness {
            // The container restarts on this failure; count afresh afterwards.
            run = 0
            lastOutcome = nil
        }
        return changed
    }
}

/// The probes of one run (container id) of a container.
public struct ContainerProbes: Sendable, Hashable {
    public var containerID: String
    public var startup: ProbeTracker?
    public var liveness: ProbeTracker?
    public var readiness: ProbeTracker?

    public init(containerID: String, container: CoreV1.Container) {
        self.containerID = containerID
        startup = container.startupProbe.map { ProbeTracker(kind: .startup, probe: $0) }
        liveness = container.livenessProbe.map { ProbeTracker(kind: .liveness, probe: $0) }
        readiness = container.readinessProbe.map { ProbeTracker(kind: .readiness, probe: $0) }
    }

    /// The startup probe succeeded, or there is none.
    public var started: Bool { startup.map { $0.result == true } ?? true }
    /// The readiness probe succeeds (after startup), or there is none.
    public var ready: Bool { started && (readiness.map { $0.result == true } ?? true) }
    /// The liveness or startup probe failed: the container must be restarted.
    public var failed: (kind: ProbeKind, message: String)? {
        if let startup, startup.result == false { return (.startup, startup.lastFailure ?? "") }
        if let liveness, liveness.result == false { return (.liveness, liveness.lastFailure ?? "") }
        return nil
    }

    subscript(kind: ProbeKind) -> ProbeTracker? {
        get {
            switch kind {
            case .startup: startup
            case .liveness: liveness
            case .readiness: readiness
            }
        }
        set {
            switch kind {
            case .startup: startup = newValue
            case .liveness: liveness = newValue
            case .readiness: readiness = newValue
            }
        }
    }

    /// The probes due now: startup until it succeeds, then liveness and readiness.
    mutating func due(now: Date, startedAt: Date) -> [ProbeKind] {
        var kinds: [ProbeKind] = []
        if !started {
            if startup?.isDue(now: now, startedAt: startedAt) == true { kinds.append(.startup) }
            return kinds
        }
        if liveness?.isDue(now: now, startedAt: startedAt) == true { kinds.append(.liveness) }
        if readiness?.isDue(now: now, startedAt: startedAt) == true { kinds.append(.readiness) }
        return kinds
    }

    var nextRunAt: Date? {
        let trackers = started ? [liveness, readiness] : [startup]
        return trackers.compactMap { $0?.nextRunAt }.min()
    }
}
