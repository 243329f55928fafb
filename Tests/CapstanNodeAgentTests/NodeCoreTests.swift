import CapstanAPI
import Foundation
import Testing
@testable import CapstanNodeAgent

@Suite struct NodeCoreTests {
    let facts = HostFacts(hostname: "node-1", internalIP: "10.0.0.5", cpuCount: 2, memoryBytes: 24 << 30,
                          ephemeralStorageBytes: 100 << 30, kernelVersion: "6.18.0", osImage: "Debian GNU/Linux 12 (bookworm)",
                          containerRuntimeVersion: "runc://1.1.5")

    @Test func newNodeHasCapacityAllocatableLabelsAndInfo() throws {
        let usage = HostUsage(memoryAvailableBytes: 20 << 30, storageAvailableBytes: 50 << 30)
        let node = NodeStatusCore.newNode(name: "node-1", facts: facts, extraLabels: ["zone": "a"], maxPods: 110, endpointPort: 10250,
                                          usage: usage, now: epoch)
        let labels = try #require(node.metadata?.labels)
        #expect(labels["kubernetes.io/hostname"] == "node-1" && labels["kubernetes.io/os"] == "linux")
        #expect(labels["kubernetes.io/arch"] == "amd64" && labels["zone"] == "a")
        let status = try #require(node.status)
        #expect(status.capacity?["cpu"] == Quantity(2) && status.capacity?["pods"] == Quantity(110))
        #expect(status.capacity?["memory"] == Quantity(24 << 30))
        #expect(status.allocatable?["memory"] == Quantity((24 << 30) - (100 << 20)))
        #expect(status.allocatable?["ephemeral-storage"] == Quantity(90 << 30))
        #expect(status.addresses == [CoreV1.NodeAddress(address: "10.0.0.5", type: "InternalIP"),
                                     CoreV1.NodeAddress(address: "node-1", type: "Hostname")])
        #expect(status.nodeInfo?.kubeletVersion == "v1.33.0-capstan" && status.nodeInfo?.containerRuntimeVersion == "runc://1.1.5")
        #expect(status.daemonEndpoints?.kubeletEndpoint?.Port == 10250)
        #expect(status.conditions?.map(\.type) == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"])
        #expect(status.conditions?.last?.reason == "KubeletReady")
    }

    @Test(arguments: [
        (Int64(50 << 20), Int64(50 << 30), "MemoryPressure"),
        (Int64(20 << 30), Int64(5 << 30), "DiskPressure"),
    ])
    func pressureConditions(memory: Int64, storage: Int64, pressured: String) {
        let conditions = NodeStatusCore.conditions(facts: facts, usage: HostUsage(memoryAvailableBytes: memory, storageAvailableBytes: storage),
                                                   previous: nil, now: epoch)
        for condition in conditions where condition.type != "Ready" {
            #expect(condition.status == (condition.type == pressured ? "True" : "False"))
        }
    }

    @Test func heartbeatsMoveButTransitionsStay() {
        let usage = HostUsage(memoryAvailableBytes: 20 << 30, storageAvailableBytes: 50 << 30)
        let first = NodeStatusCore.status(facts: facts, usage: usage, maxPods: 110, endpointPort: nil, previous: nil, now: epoch)
        let second = NodeStatusCore.status(facts: facts, usage: usage, maxPods: 110, endpointPort: nil, previous: first, now: at(10))
        #expect(second.conditions?.allSatisfy { $0.lastHeartbeatTime == at(10).metaTime && $0.lastTransitionTime == epoch.metaTime } == true)
        #expect(!NodeStatusCore.differsBeyondHeartbeat(first, second))
        let pressured = NodeStatusCore.status(facts: facts, usage: HostUsage(memoryAvailableBytes: 1, storageAvailableBytes: 50 << 30),
                                              maxPods: 110, endpointPort: nil, previous: second, now: at(20))
        #expect(NodeStatusCore.differsBeyondHeartbeat(second, pressured))
    }

    @Test func nodeAddressFollowsTheDefaultRoute() {
        let table = """
            Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
            cst1a2b\t00FDD50A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
            wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
            eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
            eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
            """
        #expect(HostFacts.defaultRouteInterface(routeTable: table) == "eth0")
        #expect(HostFacts.defaultRouteInterface(routeTable: "Iface\tDestination\n") == nil)
        // A route that is not up (flags without RTF_UP) does not count.
        #expect(HostFacts.defaultRouteInterface(routeTable: "h\nbr0\t00000000\t0\t0000\t0\t0\t0\t00000000\n") == nil)
    }

    @Test func hostFileParsers() {
        let total = HostFacts.parseMemTotal("MemTotal:       24615564 kB\nMemFree: 1 kB\n")
        #expect(total == Int64(25_206_337_536))
        #expect(HostFacts.parsePrettyName("NAME=x\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n") == "Debian GNU/Linux 12 (bookworm)")
        #expect(HostFacts.goArchitecture("x86_64") == "amd64" && HostFacts.goArchitecture("aarch64") == "arm64")
        let probed = HostFacts.probe(rootDirectory: "/", runtimeVersion: "runc://test")
        #expect(probed.cpuCount >= 1 && probed.memoryBytes > 0 && probed.ephemeralStorageBytes > 0)
    }

    @Test func podCIDRFromSpecElseDefault() {
        var node = CoreV1.Node(spec: CoreV1.NodeSpec())
        #expect(NodeStatusCore.podCIDR(of: node, default: "10.42.0.0/24") == "10.42.0.0/24")
        node.spec?.podCIDR = "10.244.3.0/24"
        #expect(NodeStatusCore.podCIDR(of: node, default: "10.42.0.0/24") == "10.244.3.0/24")
    }

    @Test func leaseRenewal() {
        let lease = NodeLeaseCore.lease(nodeName: "node-1", nodeUID: "u1", now: epoch)
        #expect(lease.metadata?.namespace == "kube-node-lease" && lease.spec?.holderIdentity == "node-1")
        #expect(lease.spec?.leaseDurationSeconds == 40 && lease.metadata?.ownerReferences?.first?.uid == "u1")
        let renewed = NodeLeaseCore.renewed(lease, nodeName: "node-1", now: at(10.5))
        #expect(renewed.spec?.renewTime == MetaV1.MicroTime(secondsSinceEpoch: 1_700_000_010, microseconds: 500_000))
    }
}

@Suite struct IPAllocatorTests {
    @Test func allocatesRoundRobinSkippingGatewayAndBroadcast() throws {
        var allocator = IPAllocator(subnet: try IPv4Subnet("10.42.0.0/30"))
        #expect(try allocator.allocate(for: "a") == IPv4Subnet.parse("10.42.0.2"))
        #expect(throws: NetworkError.self) { try allocator.allocate(for: "b") }
        #expect(try allocator.allocate(for: "a") == IPv4Subnet.parse("10.42.0.2"))
        allocator.release(owner: "a")
        #expect(try allocator.allocate(for: "b") == IPv4Subnet.parse("10.42.0.2"))
    }

    @Test func releasedAddressIsNotReusedAtOnce() throws {
        var allocator = IPAllocator(subnet: try IPv4Subnet("10.42.0.0/24"))
        let a = try allocator.allocate(for: "a")
        allocator.release(owner: "a")
        let b = try allocator.allocate(for: "b")
        #expect(a != b && IPv4Subnet.format(b) == "10.42.0.3")
    }

    @Test(arguments: ["10.42.0.0", "10.42.0.0/33", "10.42.0/24", "300.1.1.1/24", "a.b.c.d/8"])
    func badCIDRsAreErrors(text: String) {
        #expect(throws: NetworkError.self) { try IPv4Subnet(text) }
    }
}
