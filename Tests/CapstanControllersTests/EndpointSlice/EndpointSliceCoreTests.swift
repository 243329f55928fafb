import CapstanAPI
@testable import CapstanControllers
import Testing

@Suite struct EndpointSliceCoreTests {
    typealias P = TestPods

    @Test func managesOnlyServicesWithSelectors() {
        #expect(EndpointSliceCore.manages(P.service("a")))
        #expect(!EndpointSliceCore.manages(P.service("b", selector: nil)))
        #expect(!EndpointSliceCore.manages(P.service("c", selector: [:])))
        var external = P.service("d")
        external.spec?.type = "ExternalName"
        #expect(!EndpointSliceCore.manages(external))
    }

    struct ConditionCase: Sendable {
        var ready: Bool
        var terminating: Bool
        var publishNotReady: Bool
        var expected: DiscoveryV1.EndpointConditions
    }

    @Test(arguments: [
        ConditionCase(ready: true, terminating: false, publishNotReady: false, expected: .init(ready: true, serving: true, terminating: false)),
        ConditionCase(ready: false, terminating: false, publishNotReady: false, expected: .init(ready: false, serving: false, terminating: false)),
        ConditionCase(ready: true, terminating: true, publishNotReady: false, expected: .init(ready: false, serving: true, terminating: true)),
        ConditionCase(ready: false, terminating: true, publishNotReady: false, expected: .init(ready: false, serving: false, terminating: true)),
        ConditionCase(ready: false, terminating: false, publishNotReady: true, expected: .init(ready: true, serving: true, terminating: false)),
    ])
    func endpointConditions(_ c: ConditionCase) throws {
        let pod = P.pod("p", ip: "10.0.0.1", ready: c.ready, node: "n1", terminating: c.terminating)
        let plan = EndpointSliceCore.plan(service: P.service("web", publishNotReady: c.publishNotReady), pods: [pod], existing: [])
        let slice = try #require(plan.create.first)
        #expect(slice.endpoints.first?.conditions == c.expected)
        #expect(slice.endpoints.first?.nodeName == "n1")
        #expect(slice.endpoints.first?.targetRef?.name == "p")
    }

    @Test func excludedPods() {
        let pods = [
            P.pod("no-ip", ready: true),
            P.pod("done", ip: "10.0.0.2", ready: false, phase: "Succeeded"),
            P.pod("failed", ip: "10.0.0.3", phase: "Failed"),
            P.pod("other-labels", labels: ["app": "db"], ip: "10.0.0.4", ready: true),
            P.pod("other-ns", namespace: "prod", ip: "10.0.0.5", ready: true),
            P.pod("v6", ip: "fd00::1", ready: true),
            P.pod("in", ip: "10.0.0.6", ready: true),
        ]
        let groups = EndpointSliceCore.desiredGroups(service: P.service("web"), pods: pods)
        #expect(groups.flatMap(\.endpoints).compactMap(\.targetRef?.name) == ["in"])
    }

    @Test func namedTargetPortsGroupPodsByResolution() throws {
        let service = P.service("web", ports: [
            CoreV1.ServicePort(name: "http", port: 80, targetPort: .string("web")),
            CoreV1.ServicePort(name: "metrics", port: 9090, protocol: "TCP", targetPort: .int(9100)),
        ])
        let pods = [
            P.pod("a", ip: "10.0.0.1", ready: true, ports: [CoreV1.ContainerPort(containerPort: 8080, name: "web")]),
            P.pod("b", ip: "10.0.0.2", ready: true, ports: [CoreV1.ContainerPort(containerPort: 8081, name: "web")]),
            P.pod("c", ip: "10.0.0.3", ready: true, ports: [CoreV1.ContainerPort(containerPort: 8080, name: "web")]),
            P.pod("udp-only", ip: "10.0.0.4", ready: true, ports: [CoreV1.ContainerPort(containerPort: 8080, name: "web", protocol: "UDP")]),
        ]
        let plan = EndpointSliceCore.plan(service: service, pods: pods, existing: [])
        #expect(plan.create.count == 3)
        let byPorts = Dictionary(uniqueKeysWithValues: plan.create.map { (($0.ports ?? []).map { $0.port ?? 0 }, $0.endpoints.compactMap(\.targetRef?.name)) })
        #expect(byPorts[[8080, 9100]] == ["a", "c"])
        #expect(byPorts[[8081, 9100]] == ["b"])
        // The named port does not resolve for UDP, so only the numeric one remains.
        #expect(byPorts[[9100]] == ["udp-only"])
        for slice in plan.create {
            #expect(slice.addressType == "IPv4")
            #expect(slice.metadata?.generateName == "web-")
            #expect(slice.metadata?.labels?["kubernetes.io/service-name"] == "web")
            #expect(slice.metadata?.labels?["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io")
            #expect(slice.metadata?.ownerReferences?.first?.kind == "Service")
            #expect(slice.metadata?.ownerReferences?.first?.controller == true)
        }
    }

    @Test func portResolution() {
        let pod = P.pod("a", ports: [CoreV1.ContainerPort(containerPort: 53, name: "dns", protocol: "UDP"),
                                      CoreV1.ContainerPort(containerPort: 5353, name: "dns")])
        let cases: [(CoreV1.ServicePort, Int32?)] = [
            (CoreV1.ServicePort(port: 80), 80),
            (CoreV1.ServicePort(port: 80, targetPort: .int(8080)), 8080),
            (CoreV1.ServicePort(port: 53, protocol: "UDP", targetPort: .string("dns")), 53),
            (CoreV1.ServicePort(port: 53, targetPort: .string("dns")), 5353),
            (CoreV1.ServicePort(port: 53, targetPort: .string("missing")), nil),
        ]
        for (port, expected) in cases {
            #expect(EndpointSliceCore.resolvePort(port, in: pod) == expected)
        }
    }

    @Test func emptyServiceKeepsAPlaceholderSlice() throws {
        let plan = EndpointSliceCore.plan(service: P.service("web"), pods: [], existing: [])
        let slice = try #require(plan.create.first)
        #expect(plan.create.count == 1)
        #expect(slice.endpoints.isEmpty)
    }

    @Test func largeServicesSplitAtOneHundredEndpoints() {
        let pods = (0..<250).map { P.pod("p\($0)", ip: "10.1.\($0 / 200).\($0 % 200)", ready: true) }
        let plan = EndpointSliceCore.plan(service: P.service("web"), pods: pods, existing: [])
        #expect(plan.create.map(\.endpoints.count) == [100, 100, 50])
    }

    @Test func unchangedSlicesAreNotWrittenAndChangesReuseSlices() throws {
        let service = P.service("web", labels: ["team": "a"])
        var pods = [P.pod("a", ip: "10.0.0.1", ready: true), P.pod("b", ip: "10.0.0.2", ready: false)]
        var existing = EndpointSliceCore.plan(service: service, pods: pods, existing: []).create
        existing[0].metadata?.name = "web-abcde"
        existing[0].metadata?.resourceVersion = "7"
        #expect(existing[0].metadata?.labels?["team"] == "a")
        #expect(EndpointSliceCore.plan(service: service, pods: pods, existing: existing).isEmpty)

        pods[1] = P.pod("b", ip: "10.0.0.2", ready: true)
        let plan = EndpointSliceCore.plan(service: service, pods: pods, existing: existing)
        #expect(plan.create.isEmpty && plan.delete.isEmpty)
        let updated = try #require(plan.update.first)
        #expect(updated.metadata?.name == "web-abcde")
        #expect(updated.metadata?.resourceVersion == "7")
        #expect(updated.endpoints.allSatisfy { $0.conditions?.ready == true })
    }

    @Test func surplusAndForeignAddressTypeSlicesAreDeleted() {
        let service = P.service("web")
        let pods = [P.pod("a", ip: "10.0.0.1", ready: true)]
        var slices = EndpointSliceCore.plan(service: service, pods: pods, existing: []).create
        slices[0].metadata?.name = "web-1"
        var extra = slices[0]
        extra.metadata?.name = "web-2"
        var v6 = slices[0]
        v6.metadata?.name = "web-3"
        v6.addressType = "IPv6"
        let plan = EndpointSliceCore.plan(service: service, pods: pods, existing: [slices[0], extra, v6])
        #expect(plan.update.isEmpty && plan.create.isEmpty)
        #expect(plan.delete == ["web-2", "web-3"])
    }

    @Test func hostnameOnlyWhenSubdomainIsTheService() {
        var pod = P.pod("a", ip: "10.0.0.1", ready: true)
        pod.spec?.hostname = "a-0"
        pod.spec?.subdomain = "web"
        let headless = P.service("web", clusterIP: "None")
        let groups = EndpointSliceCore.desiredGroups(service: headless, pods: [pod])
        #expect(groups.first?.endpoints.first?.hostname == "a-0")
        #expect(EndpointSliceCore.sliceLabels(headless)["service.kubernetes.io/headless"] == "")
        let other = EndpointSliceCore.desiredGroups(service: P.service("api"), pods: [pod])
        #expect(other.first?.endpoints.first?.hostname == nil)
    }

    @Test func zonesComeFromNodes() {
        let pod = P.pod("a", ip: "10.0.0.1", ready: true, node: "n1")
        let groups = EndpointSliceCore.desiredGroups(service: P.service("web"), pods: [pod], zones: ["n1": "zone-a"])
        #expect(groups.first?.endpoints.first?.zone == "zone-a")
    }
}

@Suite struct EndpointsCoreTests {
    typealias P = TestPods

    @Test func readyAndNotReadyAddresses() throws {
        let pods = [
            P.pod("b", ip: "10.0.0.2", ready: true, node: "n1"),
            P.pod("a", ip: "10.0.0.1", ready: true, node: "n2"),
            P.pod("c", ip: "10.0.0.3", ready: false),
            P.pod("gone", ip: "10.0.0.4", ready: true, terminating: true),
        ]
        let subsets = EndpointsCore.subsets(service: P.service("web"), pods: pods)
        let subset = try #require(subsets.first)
        #expect(subsets.count == 1)
        #expect(subset.addresses?.map(\.ip) == ["10.0.0.1", "10.0.0.2"])
        #expect(subset.addresses?.first?.nodeName == "n2")
        #expect(subset.notReadyAddresses?.map(\.ip) == ["10.0.0.3"])
        #expect(subset.ports == [CoreV1.EndpointPort(name: "http", port: 8080, protocol: "TCP")])
    }

    @Test func publishNotReadyAddressesKeepsEveryPodReady() throws {
        let pods = [P.pod("c", ip: "10.0.0.3", ready: false), P.pod("t", ip: "10.0.0.4", ready: true, terminating: true)]
        let subsets = EndpointsCore.subsets(service: P.service("web", publishNotReady: true), pods: pods)
        #expect(subsets.first?.addresses?.map(\.ip) == ["10.0.0.3", "10.0.0.4"])
        #expect(subsets.first?.notReadyAddresses == nil)
    }

    @Test func headlessServiceWithoutPorts() {
        let pods = [P.pod("a", ip: "10.0.0.1", ready: true)]
        let headless = EndpointsCore.subsets(service: P.service("db", ports: [], clusterIP: "None"), pods: pods)
        #expect(headless.first?.addresses?.map(\.ip) == ["10.0.0.1"])
        #expect(headless.first?.ports == nil)
        #expect(EndpointsCore.subsets(service: P.service("db", ports: []), pods: pods).isEmpty)
    }

    @Test func planCreatesUpdatesOrLeavesAlone() throws {
        let service = P.service("web", labels: ["app": "web"])
        let pods = [P.pod("a", ip: "10.0.0.1", ready: true)]
        guard case .create(let created) = EndpointsCore.plan(service: service, pods: pods, existing: nil) else {
            Issue.record("expected a create")
            return
        }
        #expect(created.metadata?.name == "web")
        #expect(created.metadata?.labels == ["app": "web"])
        #expect(EndpointsCore.plan(service: service, pods: pods, existing: created) == .none)
        guard case .update(let updated) = EndpointsCore.plan(service: service, pods: [], existing: created) else {
            Issue.record("expected an update")
            return
        }
        #expect(updated.subsets == nil)
    }
}
