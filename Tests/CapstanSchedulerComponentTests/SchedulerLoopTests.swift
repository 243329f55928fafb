import CapstanAPI
import CapstanClient
@testable import CapstanScheduler
import CapstanSchedulerFramework
import Testing

/// The loop's intake: informers and binders post without waiting for the actor, and the loop
/// applies what was posted, in order, before each scheduling cycle.
@Suite("Scheduler loop intake")
struct SchedulerLoopTests {
    /// A loop with every informer synced, its scheduling task running, and the binding tasks it emits.
    private struct Running {
        let loop: SchedulerLoop
        let binds: AsyncStream<SchedulerCore.BindingTask>
        let task: Task<Void, Never>
        let wake: AsyncStream<Void>.Continuation
        let client: APIClient

        init() async throws {
            // The loop never calls the API; the client only completes the scheduler.
            client = try APIClient(configuration: ClientConfiguration(server: "https://127.0.0.1:1"))
            let scheduler = try Scheduler(client: client)
            let (wakeStream, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            let (binds, bindContinuation) = AsyncStream<SchedulerCore.BindingTask>.makeStream()
            let (_, writes) = AsyncStream<StatusWrite>.makeStream()
            let loop = SchedulerLoop(scheduler: scheduler, wake: wake, binds: bindContinuation, writes: writes)
            for name in Informers.names { await loop.synced(name) }
            self.loop = loop
            self.binds = binds
            self.wake = wake
            task = Task { await loop.schedulingLoop(wakeStream) }
        }

        func stop() async {
            wake.finish()
            await task.value
            await client.shutdown()
        }
    }

    private static func node(_ name: String) -> CoreV1.Node {
        let allocatable: [String: Quantity] = ["cpu": "64", "memory": "256Gi", "pods": Quantity(Int64(5000))]
        return CoreV1.Node(metadata: MetaV1.ObjectMeta(labels: ["kubernetes.io/hostname": name], name: name, uid: "node-" + name),
                           status: CoreV1.NodeStatus(allocatable: allocatable, capacity: allocatable))
    }

    private static func pod(_ name: String) -> CoreV1.Pod {
        let requests: [String: Quantity] = ["cpu": "10m", "memory": "10Mi"]
        return CoreV1.Pod(metadata: MetaV1.ObjectMeta(name: name, namespace: "default", uid: "uid-" + name),
                          spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: "pause", name: "c",
                                                                              resources: CoreV1.ResourceRequirements(requests: requests))]),
                          status: CoreV1.PodStatus(phase: "Pending"))
    }

    @Test func everyPostedPodIsBoundOnce() async throws {
        let running = try await Running()
        running.loop.post(.nodeChanged(Self.node("n1")))
        for i in 0..<1000 { running.loop.post(.podChanged(Self.pod("p-\(i)"))) }
        var bound: [String: Int] = [:]
        for await task in running.binds {
            #expect(task.nodeName == "n1")
            bound[task.pod.key, default: 0] += 1
            // Results come back the way the binders post them.
            running.loop.post(.bindingFinished(task, error: nil))
            if bound.count == 1000 { break }
        }
        #expect(bound.count == 1000)
        #expect(bound.values.allSatisfy { $0 == 1 })
        #expect(running.loop.scheduler.statistics.podEvents == 1000)
        await running.stop()
    }

    @Test func postsApplyInOrder() async throws {
        let running = try await Running()
        // Deleted before the loop ran: never scheduled. Its node arrives after it.
        running.loop.post(.podChanged(Self.pod("gone")))
        running.loop.post(.podDeleted(Self.pod("gone")))
        running.loop.post(.podChanged(Self.pod("kept")))
        running.loop.post(.nodeChanged(Self.node("n1")))
        var iterator = running.binds.makeAsyncIterator()
        let first = await iterator.next()
        #expect(first?.pod.key == "default/kept")
        // The node goes, then a pod comes: it waits for the next node, never lands on the old one.
        running.loop.post(.nodeDeleted(Self.node("n1")))
        running.loop.post(.podChanged(Self.pod("late")))
        running.loop.post(.nodeChanged(Self.node("n2")))
        // Back-off and unschedulable pods move on at the scheduler's tick.
        let ticker = Task {
            while !Task.isCancelled {
                await running.loop.tick()
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        let second = await iterator.next()
        ticker.cancel()
        #expect(second?.pod.key == "default/late")
        #expect(second?.nodeName == "n2")
        await running.stop()
    }
}
