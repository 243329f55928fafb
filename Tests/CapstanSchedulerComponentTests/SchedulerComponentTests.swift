import CapstanAPI
import CapstanClient
import CapstanNodeSimulator
import CapstanScheduler
import CapstanTesting
import Testing

@Suite("Scheduler with simulated nodes against a real API server", .tags(.component))
struct SchedulerComponentTests {
    @Test func schedulesPodsToRunningAndRecordsScheduledEvents() async throws {
        try await withCluster { cluster in
            await cluster.addNodes(3, prefix: "n-")
            let scheduler = try await cluster.startScheduler()
            for i in 0..<6 { try await cluster.createPod("web-\(i)") }
            let allRunning = try await eventually {
                let pods = try await cluster.client.list(CoreV1.Pod.self, namespace: "default").items
                return pods.count == 6 && pods.allSatisfy { $0.status?.phase == "Running" }
            }
            #expect(allRunning)
            let node = try #require(try await cluster.nodeOf("web-0"))
            let events = try await eventually { try await !cluster.events(of: "web-0").isEmpty }
            #expect(events)
            let scheduled = try await cluster.events(of: "web-0").first { $0.reason == "Scheduled" }
            #expect(scheduled?.message == "Successfully assigned default/web-0 to \(node)")
            #expect(scheduled?.type == "Normal")
            #expect(scheduler.statistics.scheduled == 6)
        }
    }

    @Test func taintsKeepPodsOffAndTolerationsLetThemOn() async throws {
        try await withCluster { cluster in
            await cluster.addNodes(2, prefix: "gpu-", template: SimulatedNodeTemplate(
                labels: ["pool": "gpu"], taints: [CoreV1.Taint(effect: "NoSchedule", key: "dedicated", value: "gpu")]))
            await cluster.addNodes(2, prefix: "cpu-")
            try await cluster.startScheduler()
            for i in 0..<8 { try await cluster.createPod("plain-\(i)") }
            let toleration: JSONValue = .array([.object(["key": .string("dedicated"), "operator": .string("Equal"),
                                                         "value": .string("gpu"), "effect": .string("NoSchedule")])])
            try await cluster.createPod("tolerant", spec: ["tolerations": toleration, "nodeSelector": .object(["pool": .string("gpu")])])
            for i in 0..<8 {
                let node = try await cluster.nodeOf("plain-\(i)")
                #expect(node?.hasPrefix("cpu-") == true, "plain-\(i) on \(node ?? "nothing")")
            }
            #expect(try await cluster.nodeOf("tolerant")?.hasPrefix("gpu-") == true)
        }
    }

    @Test func requiredNodeAffinityGroupsPods() async throws {
        try await withCluster { cluster in
            await cluster.addNodes(2, prefix: "a-", template: SimulatedNodeTemplate(labels: ["topology.kubernetes.io/zone": "a"]))
            await cluster.addNodes(2, prefix: "b-", template: SimulatedNodeTemplate(labels: ["topology.kubernetes.io/zone": "b"]))
            try await cluster.startScheduler()
            let affinity: JSONValue = .object(["nodeAffinity": .object(["requiredDuringSchedulingIgnoredDuringExecution": .object([
                "nodeSelectorTerms": .array([.object(["matchExpressions": .array([.object([
                    "key": .string("topology.kubernetes.io/zone"), "operator": .string("In"), "values": .array([.string("b")]),
                ])])])]),
            ])])])
            for i in 0..<6 { try await cluster.createPod("zb-\(i)", spec: ["affinity": affinity]) }
            for i in 0..<6 {
                let node = try await cluster.nodeOf("zb-\(i)")
                #expect(node?.hasPrefix("b-") == true, "zb-\(i) on \(node ?? "nothing")")
            }
        }
    }

    @Test func requiredPodAntiAffinitySpreadsPodsOnePerNode() async throws {
        try await withCluster { cluster in
            await cluster.addNodes(4, prefix: "h-")
            try await cluster.startScheduler()
            let anti: JSONValue = .object(["podAntiAffinity": .object(["requiredDuringSchedulingIgnoredDuringExecution": .array([.object([
                "labelSelector": .object(["matchLabels": .object(["app": .string("db")])]),
                "topologyKey": .string("kubernetes.io/hostname"),
            ])])])])
            for i in 0..<5 { try await cluster.createPod("db-\(i)", labels: ["app": "db"], spec: ["affinity": anti]) }
            let fourBound = try await eventually {
                let pods = try await cluster.client.list(CoreV1.Pod.self, namespace: "default").items
                return pods.filter { $0.spec?.nodeName != nil }.count == 4
            }
            #expect(fourBound)
            let pods = try await cluster.client.list(CoreV1.Pod.self, namespace: "default").items
            let nodes = pods.compactMap { $0.spec?.nodeName }
            #expect(Set(nodes).count == 4)
            let pending = try #require(pods.first { $0.spec?.nodeName == nil })
            let hasCondition = try await eventually {
                let p = try await cluster.pod(pending.metadata?.name ?? "")
                return p.status?.conditions?.contains { $0.type == "PodScheduled" && $0.status == "False" } == true
            }
            #expect(hasCondition)
            let message = try await cluster.pod(pending.metadata?.name ?? "").status?.conditions?.first { $0.type == "PodScheduled" }?.message
            #expect(message?.hasPrefix("0/4 nodes are available: 4 node(s) didn't match pod anti-affinity rules.") == true, "\(message ?? "")")
        }
    }

    @Test func unschedulablePodGetsEventAndConditionThenSchedulesWhenANodeFits() async throws {
        try await withCluster { cluster in
            await cluster.addNodes(1, prefix: "small-", template: SimulatedNodeTemplate(cpu: "1"))
            try await cluster.startScheduler()
            try await cluster.createPod("big", cpu: "4")
            let failed = try await eventually {
                try await cluster.events(of: "big").contains { $0.reason == "FailedScheduling" }
            }
            #expect(failed)
            let event = try await cluster.events(of: "big").first { $0.reason == "FailedScheduling" }
            #expect(event?.type == "Warning")
            #expect(event?.message?.hasPrefix("0/1 nodes are available: 1 Insufficient cpu.") == true, "\(event?.message ?? "")")
            let condition = try await cluster.pod("big").status?.conditions?.first { $0.type == "PodScheduled" }
            #expect(condition?.status == "False")
            #expect(condition?.reason == "Unschedulable")
            #expect(condition?.message == event?.message)
            // A node that fits appears: the pod is scheduled at once (event-driven, not after back-off flushes).
            await cluster.addNodes(1, prefix: "large-", template: SimulatedNodeTemplate(cpu: "8"))
            #expect(try await cluster.nodeOf("big", timeout: .seconds(5)) == "large-0")
            #expect(try await eventually { try await cluster.pod("big").status?.phase == "Running" })
        }
    }

    @Test func highPriorityPodPreemptsALowPriorityOne() async throws {
        try await withCluster { cluster in
            for (name, value) in [("low", 10), ("high", 1000)] {
                _ = try await cluster.client.create(SchedulingV1.PriorityClass.resource, .object([
                    "apiVersion": .string("scheduling.k8s.io/v1"), "kind": .string("PriorityClass"),
                    "metadata": .object(["name": .string(name)]), "value": .int(Int64(value)),
                ]))
            }
            await cluster.addNodes(1, prefix: "only-", template: SimulatedNodeTemplate(cpu: "2"))
            let scheduler = try await cluster.startScheduler()
            try await cluster.createPod("victim", cpu: "1500m", spec: ["priorityClassName": .string("low")])
            #expect(try await eventually { try await cluster.pod("victim").status?.phase == "Running" })
            try await cluster.createPod("vip", cpu: "1500m", spec: ["priorityClassName": .string("high")])
            #expect(try await cluster.nodeOf("vip", timeout: .seconds(10)) == "only-0")
            let victimGone = try await eventually { (try? await cluster.pod("victim")) == nil }
            #expect(victimGone)
            #expect(scheduler.statistics.preemptions >= 1)
            #expect(scheduler.statistics.victimsDeleted == 1)
            let preempted = try await cluster.events(of: "victim").contains { $0.reason == "Preempted" }
            #expect(preempted)
        }
    }

    @Test func podsForAnotherSchedulerAreLeftAlone() async throws {
        try await withCluster { cluster in
            await cluster.addNodes(1, prefix: "x-")
            try await cluster.startScheduler()
            try await cluster.createPod("theirs", spec: ["schedulerName": .string("someone-else")])
            try await cluster.createPod("ours")
            #expect(try await cluster.nodeOf("ours") == "x-0")
            #expect(try await cluster.pod("theirs").spec?.nodeName == nil)
        }
    }

    @Test func emptyProfilesAreRejected() async throws {
        try await withCluster { cluster in
            #expect(throws: SchedulerConfigurationError.self) { try Scheduler(client: cluster.client, profiles: []) }
        }
    }
}
