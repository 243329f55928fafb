import CapstanAPI
import CapstanAPIMachinery

extension Registry {
    /// Creates what every cluster has: the four system namespaces, and the `kubernetes`
    /// Service with endpoints pointing at the API server. Existing objects are left alone.
    public func bootstrap(apiServerAddress: String, apiServerPort: Int) async throws(APIError) {
        guard let namespaces = resource(group: "", version: "v1", plural: "namespaces"),
              let services = resource(group: "", version: "v1", plural: "services"),
              let endpoints = resource(group: "", version: "v1", plural: "endpoints"),
              let slices = resource(group: "discovery.k8s.io", version: "v1", plural: "endpointslices")
        else { return }
        for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            var ns = JSONValue.object(["metadata": .object(["name": .string(name)])])
            try await createIfAbsent(namespaces, namespace: nil, object: &ns)
        }
        var service = JSONValue.object([
            "metadata": .object(["name": .string("kubernetes"), "namespace": .string("default"),
                                 "labels": .object(["component": .string("apiserver"), "provider": .string("kubernetes")])]),
            "spec": .object([
                "type": .string("ClusterIP"),
                "clusterIP": .string(self.services.apiServerIP),
                "ports": .array([.object(["name": .string("https"), "port": .int(443), "protocol": .string("TCP"),
                                          "targetPort": .int(Int64(apiServerPort))])]),
                "sessionAffinity": .string("None"),
            ]),
        ])
        try await createIfAbsent(services, namespace: "default", object: &service)
        var ep = JSONValue.object([
            "metadata": .object(["name": .string("kubernetes"), "namespace": .string("default"),
                                 "labels": .object(["endpointslice.kubernetes.io/skip-mirror": .string("true")])]),
            "subsets": .array([.object([
                "addresses": .array([.object(["ip": .string(apiServerAddress)])]),
                "ports": .array([.object(["name": .string("https"), "port": .int(Int64(apiServerPort)), "protocol": .string("TCP")])]),
            ])]),
        ])
        try await createIfAbsent(endpoints, namespace: "default", object: &ep)
        var slice = JSONValue.object([
            "metadata": .object(["name": .string("kubernetes"), "namespace": .string("default"),
                                 "labels": .object(["kubernetes.io/service-name": .string("kubernetes"),
                                                    "endpointslice.kubernetes.io/managed-by": .string("endpointslice-controller.k8s.io")])]),
            "addressType": .string("IPv4"),
            "endpoints": .array([.object(["addresses": .array([.string(apiServerAddress)]),
                                          "conditions": .object(["ready": .bool(true)])])]),
            "ports": .array([.object(["name": .string("https"), "port": .int(Int64(apiServerPort)), "protocol": .string("TCP")])]),
        ])
        try await createIfAbsent(slices, namespace: "default", object: &slice)
    }

    private func createIfAbsent(_ r: RegisteredResource, namespace: String?, object: inout JSONValue) async throws(APIError) {
        let name = object["metadata"]?["name"]?.stringValue ?? ""
        if r.cache.get(namespace: namespace, name: name) != nil { return }
        do {
            _ = try await create(r, namespace: namespace, object: &object, options: WriteOptions())
        } catch let e where e.code == 409 {
            return
        } catch {
            // Servers sharing a store bootstrap at once: another may have created the object
            // between the check and the create (the `kubernetes` Service then fails here on
            // its cluster IP, which that create allocated). Its object is as good as ours.
            for _ in 0..<20 {
                if (try? await get(r, namespace: namespace, name: name)) != nil { return }
                try? await Task.sleep(for: .milliseconds(100))
            }
            throw error
        }
    }
}
