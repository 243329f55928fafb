import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import Foundation

/// The pure part of the revision history StatefulSets and DaemonSets keep in apps/v1
/// ControllerRevisions, as Kubernetes keeps it (and `kubectl rollout history|undo` reads it):
///
/// - `data` is a strategic merge patch that puts the pod template back:
///   `{"spec":{"template":{...,"$patch":"replace"}}}`;
/// - the `controller-revision-hash` label is a stable hash of `data` (and the collision count);
///   the revision is named `<owner>-<hash>` and carries the template's labels, the owner's
///   annotations and a controller owner reference;
/// - the newest revision equal to the template is reused; an equal older one gets the next
///   `revision` number (a rollback); otherwise a new revision is made;
/// - history beyond `revisionHistoryLimit` is removed oldest first, never a revision in use.
public enum ControllerHistoryCore {
    public static let hashLabel = "controller-revision-hash"
    public static let defaultRevisionHistoryLimit = 10

    /// The revision `data` for a pod template.
    public static func patch(template: CoreV1.PodTemplateSpec) -> JSONValue {
        var object = (try? KubeJSON.encode(template)).flatMap { try? JSONValue.parse([UInt8]($0)) }?.objectValue ?? [:]
        object["$patch"] = .string("replace")
        return .object(["spec": .object(["template": .object(object)])])
    }

    /// The pod template a revision holds, nil when its data is not a template patch.
    public static func template(of revision: AppsV1.ControllerRevision) -> CoreV1.PodTemplateSpec? {
        guard var object = revision.data?.value["spec"]?["template"]?.objectValue else { return nil }
        object["$patch"] = nil
        return try? KubeJSON.decode(CoreV1.PodTemplateSpec.self, from: JSONValue.object(object).serialized())
    }

    /// FNV-1a (32 bit) of the data's canonical bytes and the collision count, written with
    /// Kubernetes' alphabet for names (no vowels, no look-alike characters).
    public static func hash(_ data: JSONValue, collisionCount: Int32?) -> String {
        var h: UInt32 = 2_166_136_261
        func mix<S: Sequence<UInt8>>(_ bytes: S) {
            for b in bytes {
                h ^= UInt32(b)
                h = h &* 16_777_619
            }
        }
        mix(data.serialized())
        if let collisionCount { mix(String(collisionCount).utf8) }
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789".utf8)
        return String(decoding: String(h).utf8.map { alphabet[Int($0) % alphabet.count] }, as: UTF8.self)
    }

    /// `<owner>-<hash>`, the owner name cut so the result stays a valid name.
    public static func revisionName(owner: String, hash: String) -> String {
        String(owner.prefix(223)) + "-" + hash
    }

    /// A new (not yet stored) revision of `template` for `owner`, numbered `revision`.
    public static func makeRevision(owner: MetaV1.ObjectMeta, ownerRef: MetaV1.OwnerReference, template: CoreV1.PodTemplateSpec,
                                    revision: Int64, collisionCount: Int32?) -> AppsV1.ControllerRevision {
        let data = patch(template: template)
        let hash = hash(data, collisionCount: collisionCount)
        var labels = template.metadata?.labels ?? [:]
        labels[hashLabel] = hash
        let annotations = owner.annotations?.isEmpty == false ? owner.annotations : nil
        return AppsV1.ControllerRevision(
            metadata: MetaV1.ObjectMeta(annotations: annotations, labels: labels, name: revisionName(owner: owner.name ?? "", hash: hash),
                                        namespace: owner.namespace, ownerReferences: [ownerRef]),
            data: RawExtension(data), revision: revision)
    }

    /// Revisions oldest first: by `revision`, then creation time, then name.
    public static func sorted(_ revisions: [AppsV1.ControllerRevision]) -> [AppsV1.ControllerRevision] {
        revisions.sorted {
            ($0.revision, $0.metadata?.creationTimestamp?.secondsSinceEpoch ?? 0, $0.metadata?.name ?? "")
                < ($1.revision, $1.metadata?.creationTimestamp?.secondsSinceEpoch ?? 0, $1.metadata?.name ?? "")
        }
    }

    /// One more than the highest revision number (1 for no history).
    public static func nextRevision(_ revisions: [AppsV1.ControllerRevision]) -> Int64 {
        (revisions.map(\.revision).max() ?? 0) + 1
    }

    /// Whether two revisions hold the same template.
    public static func equal(_ a: AppsV1.ControllerRevision, _ b: AppsV1.ControllerRevision) -> Bool {
        a.data?.value == b.data?.value
    }

    /// What to do to have a revision for the proposed one.
    public enum Resolution: Hashable, Sendable {
        /// The newest revision already holds the template.
        case current(AppsV1.ControllerRevision)
        /// An older revision holds it: give it this revision number (a rollback).
        case renumber(AppsV1.ControllerRevision, revision: Int64)
        /// No revision holds it: store the proposed one.
        case create(AppsV1.ControllerRevision)
    }

    /// Finds the revision among `revisions` (any order) equal to `proposed` (built with
    /// ``makeRevision`` numbered ``nextRevision(_:)``).
    public static func resolve(_ revisions: [AppsV1.ControllerRevision], proposed: AppsV1.ControllerRevision) -> Resolution {
        let history = sorted(revisions)
        guard let equal = history.last(where: { equal($0, proposed) }) else { return .create(proposed) }
        if equal.metadata?.name == history.last?.metadata?.name { return .current(equal) }
        return .renumber(equal, revision: proposed.revision)
    }

    /// Names of the revisions to delete so at most `limit` revisions not in `live` (names)
    /// remain, oldest first.
    public static func revisionsToDelete(_ revisions: [AppsV1.ControllerRevision], live: Set<String>, limit: Int) -> [String] {
        let history = sorted(revisions).filter { !live.contains($0.metadata?.name ?? "") }
        guard history.count > max(0, limit) else { return [] }
        return history.prefix(history.count - max(0, limit)).compactMap { $0.metadata?.name }
    }
}
