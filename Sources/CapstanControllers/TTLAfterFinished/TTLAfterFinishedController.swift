import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import Foundation

/// The TTL-after-finished controller: deletes finished Jobs `ttlSecondsAfterFinished` after
/// they finished (foreground propagation, so their pods go first), as Kubernetes does.
public struct TTLAfterFinishedController: Controller {
    public let name = "ttl-after-finished"

    public init() {}

    public func run(context: ControllerContext) async throws {
        let jobs = context.informers.informer(BatchV1.Job.self)
        let queue = WorkQueue<ObjectKey>(clock: context.clock)
        jobs.addEventHandler { event in
            if case .deleted = event { return }
            if TTLAfterFinishedCore.expiry(event.object) != nil { queue.add(event.object.key) }
        }
        try await jobs.waitForSync()
        await queue.run(workers: context.workers) { key in
            guard let cached = jobs.store.get(key) else { return }
            let now = Int64(context.clock.date.timeIntervalSince1970.rounded(.down))
            switch TTLAfterFinishedCore.decide(cached, now: now) {
            case .keep:
                return
            case .wait(let seconds):
                queue.add(key, after: .seconds(seconds))
            case .delete:
                // The cache may lag: check the TTL on the latest object before deleting.
                let job = try await context.client.get(BatchV1.Job.self, name: key.name, namespace: key.namespace)
                guard TTLAfterFinishedCore.decide(job, now: now) == .delete else {
                    queue.add(key)
                    return
                }
                do {
                    try await context.client.delete(BatchV1.Job.self, name: key.name, namespace: key.namespace,
                                                    options: DeleteOptions(propagationPolicy: .foreground, preconditionUID: job.objectMeta.uid,
                                                                           preconditionResourceVersion: job.objectMeta.resourceVersion))
                } catch where APIErrors.isNotFound(error) {}
            }
        }
    }
}
