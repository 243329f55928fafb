import CapstanAPI
import CapstanClient
import CapstanNodeSimulator
import CapstanTesting
import Testing

@Suite("Node simulator against a real API server", .tags(.component))
struct NodeSimulatorTests {
    @Test func registersReadyNodesWithLeases() async throws {
        try await withCluster { cluster in
            let template = SimulatedNodeTemplate(cpu: "8", memory: "32Gi", pods: 50, labels: ["tier": "edge"],
                                                 taints: [CoreV1.Taint(effect: "NoSchedule", key: "dedicated", value: "edge")], zones: 2)
            await cluster.addNodes(3, prefix: "edge-", template: template)
            let nodes = try await cluster.client.list(CoreV1.Node.self).items
            #expect(nodes.map { $0.metadata?.name ?? "" }.sorted() == ["edge-0", "edge-1", "edge-2"])
            for node in nodes {
                let name = node.metadata?.name ?? ""
                #expect(node.metadata?.labels?["kubernetes.io/hostname"] == name)
                #expect(node.metadata?.labels?["tier"] == "edge")
                // Round-robin over the zones by index: edge-0 and edge-2 in zone-0, edge-1 in zone-1.
                let index = Int(name.dropFirst("edge-".count)) ?? -1
                #expect(node.metadata?.labels?[SimulatedNodeTemplate.zoneLabel] == "zone-\(index % 2)")
                #expect(node.spec?.taints == [CoreV1.Taint(effect: "NoSchedule", key: "dedicated", value: "edge")])
                #expect(node.status?.allocatable?["cpu"] == (try Quantity(parsing: "8")))
                #expect(node.status?.capacity?["pods"] == (try Quantity(parsing: "50")))
                #expect(node.status?.conditions?.first(where: { $0.type == "Ready" })?.status == "True")
                #expect(node.status?.addresses?.contains(where: { $0.type == "InternalIP" }) == true)
                #expect(node.status?.nodeInfo?.kubeletVersion.isEmpty == false)
                let lease = try await cluster.client.get(CoordinationV1.Lease.self, name: name, namespace: "kube-node-lease")
                #expect(lease.spec?.holderIdentity == name)
                #expect(lease.spec?.renewTime != nil)
                #expect(lease.metadata?.ownerReferences?.first?.uid == node.metadata?.uid)
            }
        }
    }

    @Test func boundPodsBecomeRunningAndReady() async throws {
        try await withCluster { cluster in
            await cluster.addNodes(1, prefix: "run-")
            try await cluster.createPod("p1", spec: ["initContainers": .array([.object(["name": .string("init"), "image": .string("busybox")])])])
            try await cluster.client.bind(pod: "p1", namespace: "default", node: "run-0")
            let running = try await eventually { try await cluster.pod("p1").status?.phase == "Running" }
            #expect(running)
            let status = try #require(try await cluster.pod("p1").status)
            for type in ["Initialized", "Ready", "ContainersReady", "PodScheduled"] {
                #expect(status.conditions?.first(where: { $0.type == type })?.status == "True", "\(type)")
            }
            #expect(status.podIP?.hasPrefix("10.") == true)
            #expect(status.hostIP?.hasPrefix("100.") == true)
            #expect(status.startTime != nil)
            #expect(status.containerStatuses?.first?.ready == true)
            #expect(status.containerStatuses?.first?.state?.running != nil)
            #expect(status.initContainerStatuses?.first?.state?.terminated?.exitCode == 0)
        }
    }

    @Test func podStartupDelayHoldsPodsPending() async throws {
        try await withCluster { cluster in
            await cluster.addNodes(1, prefix: "slow-") { $0.podStartup = .milliseconds(600) }
            try await cluster.createPod("p1")
            try await cluster.client.bind(pod: "p1", namespace: "default", node: "slow-0")
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await cluster.pod("p1").status?.phase == "Pending")
            #expect(try await eventually { try await cluster.pod("p1").status?.phase == "Running" })
        }
    }

    @Test(arguments: [(NodeSimulator.completeAfterAnnotation, "Succeeded", Int32(0)), (NodeSimulator.failAfterAnnotation, "Failed", Int32(1))])
    func annotatedPodsFinish(annotation: String, phase: String, exitCode: Int32) async throws {
        try await withCluster { cluster in
            await cluster.addNodes(1, prefix: "job-")
            try await cluster.createPod("job", annotations: [annotation: "300ms"])
            try await cluster.client.bind(pod: "job", namespace: "default", node: "job-0")
            #expect(try await eventually { try await cluster.pod("job").status?.phase == "Running" })
            #expect(try await eventually { try await cluster.pod("job").status?.phase == phase })
            let status = try await cluster.pod("job").status
            #expect(status?.containerStatuses?.first?.state?.terminated?.exitCode == exitCode)
            #expect(status?.conditions?.first(where: { $0.type == "Ready" })?.status == "False")
        }
    }

    @Test func badCompletionAnnotationLeavesThePodRunning() async throws {
        try await withCluster { cluster in
            await cluster.addNodes(1, prefix: "bad-")
            try await cluster.createPod("p", annotations: [NodeSimulator.completeAfterAnnotation: "soon"])
            try await cluster.client.bind(pod: "p", namespace: "default", node: "bad-0")
            #expect(try await eventually { try await cluster.pod("p").status?.phase == "Running" })
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await cluster.pod("p").status?.phase == "Running")
        }
    }

    @Test func deletedPodsAreFinalizedPromptly() async throws {
        try await withCluster { cluster in
            await cluster.addNodes(1, prefix: "del-")
            try await cluster.createPod("p")
            try await cluster.client.bind(pod: "p", namespace: "default", node: "del-0")
            #expect(try await eventually { try await cluster.pod("p").status?.phase == "Running" })
            // A default (30 s) grace period: the server keeps the pod until its node finishes it.
            try await cluster.client.delete(CoreV1.Pod.self, name: "p", namespace: "default")
            let gone = try await eventually(timeout: .seconds(5)) {
                (try? await cluster.client.list(CoreV1.Pod.self, namespace: "default").items.isEmpty) ?? false
            }
            #expect(gone)
        }
    }

    @Test func aFailedNodesLeaseGoesStale() async throws {
        try await withCluster { cluster in
            let sim = await cluster.addNodes(2, prefix: "lease-") { $0.leaseRenewInterval = .milliseconds(100) }
            #expect(sim.failNode("lease-1"))
            #expect(!sim.failNode("not-ours"))
            func renewTime(_ node: String) async throws -> MetaV1.MicroTime? {
                try await cluster.client.get(CoordinationV1.Lease.self, name: node, namespace: "kube-node-lease").spec?.renewTime
            }
            // Let a renewal already in flight for the failed node land.
            try await Task.sleep(for: .milliseconds(300))
            let healthyBefore = try await renewTime("lease-0")
            let failedBefore = try await renewTime("lease-1")
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await renewTime("lease-0").map { $0 > healthyBefore! } == true)
            #expect(try await renewTime("lease-1") == failedBefore)
            #expect(sim.statistics.leaseRenewals > 2)
        }
    }

    @Test func badInputIsRejected() throws {
        #expect(throws: SimulatorInputError.self) { try SimulatorParsing.taints("a=b:Sometimes") }
        #expect(throws: SimulatorInputError.self) { try SimulatorParsing.labels("novalue") }
        #expect(throws: SimulatorInputError.self) { try SimulatorParsing.duration("5 parsecs") }
        #expect(throws: SimulatorInputError.self) { try SimulatedNodeTemplate(cpu: "lots").validate() }
        #expect(throws: SimulatorInputError.self) { try SimulatedNodeTemplate(zones: -1).validate() }
        #expect(SimulatedNodeTemplate().zone(ofNode: 3) == nil)
        #expect(try SimulatorParsing.duration("1m30s") == .seconds(90))
        #expect(try SimulatorParsing.duration("250ms") == .milliseconds(250))
        #expect(try SimulatorParsing.taints("gpu=yes:NoSchedule,spot:PreferNoSchedule")
            == [CoreV1.Taint(effect: "NoSchedule", key: "gpu", value: "yes"), CoreV1.Taint(effect: "PreferNoSchedule", key: "spot")])
        #expect(try SimulatorParsing.labels("a=1,b=") == ["a": "1", "b": ""])
    }
}
