import CapstanAPI
import CapstanClient
import CapstanSchedulerFramework
import Logging

/// The list-watches that feed the scheduler, one task each.
enum Informers {
    static let names = ["nodes", "pods", "namespaces", "priorityclasses", "poddisruptionbudgets", "services", "replicasets",
                        "statefulsets", "replicationcontrollers"]

    static func all(client: APIClient, loop: SchedulerLoop, logger: Logger) -> [@Sendable () async -> Void] {
        return [
            {
                await watch(CoreV1.Node.self, "nodes", client, loop, logger, key: { key($0.metadata) },
                            changed: { loop.post(.nodeChanged($0)) }, deleted: { loop.post(.nodeDeleted($0)) })
            },
            {
                // Terminal pods hold no resources; kube-scheduler leaves them out the same way.
                await watch(CoreV1.Pod.self, "pods", client, loop, logger, fieldSelector: "status.phase!=Succeeded,status.phase!=Failed",
                            key: { SchedulerLoop.uid($0) },
                            changed: { loop.post(.podChanged($0)) }, deleted: { loop.post(.podDeleted($0)) })
            },
            {
                await watch(CoreV1.Namespace.self, "namespaces", client, loop, logger, key: { key($0.metadata) },
                            changed: { await loop.namespaceChanged($0) },
                            deleted: { n in await loop.apply { $0.removeNamespace(n.metadata?.name ?? "") } })
            },
            {
                await watch(SchedulingV1.PriorityClass.self, "priorityclasses", client, loop, logger, key: { key($0.metadata) },
                            changed: { await loop.priorityClassesChanged(upsert: $0) },
                            deleted: { await loop.priorityClassesChanged(delete: $0) })
            },
            {
                await watch(PolicyV1.PodDisruptionBudget.self, "poddisruptionbudgets", client, loop, logger, key: { key($0.metadata) },
                            changed: { p in await loop.apply { $0.setPodDisruptionBudget(p) } },
                            deleted: { p in let (n, m) = ns(p.metadata); await loop.apply { $0.removePodDisruptionBudget(namespace: n, name: m) } })
            },
            {
                await watch(CoreV1.Service.self, "services", client, loop, logger, key: { key($0.metadata) },
                            changed: { o in await loop.apply { $0.setService(o) } },
                            deleted: { o in let (n, m) = ns(o.metadata); await loop.apply { $0.removeService(namespace: n, name: m) } })
            },
            {
                await watch(AppsV1.ReplicaSet.self, "replicasets", client, loop, logger, key: { key($0.metadata) },
                            changed: { o in await loop.apply { $0.setReplicaSet(o) } },
                            deleted: { o in let (n, m) = ns(o.metadata); await loop.apply { $0.removeReplicaSet(namespace: n, name: m) } })
            },
            {
                await watch(AppsV1.StatefulSet.self, "statefulsets", client, loop, logger, key: { key($0.metadata) },
                            changed: { o in await loop.apply { $0.setStatefulSet(o) } },
                            deleted: { o in let (n, m) = ns(o.metadata); await loop.apply { $0.removeStatefulSet(namespace: n, name: m) } })
            },
            {
                await watch(CoreV1.ReplicationController.self, "replicationcontrollers", client, loop, logger, key: { key($0.metadata) },
                            changed: { o in await loop.apply { $0.setReplicationController(o) } },
                            deleted: { o in
                                let (n, m) = ns(o.metadata)
                                await loop.apply { $0.removeReplicationController(namespace: n, name: m) }
                            })
            },
        ]
    }

    private static func key(_ m: MetaV1.ObjectMeta?) -> String { (m?.namespace ?? "") + "/" + (m?.name ?? "") }
    private static func ns(_ m: MetaV1.ObjectMeta?) -> (String, String) { (m?.namespace ?? "", m?.name ?? "") }

    /// Lists then watches `T`, turning relists into changes and deletions of what vanished,
    /// and reports the first list to the loop.
    private static func watch<T: APIObject>(_ type: T.Type, _ name: String, _ client: APIClient, _ loop: SchedulerLoop, _ logger: Logger,
                                            fieldSelector: String? = nil, key: @Sendable (T) -> String,
                                            changed: @Sendable (T) async -> Void, deleted: @Sendable (T) async -> Void) async {
        var known: [String: T] = [:]
        var synced = false
        do {
            // Like kube-scheduler's informers, without managedFields (never read here, costly to decode).
            for try await event in ListWatcher(client: client, T.self, fieldSelector: fieldSelector, stripManagedFields: true,
                                               logger: logger) {
                switch event {
                case .replaced(let list, _):
                    var fresh: [String: T] = [:]
                    fresh.reserveCapacity(list.count)
                    for o in list {
                        fresh[key(o)] = o
                        await changed(o)
                    }
                    for (k, o) in known where fresh[k] == nil { await deleted(o) }
                    known = fresh
                    if !synced {
                        synced = true
                        await loop.synced(name)
                    }
                case .added(let o), .modified(let o):
                    known[key(o)] = o
                    await changed(o)
                case .deleted(let o):
                    known[key(o)] = nil
                    await deleted(o)
                }
            }
        } catch {
            if !Task.isCancelled { logger.error("the \(name) watch ended: \(error)") }
        }
    }
}
