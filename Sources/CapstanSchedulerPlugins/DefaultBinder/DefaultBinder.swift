import CapstanAPI
import CapstanSchedulerFramework

/// Produces the `pods/binding` subresource object that assigns the pod to the node
/// (Kubernetes' DefaultBinder); the caller writes it.
public final class DefaultBinder: BindPlugin {
    public static let name = "DefaultBinder"
    public var name: String { Self.name }

    public init() {}

    public func bind(state: CycleState, pod: PodInfo, nodeName: String) -> (CoreV1.Binding?, Status) {
        (Self.binding(for: pod, nodeName: nodeName), .success)
    }

    public static func binding(for pod: PodInfo, nodeName: String) -> CoreV1.Binding {
        CoreV1.Binding(
            metadata: MetaV1.ObjectMeta(name: pod.name, namespace: pod.namespace, uid: pod.pod.metadata?.uid),
            target: CoreV1.ObjectReference(kind: "Node", name: nodeName))
    }
}
