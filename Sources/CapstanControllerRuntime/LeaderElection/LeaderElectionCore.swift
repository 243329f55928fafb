import CapstanAPI
import Foundation

/// Timings of leader election (kube-controller-manager's defaults).
public struct LeaderElectionConfig: Sendable, Hashable {
    /// How long a lease holds after its last renewal, as observed by the others.
    public var leaseDuration: Duration
    /// How long the leader keeps trying to renew before it gives leadership up.
    public var renewDeadline: Duration
    /// The pause between attempts to acquire or renew.
    public var retryPeriod: Duration

    public init(leaseDuration: Duration = .seconds(15), renewDeadline: Duration = .seconds(10), retryPeriod: Duration = .seconds(2)) {
        self.leaseDuration = leaseDuration
        self.renewDeadline = renewDeadline
        self.retryPeriod = retryPeriod
    }
}

/// The decisions of Lease-based leader election, without IO. A candidate reports every Lease it
/// reads (``observe(_:now:)``); the lease counts as expired when it has not changed for its
/// `leaseDurationSeconds` on the candidate's own monotonic clock (so clocks of different
/// machines never need to agree), then the candidate may take it.
public struct LeaderElectionCore: Sendable {
    public enum Decision: Sendable, Equatable {
        /// Nobody holds a lease yet: create one with this spec.
        case create(CoordinationV1.LeaseSpec)
        /// Write this spec over the observed lease (renewing, or taking an expired one).
        case update(CoordinationV1.LeaseSpec)
        /// Another candidate holds an unexpired lease.
        case wait
    }

    public let identity: String
    public let config: LeaderElectionConfig
    private(set) var observed: CoordinationV1.LeaseSpec?
    private(set) var observedAt: Duration = .zero
    private(set) var exists = false

    public init(identity: String, config: LeaderElectionConfig = .init()) {
        self.identity = identity
        self.config = config
    }

    /// The lease as last read says this candidate leads.
    public var isLeader: Bool { exists && observed?.holderIdentity == identity }

    /// Reports the lease read now (nil: there is none).
    public mutating func observe(_ spec: CoordinationV1.LeaseSpec?, now: Duration) {
        guard let spec else {
            exists = false
            observed = nil
            return
        }
        if !exists || observed != spec { observedAt = now }
        exists = true
        observed = spec
    }

    public func decide(now: Duration, date: Date) -> Decision {
        let seconds = Int32(max(1, config.leaseDuration.components.seconds))
        guard exists, let current = observed else {
            return .create(CoordinationV1.LeaseSpec(acquireTime: MetaV1.MicroTime(date), holderIdentity: identity,
                                                    leaseDurationSeconds: seconds, leaseTransitions: 0,
                                                    renewTime: MetaV1.MicroTime(date)))
        }
        let holder = current.holderIdentity ?? ""
        if holder == identity {
            var renewed = current
            renewed.renewTime = MetaV1.MicroTime(date)
            renewed.leaseDurationSeconds = seconds
            return .update(renewed)
        }
        let duration = current.leaseDurationSeconds.map { Duration.seconds(Int64($0)) } ?? config.leaseDuration
        if !holder.isEmpty && now < observedAt + duration { return .wait }
        return .update(CoordinationV1.LeaseSpec(acquireTime: MetaV1.MicroTime(date), holderIdentity: identity,
                                                leaseDurationSeconds: seconds,
                                                leaseTransitions: (current.leaseTransitions ?? 0) + (holder.isEmpty ? 0 : 1),
                                                renewTime: MetaV1.MicroTime(date)))
    }
}
