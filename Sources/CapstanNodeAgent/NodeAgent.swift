import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import CapstanContainerRuntime
import CapstanControllerRuntime
import Foundation
import Logging
import Synchronization

/// The node agent (kubelet's job): registers the Node and keeps its Lease, watches the pods
/// bound to it (`spec.nodeName=NAME`), runs one ``PodWorker`` per pod, and serves container logs.
///
/// ```swift
/// let agent = NodeAgent(client: client, configuration: .init(nodeName: "node-1", rootDirectory: dir),
///                       runtime: runtime, imageService: images, logger: logger)
/// try await agent.run()   // until the task is cancelled
/// ```
/// Cancelling `run()` stops watching; containers keep running (the next agent adopts them by
/// their labels) unless ``NodeAgentConfiguration/stopPodsOnExit`` is set.
public final class NodeAgent: Sendable {
    public let client: APIClient
    public let configuration: NodeAgentConfiguration
    public let runtime: any ContainerRuntime
    public let imageService: any ImageService
    let logger: Logger
    private let workers = Mutex<[String: (worker: PodWorker, task: Task<Void, Never>)]>([:])
    /// `namespace/name` → uid, for the log endpoint.
    private let podIndex = Mutex<[String: String]>([:])
    /// Counts the pods taken on, in order: their places at the start gate.
    private let arrivals = Atomic<UInt64>(0)
    private let boundPort = Mutex<Int?>(nil)

    public init(client: APIClient, configuration: NodeAgentConfiguration, runtime: any ContainerRuntime,
                imageService: any ImageService, logger: Logger) {
        self.client = client
        self.configuration = configuration
        self.runtime = runtime
        self.imageService = imageService
        self.logger = logger
    }

    /// The port the log endpoint listens on, once it does.
    public var serverPort: Int? { boundPort.withLock { $0 } }

    public func run() async throws {
        let clock = configuration.clock
        try FileManager.default.createDirectory(atPath: configuration.podsDirectory, withIntermediateDirectories: true)
        let version = try await runtime.version()
        let facts = HostFacts.probe(rootDirectory: configuration.rootDirectory,
                                    runtimeVersion: "\(version.runtimeName)://\(version.runtimeVersion)")

        var server: AgentServer?
        if let serverConfiguration = configuration.server {
            let started = try await AgentServer.start(configuration: serverConfiguration, logs: ContainerLogSource(agent: self),
                                                    streams: ContainerStreams(agent: self), logger: logger)
            boundPort.withLock { $0 = started.port }
            server = started
        }
        let registrar = NodeRegistrar(
            client: client,
            settings: .init(nodeName: configuration.nodeName, rootDirectory: configuration.rootDirectory, maxPods: configuration.maxPods,
                            extraLabels: configuration.extraLabels, endpointPort: server.map { Int32($0.port) }),
            facts: facts, clock: clock, logger: logger)
        let node: CoreV1.Node
        do { node = try await registrar.register() } catch {
            await server?.stop()
            throw error
        }

        var network: BridgeNetwork?
        if case .bridge(let bridge, let prefix) = configuration.network {
            let cidr = NodeStatusCore.podCIDR(of: node, default: configuration.defaultPodCIDR)
            let bridgeNetwork: BridgeNetwork
            do {
                bridgeNetwork = try BridgeNetwork(settings: .init(bridgeName: bridge, podCIDR: cidr,
                                                                   stateDirectory: configuration.rootDirectory + "/ipam", namespacePrefix: prefix))
                try await bridgeNetwork.ensureBridge()
            } catch {
                await server?.stop()
                throw error
            }
            network = bridgeNetwork
        }
        let events = EventRecorder(client: client, component: "kubelet", host: configuration.nodeName, logger: logger)
        let context = PodWorker.Context(client: client, runtime: runtime, images: imageService, network: network,
                                        configuration: configuration, runtimeName: version.runtimeName, hostIP: facts.internalIP,
                                        logger: logger, events: events,
                                        startGate: configuration.parallelStarts > 0 ? StartGate(width: configuration.parallelStarts) : nil)
        let eventWriter = Task { await events.run() }
        defer { eventWriter.cancel() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await registrar.run() }
            group.addTask { await self.watchPods(context: context) }
            await group.next()
            group.cancelAll()
        }
        let running = workers.withLock { workers in
            defer { workers.removeAll() }
            return workers.values.map { $0 }
        }
        for entry in running { entry.task.cancel() }
        for entry in running { await entry.task.value }
        if configuration.stopPodsOnExit {
            // Not cancelled with run(): the pods' containers and sandboxes must be released.
            await Task {
                await withDiscardingTaskGroup { group in
                    for entry in running { group.addTask { await entry.worker.stopAll() } }
                }
            }.value
        }
        await server?.stop()
    }

    private func watchPods(context: PodWorker.Context) async {
        let watcher = ListWatcher(client: client, CoreV1.Pod.self, fieldSelector: "spec.nodeName=\(configuration.nodeName)",
                                  logger: logger)
        var adoptedOrphans = false
        do {
            for try await event in watcher {
                switch event {
                case .replaced(let pods, _):
                    let uids = Set(pods.compactMap { $0.metadata?.uid })
                    let gone = workers.withLock { $0.keys.filter { !uids.contains($0) } }
                    for uid in gone { await workers.withLock { $0[uid]?.worker }?.markRemoved() }
                    for pod in pods { await upsert(pod, context: context) }
                    if !adoptedOrphans {
                        adoptedOrphans = true
                        await removeOrphans(known: uids, network: context.network)
                        configuration.onStarted?()
                    }
                case .added(let pod), .modified(let pod):
                    await upsert(pod, context: context)
                case .deleted(let pod):
                    if let uid = pod.metadata?.uid { await workers.withLock { $0[uid]?.worker }?.markRemoved() }
                }
            }
        } catch {
            if !(error is CancellationError) { logger.error("pod watch ended", metadata: ["error": "\(error)"]) }
        }
    }

    private func upsert(_ pod: CoreV1.Pod, context: PodWorker.Context) async {
        guard let uid = pod.metadata?.uid, !uid.isEmpty else { return }
        if let existing = workers.withLock({ $0[uid]?.worker }) {
            await existing.update(pod)
            return
        }
        // A pod that finished before this agent saw it needs no worker.
        if pod.status?.phase == "Succeeded" || pod.status?.phase == "Failed", pod.metadata?.deletionTimestamp == nil {
            let state = try? await runtime.listContainers(ContainerFilter(labelSelector: [AgentLabels.podUID: uid]))
            if state?.isEmpty ?? true { return }
        }
        let worker = PodWorker(pod: pod, context: context, arrival: arrivals.add(1, ordering: .relaxed).oldValue)
        let key = "\(pod.metadata?.namespace ?? "")/\(pod.metadata?.name ?? "")"
        podIndex.withLock { $0[key] = uid }
        let task = Task {
            await worker.run()
            self.workers.withLock { _ = $0.removeValue(forKey: uid) }
            self.podIndex.withLock { index in if index[key] == uid { index[key] = nil } }
        }
        workers.withLock { $0[uid] = (worker, task) }
    }

    /// Sandboxes of pods this node no longer has (deleted while no agent ran) are stopped and removed.
    private func removeOrphans(known: Set<String>, network: BridgeNetwork?) async {
        guard let sandboxes = try? await runtime.listPodSandboxes(PodSandboxFilter(labelSelector: [AgentLabels.managed: "true"])) else { return }
        for sandbox in sandboxes where !known.contains(sandbox.metadata.uid) {
            logger.info("removing sandbox of a pod that is gone", metadata: ["pod": "\(sandbox.metadata.namespace)/\(sandbox.metadata.name)"])
            try? await runtime.stopPodSandbox(sandbox.id, timeout: .seconds(0))
            try? await runtime.removePodSandbox(sandbox.id)
            try? await network?.tearDown(podUID: sandbox.metadata.uid)
        }
        for uid in network?.allocatedPods ?? [] where !known.contains(uid) { try? await network?.tearDown(podUID: uid) }
    }

    /// The uid of the pod `namespace/name` this agent runs.
    func podUID(namespace: String, name: String) -> String? { podIndex.withLock { $0["\(namespace)/\(name)"] } }

    /// The IP of the pod `namespace/name` this agent runs (for port-forward), once it has one.
    func podAddress(namespace: String, name: String) async -> String? {
        guard let uid = podUID(namespace: namespace, name: name), let worker = workers.withLock({ $0[uid]?.worker }) else { return nil }
        return await worker.address
    }
}
