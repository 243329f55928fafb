import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import CapstanControllerRuntime
import Foundation
import Logging

/// The namespace controller: when a namespace is deleted (deletionTimestamp set, `kubernetes`
/// in `spec.finalizers`), deletes every namespaced object in it (built-in resources and
/// namespaced custom resources), reports what remains in the namespace conditions, and once it
/// is empty removes its finalizer through `namespaces/NAME/finalize` so the namespace goes.
public struct NamespaceController: Controller {
    public let name = "namespace"
    /// Pause before looking again while content remains.
    public var recheck: Duration
    /// Whether to write the deletion conditions (NamespaceContentRemaining, ...) to the
    /// namespace's status while content remains.
    public var reportConditions: Bool

    public init(recheck: Duration = .milliseconds(500), reportConditions: Bool = true) {
        self.recheck = recheck
        self.reportConditions = reportConditions
    }

    public func run(context: ControllerContext) async throws {
        let namespaces = context.informers.informer(CoreV1.Namespace.self)
        let queue = WorkQueue<ObjectKey>(clock: context.clock)
        namespaces.addEventHandler { event in
            if case .deleted = event { return }
            if event.object.objectMeta.deletionTimestamp != nil { queue.add(event.object.key) }
        }
        try await namespaces.waitForSync()
        let recheck = self.recheck, reportConditions = self.reportConditions
        await queue.run(workers: context.workers) { key in
            guard let ns = namespaces.store.get(key), ns.objectMeta.deletionTimestamp != nil,
                  ns.spec?.finalizers?.contains(NamespaceCore.finalizer) == true else { return }
            if try await !NamespaceDeleter(context: context, reportConditions: reportConditions).delete(ns) {
                queue.add(key, after: recheck)
            }
        }
    }
}

/// Empties one namespace.
struct NamespaceDeleter {
    let context: ControllerContext
    var reportConditions = true

    /// Namespaced resources that can be listed and deleted: the built-in ones and served custom resources.
    func resources() async throws -> [APIResource] {
        var result = APISchema.builtIn.resources
            .filter { $0.namespaced && $0.verbs.contains("deletecollection") && $0.verbs.contains("list") }
            .map(APIResource.init)
        let crds = try await context.client.list(APIExtensionsV1.CustomResourceDefinition.self).items
        for crd in crds {
            let spec = crd.spec
            guard spec.scope == "Namespaced",
                  let version = spec.versions.first(where: { $0.storage }) ?? spec.versions.first(where: { $0.served }) else { continue }
            result.append(APIResource(group: spec.group, version: version.name, plural: spec.names.plural, kind: spec.names.kind, namespaced: true))
        }
        // Pods last among equals is not needed: deleting everything at once is what Kubernetes does.
        return result
    }

    /// One pass; true when the namespace was empty and its finalizer removed.
    func delete(_ ns: CoreV1.Namespace) async throws -> Bool {
        let name = ns.name
        var remaining = NamespaceCore.Remaining()
        for resource in try await resources() {
            do {
                _ = try await context.client.deleteCollection(resource, namespace: name)
            } catch where APIErrors.isNotFound(error) || (error as? APIError)?.code == 405 {
                continue
            } catch {
                remaining.failures[resource.description] = "\(error)"
            }
            do {
                let left = try await context.client.list(resource, namespace: name).items
                if !left.isEmpty { remaining.resources[resource.description] = left.count }
                for object in left {
                    for finalizer in object["metadata"]?["finalizers"]?.arrayValue ?? [] {
                        if let f = finalizer.stringValue { remaining.finalizers[f, default: 0] += 1 }
                    }
                }
            } catch where APIErrors.isNotFound(error) {
                continue
            }
        }
        let now = context.clock.date
        let conditions = NamespaceCore.conditions(remaining, previous: ns.status?.conditions, now: now)
        if reportConditions, conditions != ns.status?.conditions, !remaining.isEmpty {
            var updated = ns
            var status = ns.status ?? CoreV1.NamespaceStatus()
            status.conditions = conditions
            updated.status = status
            do { _ = try await context.client.updateStatus(updated) } catch where APIErrors.isConflict(error) || APIErrors.isNotFound(error) {}
        }
        guard remaining.isEmpty else { return false }
        var finalized = ns
        finalized.spec?.finalizers = NamespaceCore.finalizersAfterEmptying(ns.spec?.finalizers ?? [])
        let body = try KubeJSON.encode(finalized)
        do {
            _ = try await context.client.request(method: .put, path: CoreV1.Namespace.resource.path(name: name, subresource: "finalize"),
                                                 body: [UInt8](body))
        } catch where APIErrors.isNotFound(error) {}
        return true
    }
}
