import CapstanAPI
import CapstanClient
import Synchronization
import Testing
@testable import CapstanControllerRuntime

@Suite struct StoreAndInformerTests {
    static func pod(_ name: String, ns: String = "default", node: String? = nil, owner: String? = nil, rv: String = "1") -> CoreV1.Pod {
        var meta = MetaV1.ObjectMeta(name: name, namespace: ns, resourceVersion: rv, uid: "uid-\(name)")
        if let owner {
            meta.ownerReferences = [MetaV1.OwnerReference(apiVersion: "apps/v1", kind: "ReplicaSet", controller: true, name: owner, uid: owner)]
        }
        return CoreV1.Pod(metadata: meta, spec: CoreV1.PodSpec(containers: [], nodeName: node))
    }

    static func makeInformer() -> Informer<CoreV1.Pod> {
        Informer(source: nil, accessor: .typed, indexers: Indexer<CoreV1.Pod>.standard(.typed) + [.nodeName])
    }

    @Test func indexesFollowUpdatesAndRemovals() {
        let store = Self.makeInformer().store
        store.upsert(Self.pod("a", node: "n1", owner: "rs1"))
        store.upsert(Self.pod("b", ns: "other", node: "n1"))
        #expect(store.byIndex(IndexName.nodeName, "n1").count == 2)
        #expect(store.byIndex(IndexName.controllerUID, "rs1").map(\.name) == ["a"])
        #expect(store.list(namespace: "other").map(\.name) == ["b"])
        store.upsert(Self.pod("a", node: "n2", rv: "2"))
        #expect(store.byIndex(IndexName.nodeName, "n1").map(\.name) == ["b"])
        #expect(store.byIndex(IndexName.controllerUID, "rs1").isEmpty)
        #expect(Set(store.byIndex(IndexName.controllerUID, "").map(\.name)) == ["a", "b"], "orphans are indexed under \"\"")
        store.remove(ObjectKey(namespace: "other", name: "b"))
        #expect(store.byIndex(IndexName.nodeName, "n1").isEmpty)
        #expect(store.get(namespace: "default", name: "a")?.spec?.nodeName == "n2")
        #expect(store.byIndex("no-such-index", "x").isEmpty)
    }

    @Test func relistDeliversAddsUpdatesAndDeletesOfTheDifference() {
        let informer = Self.makeInformer()
        let seen = Mutex<[String]>([])
        informer.addEventHandler { event in
            let text: String
            switch event {
            case .added(let p): text = "add \(p.name)"
            case .updated(let old, let new): text = "update \(new.name) \(old.resourceVersion ?? "")->\(new.resourceVersion ?? "")"
            case .deleted(let p): text = "delete \(p.name)"
            }
            seen.withLock { $0.append(text) }
        }
        #expect(!informer.hasSynced)
        informer.process(.replaced([Self.pod("a"), Self.pod("b")], resourceVersion: "5"))
        #expect(informer.hasSynced)
        informer.process(.modified(Self.pod("a", rv: "6")))
        informer.process(.replaced([Self.pod("a", rv: "6"), Self.pod("c", rv: "7")], resourceVersion: "7"))
        informer.process(.deleted(Self.pod("c", rv: "8")))
        #expect(seen.withLock { $0 } == ["add a", "add b", "update a 1->6", "add c", "delete b", "delete c"])
        #expect(informer.store.keys().map(\.description) == ["default/a"])
    }

    @Test func lateHandlerIsToldAboutCachedObjects() async throws {
        let informer = Self.makeInformer()
        informer.process(.replaced([Self.pod("a")], resourceVersion: "1"))
        try await informer.waitForSync()
        let names = Mutex<[String]>([])
        informer.addEventHandler { event in
            if case .added(let pod) = event { names.withLock { $0.append(pod.name) } }
        }
        #expect(names.withLock { $0 } == ["a"])
    }

    @Test(arguments: [("ns/name", "ns", "name"), ("cluster-thing", "", "cluster-thing")])
    func objectKeysParseAndPrint(text: String, namespace: String, name: String) {
        let key = ObjectKey(text)
        #expect(key.namespace == namespace && key.name == name)
        #expect(key.description == text)
    }
}
