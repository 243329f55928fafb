import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import Foundation

/// The IO half of the revision history (``ControllerHistoryCore`` decides): stores, renumbers
/// and deletes ControllerRevisions for a StatefulSet or DaemonSet.
struct ControllerHistory: Sendable {
    let client: APIClient

    /// How many times a hash collision is resolved by raising the collision count before giving up.
    static let maxCollisions = 16

    /// Makes sure a revision holds `template` (creating it, or renumbering an older equal one);
    /// returns it and the collision count the owner should report.
    func ensureRevision(owner: MetaV1.ObjectMeta, ownerRef: MetaV1.OwnerReference, template: CoreV1.PodTemplateSpec,
                        existing: [AppsV1.ControllerRevision], collisionCount: Int32?) async throws -> (AppsV1.ControllerRevision, Int32?) {
        var count = collisionCount
        let next = ControllerHistoryCore.nextRevision(existing)
        var proposed = ControllerHistoryCore.makeRevision(owner: owner, ownerRef: ownerRef, template: template, revision: next, collisionCount: count)
        switch ControllerHistoryCore.resolve(existing, proposed: proposed) {
        case .current(let revision):
            return (revision, count)
        case .renumber(var revision, let number):
            revision.revision = number
            return (try await client.update(revision), count)
        case .create:
            for _ in 0..<Self.maxCollisions {
                do {
                    return (try await client.create(proposed), count)
                } catch where APIErrors.isAlreadyExists(error) {
                    let found = try await client.get(AppsV1.ControllerRevision.self, name: proposed.metadata?.name ?? "",
                                                     namespace: owner.namespace)
                    // The same template stored before this cache saw it: use it.
                    if ControllerHistoryCore.equal(found, proposed) { return (found, count) }
                    count = (count ?? 0) + 1
                    proposed = ControllerHistoryCore.makeRevision(owner: owner, ownerRef: ownerRef, template: template, revision: next,
                                                                  collisionCount: count)
                }
            }
            throw ControllerHistoryError(message: "could not find a free revision name for \(owner.name ?? "") after \(Self.maxCollisions) hash collisions")
        }
    }

    /// Deletes the revisions beyond `limit` that no pod, and neither the current nor the update revision, uses.
    func truncate(_ revisions: [AppsV1.ControllerRevision], live: Set<String>, limit: Int32?, namespace: String?) async throws {
        let names = ControllerHistoryCore.revisionsToDelete(revisions, live: live,
                                                            limit: Int(limit ?? Int32(ControllerHistoryCore.defaultRevisionHistoryLimit)))
        for name in names {
            do {
                try await client.delete(AppsV1.ControllerRevision.self, name: name, namespace: namespace)
            } catch where APIErrors.isNotFound(error) {}
        }
    }
}

struct ControllerHistoryError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
