import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import CapstanControllers
import CapstanTesting
import Testing

@Suite struct EndpointSliceControllerTests {
    static func slices(_ client: APIClient, service: String) async throws -> [DiscoveryV1.EndpointSlice] {
        try await client.list(DiscoveryV1.EndpointSlice.self, namespace: "default",
                              options: ListOptions(labelSelector: "kubernetes.io/service-name=\(service)")).items
    }

    @Test func servicePodsBecomeSlicesAndEndpoints() async throws {
        try await withWorkloadControllers([EndpointSliceController()]) { client, _ in
            let service = CoreV1.Service(
                metadata: MetaV1.ObjectMeta(name: "web", namespace: "default"),
                spec: CoreV1.ServiceSpec(ports: [CoreV1.ServicePort(name: "http", port: 80, targetPort: .string("web"))],
                                         selector: ["app": "web"]))
            _ = try await client.create(service)
            let ports = [CoreV1.ContainerPort(containerPort: 8080, name: "web")]
            try await PodWrites.create(client, "web-1", labels: ["app": "web"], node: "n1", ports: ports)
            try await PodWrites.create(client, "web-2", labels: ["app": "web"], node: "n1", ports: ports)
            try await PodWrites.create(client, "other", labels: ["app": "db"], ports: ports)
            try await PodWrites.setStatus(client, "web-1", phase: "Running", ip: "10.244.0.11", ready: true)
            try await PodWrites.setStatus(client, "web-2", phase: "Running", ip: "10.244.0.12", ready: false)
            try await PodWrites.setStatus(client, "other", phase: "Running", ip: "10.244.0.13", ready: true)

            let settled = try await eventually {
                let s = try await Self.slices(client, service: "web")
                return s.count == 1 && s[0].endpoints.count == 2
            }
            #expect(settled)
            let slice = try #require(try await Self.slices(client, service: "web").first)
            #expect(slice.addressType == "IPv4")
            #expect(slice.metadata?.labels?["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io")
            #expect(slice.metadata?.ownerReferences?.first?.name == "web")
            #expect(slice.ports == [DiscoveryV1.EndpointPort(name: "http", port: 8080, protocol: "TCP")])
            let byPod = Dictionary(uniqueKeysWithValues: slice.endpoints.map { ($0.targetRef?.name ?? "", $0) })
            #expect(byPod["web-1"]?.conditions == DiscoveryV1.EndpointConditions(ready: true, serving: true, terminating: false))
            #expect(byPod["web-2"]?.conditions?.ready == false)
            #expect(byPod["web-1"]?.nodeName == "n1")

            let endpointsReady = try await eventually {
                let ep = try? await client.get(CoreV1.Endpoints.self, name: "web", namespace: "default")
                return ep?.subsets?.first?.addresses?.map(\.ip) == ["10.244.0.11"]
                    && ep?.subsets?.first?.notReadyAddresses?.map(\.ip) == ["10.244.0.12"]
            }
            #expect(endpointsReady)

            // Readiness flips and a graceful deletion follow through: the terminating pod stays in
            // the slice (not ready, still serving) and leaves the Endpoints object.
            try await PodWrites.setStatus(client, "web-2", phase: "Running", ip: "10.244.0.12", ready: true)
            try await client.delete(CoreV1.Pod.self, name: "web-1", namespace: "default")
            let terminating = try await eventually {
                let s = try await Self.slices(client, service: "web")
                let ep = try? await client.get(CoreV1.Endpoints.self, name: "web", namespace: "default")
                let web1 = s.first?.endpoints.first { $0.targetRef?.name == "web-1" }
                let web2 = s.first?.endpoints.first { $0.targetRef?.name == "web-2" }
                return web1?.conditions == DiscoveryV1.EndpointConditions(ready: false, serving: true, terminating: true)
                    && web2?.conditions?.ready == true && ep?.subsets?.first?.addresses?.map(\.ip) == ["10.244.0.12"]
            }
            #expect(terminating)
            try await client.delete(CoreV1.Pod.self, name: "web-1", namespace: "default", options: DeleteOptions(gracePeriodSeconds: 0))
            let followed = try await eventually {
                let s = try await Self.slices(client, service: "web")
                return s.first?.endpoints.map { $0.targetRef?.name ?? "" } == ["web-2"]
            }
            #expect(followed)

            // Deleting the service removes its Endpoints and slices.
            try await client.delete(CoreV1.Service.self, name: "web", namespace: "default")
            let cleaned = try await eventually {
                let ep = try? await client.get(CoreV1.Endpoints.self, name: "web", namespace: "default")
                let remaining = try await Self.slices(client, service: "web")
                return ep == nil && remaining.isEmpty
            }
            #expect(cleaned)
        }
    }

    @Test func servicesWithoutSelectorsAreLeftAlone() async throws {
        try await withWorkloadControllers([EndpointSliceController()]) { client, _ in
            // The API server's own `kubernetes` Service keeps the endpoints it was created with.
            let service = CoreV1.Service(metadata: MetaV1.ObjectMeta(name: "manual", namespace: "default"),
                                         spec: CoreV1.ServiceSpec(ports: [CoreV1.ServicePort(port: 80)]))
            _ = try await client.create(service)
            let ep = CoreV1.Endpoints(metadata: MetaV1.ObjectMeta(name: "manual", namespace: "default"),
                                      subsets: [CoreV1.EndpointSubset(addresses: [CoreV1.EndpointAddress(ip: "192.0.2.1")],
                                                                      ports: [CoreV1.EndpointPort(port: 80)])])
            _ = try await client.create(ep)
            // A selecting service next to it gets its placeholder slice; the manual one gets none.
            _ = try await client.create(CoreV1.Service(metadata: MetaV1.ObjectMeta(name: "auto", namespace: "default"),
                                                       spec: CoreV1.ServiceSpec(ports: [CoreV1.ServicePort(port: 80)], selector: ["app": "x"])))
            #expect(try await eventually { try await Self.slices(client, service: "auto").count == 1 })
            #expect(try await Self.slices(client, service: "manual").isEmpty)
            let kept = try await client.get(CoreV1.Endpoints.self, name: "manual", namespace: "default")
            #expect(kept.subsets?.first?.addresses?.map(\.ip) == ["192.0.2.1"])
            let kubernetes = try await client.get(CoreV1.Endpoints.self, name: "kubernetes", namespace: "default")
            #expect(kubernetes.subsets?.first?.addresses?.isEmpty == false)
        }
    }
}
