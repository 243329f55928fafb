import CapstanAPI

/// The decisions of the garbage collector, without IO.
public enum GarbageCollectorCore {
    public static let foregroundFinalizer = "foregroundDeletion"
    public static let orphanFinalizer = "orphan"

    /// What an owner reference points at, as far as the collector can tell.
    public enum OwnerState: Sendable, Equatable {
        /// Exists with the referenced UID and is not deleting its dependents.
        case solid
        /// Gone, or replaced by an object with another UID.
        case dangling
        /// Being deleted in the foreground: waits for its dependents to go.
        case waitingForDependents
    }

    /// What to do with a dependent, given its owners.
    public enum Action: Sendable, Equatable {
        case none
        /// Some owners remain: drop only the references (UIDs) to gone or foreground-deleting owners.
        case removeOwnerReferences([String])
        /// Every owner is gone or deleting: delete the dependent with this propagation policy.
        case delete(propagation: String)
    }

    /// `owners` pairs each owner reference with its state; `ownFinalizers` are the dependent's
    /// finalizers (its own propagation choice when it is deleted).
    public static func decide(owners: [(ref: MetaV1.OwnerReference, state: OwnerState)], ownFinalizers: [String]) -> Action {
        guard !owners.isEmpty else { return .none }
        let solid = owners.filter { $0.state == .solid }
        let dangling = owners.filter { $0.state == .dangling }
        let waiting = owners.filter { $0.state == .waitingForDependents }
        if !solid.isEmpty {
            let drop = (dangling + waiting).map(\.ref.uid)
            return drop.isEmpty ? .none : .removeOwnerReferences(drop)
        }
        // No solid owner left. A foreground-deleting owner that this dependent blocks makes it
        // go in the foreground too, so its own dependents go first.
        if waiting.contains(where: { $0.ref.blockOwnerDeletion == true }) {
            return .delete(propagation: "Foreground")
        }
        if ownFinalizers.contains(orphanFinalizer) { return .delete(propagation: "Orphan") }
        if ownFinalizers.contains(foregroundFinalizer) { return .delete(propagation: "Foreground") }
        return .delete(propagation: "Background")
    }

    /// An owner deleting in the foreground keeps its `foregroundDeletion` finalizer while any
    /// dependent that blocks it (`blockOwnerDeletion: true`) remains.
    public static func canRemoveForegroundFinalizer(blockingDependents: Int) -> Bool {
        blockingDependents == 0
    }

    /// Whether a dependent with `refs` blocks the foreground deletion of the owner `ownerUID`.
    public static func blocks(ownerUID: String, _ refs: [MetaV1.OwnerReference]) -> Bool {
        refs.contains { $0.uid == ownerUID && $0.blockOwnerDeletion == true }
    }

    /// Owner references left after removing those with `uids`.
    public static func removing(_ uids: Set<String>, from refs: [MetaV1.OwnerReference]) -> [MetaV1.OwnerReference] {
        refs.filter { !uids.contains($0.uid) }
    }
}
