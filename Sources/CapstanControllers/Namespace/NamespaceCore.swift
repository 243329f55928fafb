import CapstanAPI
import Foundation

/// The decisions of namespace deletion, without IO: the status conditions that report what
/// remains, and the finalizers left once the namespace is empty.
public enum NamespaceCore {
    public static let finalizer = "kubernetes"

    /// What is left in a namespace being emptied: instance counts per resource, and the
    /// finalizers (with counts) that hold objects back.
    public struct Remaining: Sendable, Equatable {
        public var resources: [String: Int] = [:]
        public var finalizers: [String: Int] = [:]
        /// Resources whose deletion failed (not 404): resource -> error.
        public var failures: [String: String] = [:]

        public init() {}

        public var isEmpty: Bool { resources.isEmpty }
    }

    /// The five deletion conditions Kubernetes reports on a terminating namespace.
    public static func conditions(_ remaining: Remaining, previous: [CoreV1.NamespaceCondition]?, now: Date) -> [CoreV1.NamespaceCondition] {
        func counted(_ d: [String: Int]) -> String {
            d.sorted { $0.key < $1.key }.map { "\($0.key) has \($0.value) resource instances" }.joined(separator: ", ")
        }
        var result: [CoreV1.NamespaceCondition] = []
        func add(_ type: String, _ on: Bool, trueReason: String, falseReason: String, message: String) {
            let status = on ? "True" : "False"
            let old = previous?.first { $0.type == type }
            result.append(CoreV1.NamespaceCondition(lastTransitionTime: old?.status == status ? old?.lastTransitionTime : MetaV1.Time(now),
                                                    message: on ? message : (falseReason == "ResourcesDiscovered" ? "All resources successfully discovered" : nil),
                                                    reason: on ? trueReason : falseReason, status: status, type: type))
        }
        add("NamespaceDeletionDiscoveryFailure", false, trueReason: "DiscoveryFailed", falseReason: "ResourcesDiscovered", message: "")
        add("NamespaceDeletionGroupVersionParsingFailure", false, trueReason: "GroupVersionParsingFailed", falseReason: "ParsedGroupVersions", message: "")
        add("NamespaceDeletionContentFailure", !remaining.failures.isEmpty, trueReason: "ContentDeletionFailed", falseReason: "ContentDeleted",
            message: "Failed to delete all resource types, \(remaining.failures.count) remaining: "
                + remaining.failures.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
        add("NamespaceContentRemaining", !remaining.resources.isEmpty, trueReason: "SomeResourcesRemain", falseReason: "ContentRemoved",
            message: "Some resources are remaining: \(counted(remaining.resources))")
        add("NamespaceFinalizersRemaining", !remaining.finalizers.isEmpty, trueReason: "SomeFinalizersRemain", falseReason: "ContentHasNoFinalizers",
            message: "Some content in the namespace has finalizers remaining: \(counted(remaining.finalizers))")
        return result
    }

    /// The namespace's `spec.finalizers` once its content is gone (ours removed).
    public static func finalizersAfterEmptying(_ finalizers: [String]) -> [String] {
        finalizers.filter { $0 != finalizer }
    }
}
