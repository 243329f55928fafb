import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import Foundation
import Testing
@testable import CapstanControllers

@Suite struct ControllerHistoryCoreTests {
    static func template(_ image: String) -> CoreV1.PodTemplateSpec {
        CoreV1.PodTemplateSpec(metadata: MetaV1.ObjectMeta(labels: ["app": "db"]),
                               spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: image, name: "db")]))
    }

    static let owner = MetaV1.ObjectMeta(annotations: ["kubernetes.io/change-cause": "v1"], name: "web", namespace: "ns", uid: "set-uid")
    static let ownerRef = MetaV1.OwnerReference(apiVersion: "apps/v1", kind: "StatefulSet", blockOwnerDeletion: true, controller: true,
                                                name: "web", uid: "set-uid")

    static func revision(_ image: String, _ number: Int64) -> AppsV1.ControllerRevision {
        ControllerHistoryCore.makeRevision(owner: owner, ownerRef: ownerRef, template: template(image), revision: number, collisionCount: nil)
    }

    @Test func revisionHoldsTheTemplateAsAReplacePatch() throws {
        let revision = Self.revision("db:1", 3)
        let data = try #require(revision.data?.value)
        #expect(data["spec"]?["template"]?["$patch"] == .string("replace"))
        #expect(data["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.first?["image"] == .string("db:1"))
        #expect(ControllerHistoryCore.template(of: revision) == Self.template("db:1"))

        let hash = try #require(revision.metadata?.labels?[ControllerHistoryCore.hashLabel])
        #expect(revision.metadata?.name == "web-\(hash)")
        #expect(revision.metadata?.labels?["app"] == "db")
        #expect(revision.metadata?.annotations == ["kubernetes.io/change-cause": "v1"])
        #expect(revision.metadata?.ownerReferences == [Self.ownerRef])
        #expect(revision.revision == 3)
        #expect(hash.allSatisfy { "bcdfghjklmnpqrstvwxz2456789".contains($0) })
    }

    @Test func hashIsStableAndSeparatesTemplatesAndCollisions() {
        let a = ControllerHistoryCore.patch(template: Self.template("db:1"))
        #expect(ControllerHistoryCore.hash(a, collisionCount: nil) == ControllerHistoryCore.hash(ControllerHistoryCore.patch(template: Self.template("db:1")), collisionCount: nil))
        #expect(ControllerHistoryCore.hash(a, collisionCount: nil) != ControllerHistoryCore.hash(ControllerHistoryCore.patch(template: Self.template("db:2")), collisionCount: nil))
        #expect(ControllerHistoryCore.hash(a, collisionCount: nil) != ControllerHistoryCore.hash(a, collisionCount: 1))
        #expect(ControllerHistoryCore.hash(a, collisionCount: 1) != ControllerHistoryCore.hash(a, collisionCount: 2))
    }

    @Test func resolveReusesCreatesOrRenumbers() {
        let r1 = Self.revision("db:1", 1), r2 = Self.revision("db:2", 2)
        #expect(ControllerHistoryCore.nextRevision([]) == 1)
        #expect(ControllerHistoryCore.nextRevision([r2, r1]) == 3)
        // No history: create.
        let first = Self.revision("db:1", ControllerHistoryCore.nextRevision([]))
        #expect(ControllerHistoryCore.resolve([], proposed: first) == .create(first))
        // The newest revision holds the template: keep it.
        #expect(ControllerHistoryCore.resolve([r2, r1], proposed: Self.revision("db:2", 3)) == .current(r2))
        // An older one does: a rollback renumbers it.
        #expect(ControllerHistoryCore.resolve([r2, r1], proposed: Self.revision("db:1", 3)) == .renumber(r1, revision: 3))
        // A new template: create.
        let r3 = Self.revision("db:3", 3)
        #expect(ControllerHistoryCore.resolve([r1, r2], proposed: r3) == .create(r3))
    }

    /// Each row: revision numbers, the live ones, the limit, the numbers deleted.
    @Test(arguments: [
        ([1, 2, 3], [3], 10, [Int64]()),
        ([1, 2, 3, 4], [4], 2, [1]),
        ([1, 2, 3, 4], [1, 4], 1, [2]),
        ([1, 2, 3, 4], [4], 0, [1, 2, 3]),
        ([4, 2, 3, 1], [2, 4], 0, [1, 3]),
    ] as [([Int64], [Int64], Int, [Int64])])
    func truncation(_ numbers: [Int64], live: [Int64], limit: Int, deleted: [Int64]) {
        let revisions = numbers.map { Self.revision("db:\($0)", $0) }
        let liveNames = Set(revisions.filter { live.contains($0.revision) }.compactMap { $0.metadata?.name })
        let names = ControllerHistoryCore.revisionsToDelete(revisions, live: liveNames, limit: limit)
        #expect(names == deleted.map { n in revisions.first { $0.revision == n }!.metadata!.name! })
    }
}
