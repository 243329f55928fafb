import CapstanAPI
import CapstanClient
import CapstanAPIMachinery
import Foundation

/// Pod predicates controllers share (as Kubernetes' podutil): active, ready, available.
extension CoreV1.Pod {
    /// Not finished (Succeeded/Failed) and not being deleted.
    public var isActive: Bool {
        let phase = status?.phase
        return phase != "Succeeded" && phase != "Failed" && objectMeta.deletionTimestamp == nil
    }

    public var isTerminating: Bool { objectMeta.deletionTimestamp != nil }

    /// The `Ready` condition, if reported.
    public var readyCondition: CoreV1.PodCondition? {
        status?.conditions?.first(where: { $0.type == "Ready" })
    }

    public var isReady: Bool { readyCondition?.status == "True" }

    /// Ready for at least `minReadySeconds` at `now`.
    public func isAvailable(minReadySeconds: Int32, now: Date) -> Bool {
        guard let ready = readyCondition, ready.status == "True" else { return false }
        if minReadySeconds <= 0 { return true }
        guard let since = ready.lastTransitionTime else { return false }
        return since.date.addingTimeInterval(TimeInterval(minReadySeconds)) <= now
    }
}

/// Owner references as controllers write and read them.
extension MetaV1.ObjectMeta {
    /// The owner reference with `controller: true`.
    public var controllerRef: MetaV1.OwnerReference? {
        ownerReferences?.first(where: { $0.controller == true })
    }
}

extension APIObject {
    /// An owner reference naming this object as the controller of a dependent
    /// (`controller: true`, `blockOwnerDeletion: true`).
    public var asControllerRef: MetaV1.OwnerReference {
        MetaV1.OwnerReference(apiVersion: Self.apiVersion, kind: Self.kind, blockOwnerDeletion: true, controller: true,
                              name: objectMeta.name ?? "", uid: objectMeta.uid ?? "")
    }

    /// `namespace/name`, the key of this object in stores and work queues.
    public var key: ObjectKey { ObjectKey(namespace: objectMeta.namespace, name: objectMeta.name ?? "") }
}

/// Whether an API error is a 404, 409 or 422.
public enum APIErrors {
    public static func isNotFound(_ error: any Error) -> Bool { code(error) == 404 }
    public static func isConflict(_ error: any Error) -> Bool { code(error) == 409 }
    public static func isAlreadyExists(_ error: any Error) -> Bool { code(error) == 409 }

    static func code(_ error: any Error) -> Int? {
        (error as? CapstanAPIMachinery.APIError)?.code
    }
}

extension CoreV1.Pod {
    /// A pod to create from a controller's template: the template's labels, annotations and
    /// spec, `generateName` `<prefix>`, and `owner` as its controller.
    public init(template: CoreV1.PodTemplateSpec?, namespace: String?, generateName: String, controller owner: MetaV1.OwnerReference) {
        let meta = template?.metadata
        self.init(metadata: MetaV1.ObjectMeta(annotations: meta?.annotations, finalizers: meta?.finalizers, generateName: generateName,
                                              labels: meta?.labels, namespace: namespace, ownerReferences: [owner]),
                  spec: template?.spec)
    }
}
