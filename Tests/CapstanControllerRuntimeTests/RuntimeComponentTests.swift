import CapstanAPI
import CapstanClient
import CapstanTesting
import Synchronization
import Testing
@testable import CapstanControllerRuntime

@Suite struct RuntimeComponentTests {
    static func configMap(_ name: String, ns: String = "default") -> CoreV1.ConfigMap {
        CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: name, namespace: ns), data: ["k": "v"])
    }

    @Test func sharedInformerListsThenWatches() async throws {
        try await withClient { client, _ in
            _ = try await client.create(Self.configMap("before"))
            let factory = SharedInformerFactory(client: client)
            let informer = factory.informer(CoreV1.ConfigMap.self)
            #expect(factory.informer(CoreV1.ConfigMap.self) === informer, "one informer per resource")
            let deleted = Mutex<[String]>([])
            informer.addEventHandler { if case .deleted(let cm) = $0 { deleted.withLock { $0.append(cm.name) } } }
            let run = Task { await factory.run() }
            try await informer.waitForSync()
            #expect(informer.store.get(namespace: "default", name: "before") != nil)
            _ = try await client.create(Self.configMap("after"))
            #expect(await eventually { informer.store.get(namespace: "default", name: "after") != nil })
            // An informer asked for after the factory started is run too.
            let pods = factory.informer(CoreV1.Pod.self)
            try await pods.waitForSync()
            try await client.delete(CoreV1.ConfigMap.self, name: "before", namespace: "default")
            #expect(await eventually { deleted.withLock { $0 } == ["before"] })
            run.cancel()
            await run.value
        }
    }

    @Test func metadataInformersShareTheTypedInformerOfBuiltInResources() async throws {
        try await withClient { client, _ in
            let owner = try await client.create(Self.configMap("owner"))
            var dependent = Self.configMap("dependent")
            dependent.metadata?.finalizers = ["example.com/hold"]
            dependent.metadata?.ownerReferences = [MetaV1.OwnerReference(apiVersion: "v1", kind: "ConfigMap", blockOwnerDeletion: true,
                                                                          name: "owner", uid: owner.objectMeta.uid ?? "")]
            _ = try await client.create(dependent)
            let factory = SharedInformerFactory(client: client)
            let typed = factory.informer(CoreV1.ConfigMap.self)
            let metadata = factory.metadataInformer(resource: CoreV1.ConfigMap.resource)
            #expect(factory.informerCount == 1, "the metadata view reads the typed informer's cache")
            let seen = Mutex<[String]>([])
            metadata.addEventHandler { if case .added(let m) = $0 { seen.withLock { $0.append(m.key.name) } } }
            let run = Task { await factory.run() }
            try await metadata.waitForSync()
            #expect(typed.hasSynced)
            let view = try #require(metadata.get(ObjectKey(namespace: "default", name: "dependent")))
            #expect(view.finalizers == ["example.com/hold"] && !view.deleting)
            #expect(view.ownerReferences.map(\.uid) == [owner.objectMeta.uid ?? ""])
            #expect(metadata.byIndex(IndexName.ownerUID, owner.objectMeta.uid ?? "").map(\.key.name) == ["dependent"])
            #expect(seen.withLock { $0.sorted() } == ["dependent", "owner"])
            // A resource without a built-in type is read from a JSON informer of its own.
            let custom = APIResource(group: "example.com", version: "v1", plural: "widgets", kind: "Widget", namespaced: true)
            _ = factory.metadataInformer(resource: custom)
            #expect(factory.informerCount == 2)
            run.cancel()
            await run.value
            var patched = try await client.get(CoreV1.ConfigMap.self, name: "dependent", namespace: "default")
            patched.metadata?.finalizers = nil
            _ = try await client.update(patched)
        }
    }

    @Test func eventRecorderAggregatesRepeatedEvents() async throws {
        try await withClient { client, _ in
            let cm = try await client.create(Self.configMap("subject"))
            let recorder = EventRecorder(client: client, component: "test-controller")
            let run = Task { await recorder.run() }
            for _ in 0..<3 { recorder.record(cm, type: .warning, reason: "Tested", message: "same message") }
            #expect(try await eventually {
                let events = try await client.list(CoreV1.Event.self, namespace: "default").items
                return events.count == 1 && events[0].count == 3 && events[0].involvedObject.uid == cm.objectMeta.uid
            })
            run.cancel()
            await run.value
        }
    }

    @Test func onlyOneElectorLeadsAndAnotherTakesOverAfterRelease() async throws {
        try await withClient { client, _ in
            let config = LeaderElectionConfig(leaseDuration: .seconds(2), renewDeadline: .seconds(1), retryPeriod: .milliseconds(100))
            let running = Mutex<[String]>([])
            func elector(_ id: String) -> LeaderElector {
                LeaderElector(client: client, name: "test-lease", namespace: "default", identity: id, config: config)
            }
            let a = elector("a"), b = elector("b")
            let work: @Sendable (String) -> @Sendable () async throws -> Void = { id in
                {
                    running.withLock { $0.append(id) }
                    try await Task.sleep(for: .seconds(3600))
                }
            }
            let taskA = Task { try await a.run(work("a")) }
            #expect(await eventually { running.withLock { $0 } == ["a"] })
            let taskB = Task { try await b.run(work("b")) }
            try await Task.sleep(for: .milliseconds(400))
            #expect(running.withLock { $0 } == ["a"], "b waits while a renews")
            taskA.cancel()
            _ = try? await taskA.value
            #expect(await eventually { running.withLock { $0 } == ["a", "b"] })
            let lease = try await client.get(CoordinationV1.Lease.self, name: "test-lease", namespace: "default")
            #expect(lease.spec?.holderIdentity == "b")
            taskB.cancel()
            _ = try? await taskB.value
        }
    }

    final class Counter: Sendable {
        let value = Mutex(0)
    }

    struct CountingController: Controller {
        let name = "counting"
        let started: Counter
        func run(context: ControllerContext) async throws {
            let informer = context.informers.informer(CoreV1.ConfigMap.self)
            try await informer.waitForSync()
            started.value.withLock { $0 += 1 }
            try await Task.sleep(for: .seconds(3600))
        }
    }

    @Test func managerRunsEnabledControllersAfterLeadingAndStopsOnCancel() async throws {
        try await withClient { client, _ in
            let started = Counter()
            let controllers: [any Controller] = [CountingController(started: started)]
            #expect(throws: ControllerSelectionError.self) { _ = try ControllerManager(client: client, controllers: controllers, enabled: ["nope"]) }
            let manager = try ControllerManager(client: client, controllers: controllers, enabled: ["*"],
                                                leaderElection: LeaderElectionConfig(retryPeriod: .milliseconds(100)))
            let run = Task { try await manager.run() }
            #expect(await eventually { started.value.withLock { $0 } == 1 })
            let lease = try await client.get(CoordinationV1.Lease.self, name: "kube-controller-manager", namespace: "kube-system")
            #expect(lease.spec?.holderIdentity == manager.identity)
            run.cancel()
            try await run.value
            let released = try await client.get(CoordinationV1.Lease.self, name: "kube-controller-manager", namespace: "kube-system")
            #expect(released.spec?.holderIdentity == nil)
        }
    }
}
