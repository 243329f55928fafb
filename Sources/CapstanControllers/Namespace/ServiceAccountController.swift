import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import CapstanControllerRuntime

/// Ensures every active namespace has the `default` ServiceAccount (kube-controller-manager's
/// `serviceaccount` controller), creating it again when it is deleted.
public struct ServiceAccountController: Controller {
    public let name = "serviceaccount"

    public init() {}

    public func run(context: ControllerContext) async throws {
        try await ensureInEveryNamespace(context: context, objectName: "default", CoreV1.ServiceAccount.self) { namespace in
            CoreV1.ServiceAccount(metadata: MetaV1.ObjectMeta(name: "default", namespace: namespace))
        }
    }
}

/// Publishes the cluster CA in every active namespace as the `kube-root-ca.crt` ConfigMap
/// (data `ca.crt`), as kube-controller-manager's `root-ca-cert-publisher`; restores it when it is
/// changed or deleted. Does nothing without a CA.
public struct RootCACertPublisher: Controller {
    public let name = "root-ca-cert-publisher"
    public static let configMapName = "kube-root-ca.crt"

    public init() {}

    public func run(context: ControllerContext) async throws {
        guard let ca = context.clusterCAPEM else { return }
        try await ensureInEveryNamespace(context: context, objectName: Self.configMapName, CoreV1.ConfigMap.self,
                                         isCurrent: { $0.data?["ca.crt"] == ca }) { namespace in
            CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(annotations: ["kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."],
                                                         name: Self.configMapName, namespace: namespace),
                             data: ["ca.crt": ca])
        }
    }
}

/// Keeps one object named `objectName` in every namespace that is not terminating: created when
/// missing, replaced (keeping its metadata) when `isCurrent` says it drifted.
func ensureInEveryNamespace<T: APIObject>(context: ControllerContext, objectName: String, _ type: T.Type,
                                          isCurrent: @escaping @Sendable (T) -> Bool = { _ in true },
                                          make: @escaping @Sendable (String) -> T) async throws {
    let namespaces = context.informers.informer(CoreV1.Namespace.self)
    let objects = context.informers.informer(T.self)
    let queue = WorkQueue<String>(clock: context.clock)
    namespaces.addEventHandler { event in
        if case .added(let ns) = event { queue.add(ns.name) }
    }
    objects.addEventHandler { event in
        guard event.object.name == objectName, let ns = event.object.namespace else { return }
        queue.add(ns)
    }
    try await namespaces.waitForSync()
    try await objects.waitForSync()
    await queue.run(workers: context.workers) { namespace in
        guard let ns = namespaces.store.get(namespace: nil, name: namespace), ns.objectMeta.deletionTimestamp == nil,
              ns.status?.phase != "Terminating" else { return }
        let desired = make(namespace)
        if let existing = objects.store.get(namespace: namespace, name: objectName) {
            guard !isCurrent(existing) else { return }
            var replaced = desired
            replaced.objectMeta = existing.objectMeta
            do { _ = try await context.client.update(replaced) } catch where APIErrors.isNotFound(error) {}
            return
        }
        do {
            _ = try await context.client.create(desired)
        } catch where APIErrors.isAlreadyExists(error) {
        } catch let error as APIError where error.code == 403 || error.reason == .forbidden {
            // The namespace started terminating meanwhile.
        }
    }
}
