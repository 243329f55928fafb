import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import Foundation

/// The pod garbage collector: every ``period`` (and when a node goes) it deletes terminated
/// pods above ``terminatedThreshold`` (oldest first), pods of nodes that no longer exist
/// (after checking with the API server that the node is really gone) and unscheduled pods
/// that are being deleted; the last two with a zero grace period, as no kubelet will finish them.
public struct PodGCController: Controller {
    public let name = "pod-garbage-collector"
    public var terminatedThreshold: Int
    public var period: Duration

    public init(terminatedThreshold: Int = PodGCCore.defaultTerminatedThreshold, period: Duration = .seconds(20)) {
        self.terminatedThreshold = terminatedThreshold
        self.period = period
    }

    public func run(context: ControllerContext) async throws {
        let pods = context.informers.informer(CoreV1.Pod.self)
        let nodes = context.informers.informer(CoreV1.Node.self)
        let queue = WorkQueue<String>(clock: context.clock)
        nodes.addEventHandler { event in
            if case .deleted = event { queue.add("gc") }
        }
        try await pods.waitForSync()
        try await nodes.waitForSync()
        let threshold = terminatedThreshold
        await withDiscardingTaskGroup { group in
            group.addTask {
                await queue.run(workers: 1) { _ in
                    try await Self.collect(context: context, pods: pods.store.list(), nodes: nodes, threshold: threshold)
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    queue.add("gc")
                    do { try await context.clock.sleep(for: period) } catch { return }
                }
            }
        }
    }

    static func collect(context: ControllerContext, pods: [CoreV1.Pod], nodes: Informer<CoreV1.Node>, threshold: Int) async throws {
        let plan = PodGCCore.plan(pods: pods, nodeExists: { nodes.store.get(namespace: nil, name: $0) != nil },
                                  terminatedThreshold: threshold)
        if plan.isEmpty { return }
        for pod in plan.terminated {
            try await delete(pod, context: context, force: false)
        }
        var goneNodes: [String: Bool] = [:]
        for pod in plan.orphaned {
            let node = pod.spec?.nodeName ?? ""
            if goneNodes[node] == nil {
                // The cache may lag behind a node's creation: ask the server.
                do {
                    _ = try await context.client.get(CoreV1.Node.self, name: node)
                    goneNodes[node] = false
                } catch where APIErrors.isNotFound(error) {
                    goneNodes[node] = true
                }
            }
            guard goneNodes[node] == true else { continue }
            context.logger.info("deleting pod \(pod.key) of deleted node \(node)")
            try await delete(pod, context: context, force: true)
        }
        for pod in plan.unscheduledTerminating {
            try await delete(pod, context: context, force: true)
        }
    }

    static func delete(_ pod: CoreV1.Pod, context: ControllerContext, force: Bool) async throws {
        do {
            try await context.client.delete(CoreV1.Pod.self, name: pod.name, namespace: pod.namespace,
                                            options: DeleteOptions(gracePeriodSeconds: force ? 0 : nil, preconditionUID: pod.objectMeta.uid))
        } catch where APIErrors.isNotFound(error) || APIErrors.isConflict(error) {}
    }
}
