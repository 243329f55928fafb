import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import Foundation
import Logging
import Synchronization

/// Runs work only while this process holds a coordination.k8s.io/v1 Lease, so that of several
/// servers exactly one runs it (``LeaderElectionCore`` decides; this shell reads and writes the
/// Lease with resourceVersion preconditions). On losing the lease the work is cancelled and the
/// elector competes again; on cancellation it gives the lease up so another takes over at once.
public final class LeaderElector: Sendable {
    public let name: String
    public let namespace: String
    public let identity: String
    public let config: LeaderElectionConfig
    private let client: APIClient
    private let clock: ControllerClock
    private let logger: Logger
    private let core: Mutex<LeaderElectionCore>

    public init(client: APIClient, name: String, namespace: String = "kube-system", identity: String,
                config: LeaderElectionConfig = .init(), clock: ControllerClock = .continuous, logger: Logger? = nil) {
        self.client = client
        self.name = name
        self.namespace = namespace
        self.identity = identity
        self.config = config
        self.clock = clock
        self.logger = logger ?? Logger(label: "capstan.controllers")
        self.core = Mutex(LeaderElectionCore(identity: identity, config: config))
    }

    /// True while the last read or write of the lease made this candidate the holder.
    public var isLeader: Bool { core.withLock { $0.isLeader } }

    /// Competes for the lease and runs `work` while holding it, again after each loss, until
    /// `work` returns (then the lease is released and this returns) or the task is cancelled.
    public func run(_ work: @escaping @Sendable () async throws -> Void) async throws {
        while !Task.isCancelled {
            guard await acquire() else { break }
            logger.info("\(identity) leads \(namespace)/\(name)")
            let finished = try await lead(work)
            if finished {
                await releaseUncancelled()
                return
            }
            logger.warning("\(identity) lost the lease \(namespace)/\(name)")
        }
        await releaseUncancelled()
    }

    /// Releases from a task of its own: the caller may be cancelled, the release must still be sent.
    private func releaseUncancelled() async {
        await Task { await self.release() }.value
    }

    /// Tries until it holds the lease; false when cancelled.
    private func acquire() async -> Bool {
        while !Task.isCancelled {
            if await tryAcquireOrRenew() { return true }
            do { try await clock.sleep(for: config.retryPeriod) } catch { return false }
        }
        return false
    }

    /// Runs `work` while renewing; true when `work` finished, false when the lease was lost.
    private func lead(_ work: @escaping @Sendable () async throws -> Void) async throws -> Bool {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await work()
                return true
            }
            group.addTask {
                var lastRenewal = self.clock.now
                while !Task.isCancelled {
                    do { try await self.clock.sleep(for: self.config.retryPeriod) } catch { return true }
                    if await self.tryAcquireOrRenew() {
                        lastRenewal = self.clock.now
                    } else if self.clock.now - lastRenewal >= self.config.renewDeadline || !self.isLeader {
                        return false
                    }
                }
                return true
            }
            let first = try await group.next() ?? true
            group.cancelAll()
            // Wait for the other task to stop; a work error after the loss is not ours to report.
            while let _ = try? await group.next() {}
            return first
        }
    }

    /// One read, decision and write; true when this candidate holds the lease afterwards.
    func tryAcquireOrRenew() async -> Bool {
        do {
            var lease: CoordinationV1.Lease?
            do {
                lease = try await client.get(CoordinationV1.Lease.self, name: name, namespace: namespace)
            } catch let error as APIError where error.code == 404 {
                lease = nil
            }
            let now = clock.now
            let date = clock.date
            let decision = core.withLock { core -> LeaderElectionCore.Decision in
                core.observe(lease.map { $0.spec ?? CoordinationV1.LeaseSpec() }, now: now)
                return core.decide(now: now, date: date)
            }
            let written: CoordinationV1.Lease
            switch decision {
            case .wait:
                return false
            case .create(let spec):
                written = try await client.create(CoordinationV1.Lease(metadata: MetaV1.ObjectMeta(name: name, namespace: namespace), spec: spec))
            case .update(let spec):
                guard var updated = lease else { return false }
                updated.spec = spec
                written = try await client.update(updated)
            }
            core.withLock { $0.observe(written.spec, now: now) }
            return true
        } catch {
            logger.debug("\(identity): lease \(namespace)/\(name) not acquired: \(error)")
            return false
        }
    }

    /// Gives the lease up if held, so another candidate need not wait for it to expire.
    private func release() async {
        guard isLeader else { return }
        do {
            var lease = try await client.get(CoordinationV1.Lease.self, name: name, namespace: namespace)
            guard lease.spec?.holderIdentity == identity else { return }
            lease.spec?.holderIdentity = nil
            lease.spec?.leaseDurationSeconds = 1
            lease.spec?.renewTime = MetaV1.MicroTime(clock.date)
            let written = try await client.update(lease)
            core.withLock { $0.observe(written.spec, now: clock.now) }
        } catch {
            logger.debug("\(identity): could not release lease \(namespace)/\(name): \(error)")
        }
    }
}
