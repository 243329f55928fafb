import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import Foundation
import Logging

/// Registers the Node, reports its status and renews its Lease (the shell around
/// ``NodeStatusCore`` and ``NodeLeaseCore``).
public actor NodeRegistrar {
    public struct Settings: Sendable {
        public var nodeName: String
        public var rootDirectory: String
        public var maxPods: Int
        public var extraLabels: [String: String]
        public var endpointPort: Int32?
        /// How often the status is written even when nothing changed.
        public var statusReportInterval: Duration

        public init(nodeName: String, rootDirectory: String, maxPods: Int = 110, extraLabels: [String: String] = [:],
                    endpointPort: Int32? = nil, statusReportInterval: Duration = .seconds(60)) {
            self.nodeName = nodeName
            self.rootDirectory = rootDirectory
            self.maxPods = maxPods
            self.extraLabels = extraLabels
            self.endpointPort = endpointPort
            self.statusReportInterval = statusReportInterval
        }
    }

    private let client: APIClient
    private let settings: Settings
    private var facts: HostFacts
    private let clock: AgentClock
    private let usage: @Sendable () -> HostUsage
    private let logger: Logger
    private var lastStatus: CoreV1.NodeStatus?
    private var lastReport: Date?
    private var lease: CoordinationV1.Lease?
    public private(set) var node: CoreV1.Node?

    public init(client: APIClient, settings: Settings, facts: HostFacts, clock: AgentClock = .system,
                usage: (@Sendable () -> HostUsage)? = nil, logger: Logger) {
        self.client = client
        self.settings = settings
        var facts = facts
        facts.hostname = settings.nodeName
        self.facts = facts
        self.clock = clock
        let root = settings.rootDirectory
        self.usage = usage ?? { HostUsage.sample(rootDirectory: root) }
        self.logger = logger
    }

    /// Creates the Node, or takes over an existing one (labels merged in, status rewritten).
    // Swift 6.3.1's LLVM coroutine splitting crashes (signal 11) on this function optimized.
    @_optimize(none)
    @discardableResult
    public func register() async throws -> CoreV1.Node {
        let now = clock.now()
        do {
            var existing = try await client.get(CoreV1.Node.self, name: settings.nodeName)
            let wanted = NodeStatusCore.labels(nodeName: settings.nodeName, facts: facts).merging(settings.extraLabels) { _, b in b }
            var labels = existing.metadata?.labels ?? [:]
            if wanted.contains(where: { labels[$0.key] != $0.value }) {
                labels.merge(wanted) { _, b in b }
                existing = try await client.patch(CoreV1.Node.self, name: settings.nodeName,
                                                  .merge(.object(["metadata": .object(["labels": try .encoding(labels)])])))
            }
            node = existing
            lastStatus = existing.status
            try await reportStatus(force: true)
        } catch let error as APIError where error.code == 404 {
            let fresh = NodeStatusCore.newNode(name: settings.nodeName, facts: facts, extraLabels: settings.extraLabels,
                                               maxPods: settings.maxPods, endpointPort: settings.endpointPort, usage: usage(), now: now)
            var created = try await client.create(fresh)
            // The create drops status on some servers: write it through the subresource as kubelet does.
            if created.status?.nodeInfo == nil {
                created = try await client.patch(CoreV1.Node.self, name: settings.nodeName,
                                                 .merge(.object(["status": try .encoding(fresh.status)])), subresource: "status")
            }
            node = created
            lastStatus = created.status
            lastReport = now
            logger.info("registered node", metadata: ["node": "\(settings.nodeName)"])
        }
        return node!
    }

    /// Writes the status when it changed beyond heartbeats, or when the report interval passed.
    // Swift 6.3.1's LLVM coroutine splitting crashes (signal 11) on this function optimized.
    @_optimize(none)
    public func reportStatus(force: Bool = false) async throws {
        let now = clock.now()
        let status = NodeStatusCore.status(facts: facts, usage: usage(), maxPods: settings.maxPods,
                                           endpointPort: settings.endpointPort, previous: lastStatus, now: now)
        let due = lastReport.map { now.timeIntervalSince($0) >= settings.statusReportInterval.timeInterval } ?? true
        guard force || due || NodeStatusCore.differsBeyondHeartbeat(lastStatus, status) else { return }
        let updated = try await client.patch(CoreV1.Node.self, name: settings.nodeName,
                                             .merge(.object(["status": try .encoding(status)])), subresource: "status")
        node = updated
        lastStatus = updated.status ?? status
        lastReport = now
    }

    /// Creates or renews the Lease.
    public func renewLease() async throws {
        let now = clock.now()
        let name = settings.nodeName
        if let current = lease {
            do {
                lease = try await client.update(NodeLeaseCore.renewed(current, nodeName: name, now: now))
                return
            } catch let error as APIError where error.code == 409 || error.code == 404 {
                lease = nil
            }
        }
        do {
            let current = try await client.get(CoordinationV1.Lease.self, name: name, namespace: NodeLeaseCore.namespace)
            lease = try await client.update(NodeLeaseCore.renewed(current, nodeName: name, now: now))
        } catch let error as APIError where error.code == 404 {
            let fresh = NodeLeaseCore.lease(nodeName: name, nodeUID: node?.metadata?.uid, now: now)
            do {
                lease = try await client.create(fresh)
            } catch let error as APIError where error.code == 404 {
                // The namespace is missing (a bare API server): create it, then the lease.
                _ = try? await client.create(CoreV1.Namespace(metadata: MetaV1.ObjectMeta(name: NodeLeaseCore.namespace)))
                lease = try await client.create(fresh)
            }
        }
    }

    /// Renews the lease every 10 s and reports status, until cancelled. Failures are logged and retried.
    public func run() async {
        while !Task.isCancelled {
            do {
                if node == nil { try await register() }
                try await renewLease()
                try await reportStatus()
            } catch is CancellationError {
                return
            } catch {
                logger.warning("node heartbeat failed", metadata: ["error": "\(error)"])
            }
            do { try await clock.sleep(for: NodeLeaseCore.renewInterval) } catch { return }
        }
    }

    public var currentLease: CoordinationV1.Lease? { lease }
}
