import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import CapstanSchedulerFramework
import Foundation
import Synchronization

/// A write other than a binding: a pod's PodScheduled condition and nomination, an eviction,
/// an event.
enum StatusWrite: Sendable {
    /// Sets `condition` (when given) and `status.nominatedNodeName` (`.some(nil)` clears it,
    /// `.none` leaves it).
    case condition(PodInfo, CoreV1.PodCondition?, nominatedNodeName: String??)
    /// Marks a preemption victim with the DisruptionTarget condition, then deletes it.
    case evict(PodInfo, CoreV1.PodCondition)
    case event(PodInfo, type: String, reason: String, message: String)
}

extension Scheduler {
    func perform(_ write: StatusWrite) async {
        let pods = CoreV1.Pod.resource
        do {
            switch write {
            case .condition(let pod, let condition, let nomination):
                _ = try await client.patch(pods, name: pod.name, namespace: pod.namespace,
                                       .strategicMerge(Self.statusPatch(condition: condition, nominatedNodeName: nomination)),
                                       subresource: "status")
            case .evict(let victim, let condition):
                _ = try? await client.patch(pods, name: victim.name, namespace: victim.namespace,
                                            .strategicMerge(Self.statusPatch(condition: condition, nominatedNodeName: .none)),
                                            subresource: "status")
                try await client.delete(pods, name: victim.name, namespace: victim.namespace,
                                        options: DeleteOptions(preconditionUID: victim.uid))
                stats.withLock { $0.victimsDeleted += 1 }
            case .event(let pod, let type, let reason, let message):
                defer { pendingEvents.subtract(1, ordering: .relaxed) }
                _ = try await client.create(CoreV1.Event.resource, event(for: pod, type: type, reason: reason, message: message),
                                        namespace: pod.namespace)
                stats.withLock { $0.eventsWritten += 1 }
            }
        } catch let e as APIError where e.reason == .notFound || e.reason == .conflict {
            // The pod is gone or changed; its next event decides again.
        } catch {
            if Task.isCancelled { return }
            stats.withLock { $0.writeErrors += 1 }
            logger.debug("scheduler write failed: \(error)")
        }
    }

    static func statusPatch(condition: CoreV1.PodCondition?, nominatedNodeName: String??) -> JSONValue {
        var status: [String: JSONValue] = [:]
        if let c = condition {
            var o: [String: JSONValue] = ["type": .string(c.type), "status": .string(c.status),
                                          "lastProbeTime": .null, "lastTransitionTime": .string(EventNames.now())]
            if let r = c.reason { o["reason"] = .string(r) }
            if let m = c.message { o["message"] = .string(m) }
            status["conditions"] = .array([.object(o)])
        }
        if let nominatedNodeName {
            status["nominatedNodeName"] = nominatedNodeName.map { .string($0) } ?? .null
        }
        return .object(["status": .object(status)])
    }

    /// A core/v1 Event about `pod`, as kube-scheduler records it.
    func event(for pod: PodInfo, type: String, reason: String, message: String) -> JSONValue {
        let now = EventNames.now()
        let component = "default-scheduler"
        var involved: [String: JSONValue] = ["apiVersion": .string("v1"), "kind": .string("Pod"), "namespace": .string(pod.namespace),
                                             "name": .string(pod.name)]
        if let uid = pod.pod.metadata?.uid { involved["uid"] = .string(uid) }
        if let rv = pod.pod.metadata?.resourceVersion { involved["resourceVersion"] = .string(rv) }
        return .object([
            "apiVersion": .string("v1"), "kind": .string("Event"),
            "metadata": .object(["name": .string(EventNames.next(for: pod.name)), "namespace": .string(pod.namespace)]),
            "involvedObject": .object(involved),
            "reason": .string(reason), "message": .string(message), "type": .string(type),
            "source": .object(["component": .string(component)]),
            "reportingComponent": .string(component), "reportingInstance": .string(configuration.instanceName),
            "firstTimestamp": .string(now), "lastTimestamp": .string(now), "count": .int(1),
        ])
    }
}

/// Unique event names (`<pod>.<hex>`, as client-go makes them) and timestamps.
enum EventNames {
    private static let counter = Atomic<UInt64>(0)

    static func next(for podName: String) -> String {
        let nanos = UInt64(max(0, Date().timeIntervalSince1970 * 1e9))
        let n = counter.add(1, ordering: .relaxed).newValue
        return podName + "." + String(nanos &+ n, radix: 16)
    }

    static func now() -> String {
        MetaV1.Time(secondsSinceEpoch: Int64(Date().timeIntervalSince1970)).rfc3339
    }
}
