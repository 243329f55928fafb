import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import Foundation
import Synchronization

/// The EndpointSlice controller together with the (legacy) Endpoints controller: for every
/// Service with a selector, IPv4 EndpointSlices (``EndpointSliceCore``) and the `core/v1`
/// Endpoints object (``EndpointsCore``) listing the pods it selects. Services without a
/// selector are left to whoever manages their endpoints (the API server's `kubernetes` Service).
public struct EndpointSliceController: Controller {
    public let name = "endpointslice"

    public init() {}

    public func run(context: ControllerContext) async throws {
        let sync = EndpointSliceSync(context: context)
        sync.registerHandlers()
        try await sync.services.waitForSync()
        try await sync.pods.waitForSync()
        try await sync.slices.waitForSync()
        try await sync.endpoints.waitForSync()
        await sync.queue.run(workers: context.workers) { key in try await sync.sync(key) }
    }
}

final class EndpointSliceSync: Sendable {
    let context: ControllerContext
    let services: Informer<CoreV1.Service>
    let pods: Informer<CoreV1.Pod>
    let slices: Informer<DiscoveryV1.EndpointSlice>
    let endpoints: Informer<CoreV1.Endpoints>
    let nodes: Informer<CoreV1.Node>
    let queue: WorkQueue<ObjectKey>
    let expectations: Expectations
    /// Services seen deleted whose Endpoints object is still to be removed.
    let deletedServices = Mutex<Set<ObjectKey>>([])

    init(context: ControllerContext) {
        self.context = context
        services = context.informers.informer(CoreV1.Service.self)
        pods = context.informers.informer(CoreV1.Pod.self)
        slices = context.informers.informer(DiscoveryV1.EndpointSlice.self)
        endpoints = context.informers.informer(CoreV1.Endpoints.self)
        nodes = context.informers.informer(CoreV1.Node.self)
        queue = WorkQueue(clock: context.clock)
        expectations = Expectations(clock: context.clock)
    }

    func registerHandlers() {
        services.addEventHandler { [self] event in
            let key = event.object.key
            if case .deleted = event {
                deletedServices.withLock { _ = $0.insert(key) }
                expectations.delete(key.description)
            } else {
                deletedServices.withLock { _ = $0.remove(key) }
            }
            queue.add(key)
        }
        pods.addEventHandler { [self] event in
            switch event {
            case .added(let pod), .deleted(let pod):
                enqueueServices(selecting: pod)
            case .updated(let old, let new):
                guard Self.endpointRelevantChange(old, new) else { return }
                enqueueServices(selecting: new)
                if old.objectMeta.labels != new.objectMeta.labels { enqueueServices(selecting: old) }
            }
        }
        slices.addEventHandler { [self] event in
            let slice = event.object
            guard slice.objectMeta.labels?[EndpointSliceCore.managedByLabel] == EndpointSliceCore.controllerName,
                  let service = slice.objectMeta.labels?[EndpointSliceCore.serviceNameLabel] else { return }
            let key = ObjectKey(namespace: slice.objectMeta.namespace, name: service)
            switch event {
            case .added: expectations.creationObserved(key.description)
            case .deleted: expectations.deletionObserved(key.description)
            case .updated: break
            }
            queue.add(key)
        }
        endpoints.addEventHandler { [self] event in
            // Someone changed or removed an Endpoints object of a managed service: put it back.
            if case .added = event { return }
            if let service = services.store.get(event.object.key), EndpointSliceCore.manages(service) { queue.add(event.object.key) }
        }
    }

    /// Whether a pod update can change an endpoint: labels, IPs, readiness, phase, node, deletion, hostname.
    static func endpointRelevantChange(_ old: CoreV1.Pod, _ new: CoreV1.Pod) -> Bool {
        old.objectMeta.labels != new.objectMeta.labels || old.status?.podIP != new.status?.podIP
            || old.status?.podIPs != new.status?.podIPs || old.isReady != new.isReady || old.status?.phase != new.status?.phase
            || old.spec?.nodeName != new.spec?.nodeName || old.objectMeta.deletionTimestamp != new.objectMeta.deletionTimestamp
            || old.spec?.hostname != new.spec?.hostname || old.spec?.subdomain != new.spec?.subdomain
    }

    func enqueueServices(selecting pod: CoreV1.Pod) {
        let labels = pod.objectMeta.labels ?? [:]
        for service in services.store.list(namespace: pod.namespace ?? "") {
            guard let selector = service.spec?.selector, !selector.isEmpty,
                  selector.allSatisfy({ labels[$0.key] == $0.value }) else { continue }
            queue.add(service.key)
        }
    }

    func sync(_ key: ObjectKey) async throws {
        let service = services.store.get(key)
        let managed = service.map(EndpointSliceCore.manages) ?? false
        let ownSlices = slices.store.list(namespace: key.namespace).filter {
            $0.objectMeta.labels?[EndpointSliceCore.serviceNameLabel] == key.name
                && $0.objectMeta.labels?[EndpointSliceCore.managedByLabel] == EndpointSliceCore.controllerName
        }
        guard let service, managed else {
            // Gone, or no longer selecting: its slices go; a deleted service's Endpoints too.
            for slice in ownSlices { try await deleteSlice(slice.name, service: key) }
            if service == nil, deletedServices.withLock({ $0.remove(key) }) != nil, endpoints.store.get(key) != nil {
                do {
                    try await context.client.delete(CoreV1.Endpoints.self, name: key.name, namespace: key.namespace)
                } catch where APIErrors.isNotFound(error) {}
            }
            return
        }
        if service.objectMeta.deletionTimestamp != nil { return }
        let pods = pods.store.list(namespace: key.namespace)
        var failure: (any Error)?
        if expectations.satisfied(key.description) {
            do {
                try await syncSlices(service, pods: pods, existing: ownSlices)
            } catch {
                failure = error
                context.recorder.record(service, type: .warning, reason: "FailedToUpdateEndpointSlices",
                                        message: "Error updating Endpoint Slices for Service \(key): \(error)")
            }
        }
        do {
            try await syncEndpoints(service, pods: pods)
        } catch {
            failure = failure ?? error
            context.recorder.record(service, type: .warning, reason: "FailedToUpdateEndpoint",
                                    message: "Failed to update endpoint \(key): \(error)")
        }
        if let failure { throw failure }
    }

    func syncSlices(_ service: CoreV1.Service, pods: [CoreV1.Pod], existing: [DiscoveryV1.EndpointSlice]) async throws {
        var zones: [String: String] = [:]
        for pod in pods {
            guard let node = pod.spec?.nodeName, !node.isEmpty, zones[node] == nil,
                  let zone = nodes.store.get(namespace: nil, name: node)?.objectMeta.labels?["topology.kubernetes.io/zone"] else { continue }
            zones[node] = zone
        }
        let plan = EndpointSliceCore.plan(service: service, pods: pods, existing: existing, zones: zones)
        if plan.isEmpty { return }
        let key = service.key
        expectations.expect(key.description, adds: plan.create.count, deletes: plan.delete.count)
        for slice in plan.update {
            _ = try await context.client.update(slice)
        }
        for slice in plan.create {
            do {
                _ = try await context.client.create(slice)
            } catch {
                expectations.creationObserved(key.description)
                throw error
            }
        }
        for name in plan.delete {
            try await deleteSlice(name, service: key)
        }
    }

    func deleteSlice(_ name: String, service: ObjectKey) async throws {
        do {
            try await context.client.delete(DiscoveryV1.EndpointSlice.self, name: name, namespace: service.namespace)
        } catch where APIErrors.isNotFound(error) {
            expectations.deletionObserved(service.description)
        }
    }

    func syncEndpoints(_ service: CoreV1.Service, pods: [CoreV1.Pod]) async throws {
        switch EndpointsCore.plan(service: service, pods: pods, existing: endpoints.store.get(service.key)) {
        case .none:
            return
        case .create(let object):
            do {
                _ = try await context.client.create(object)
            } catch where APIErrors.isAlreadyExists(error) {
                // The cache lags: the informer's event brings the object and another pass.
            }
        case .update(let object):
            _ = try await context.client.update(object)
        }
    }
}
