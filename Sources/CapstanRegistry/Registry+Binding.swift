import CapstanAPI
import CapstanAPIMachinery

extension Registry {
    /// `pods/binding`: assigns a pending pod to a node (once), as the scheduler does.
    public func bind(namespace: String, podName: String, body: [UInt8], options: WriteOptions) async throws(APIError) -> CacheEntry {
        guard let pods = resource(group: "", version: "v1", plural: "pods") else {
            throw APIError.notFound(GroupResource(group: "", resource: "pods"), name: podName)
        }
        let binding = try decodeObject(body, pods)
        guard let target = binding["target"], let node = target["name"]?.stringValue, !node.isEmpty else {
            throw APIError.invalid(GroupKind(group: "", kind: "Binding"), name: podName, errors: [.required("target.name")])
        }
        if let kind = target["kind"]?.stringValue, !kind.isEmpty, kind != "Node" {
            throw APIError.invalid(GroupKind(group: "", kind: "Binding"), name: podName, errors: [.notSupported("target.kind", value: kind, supported: ["Node"])])
        }
        let result = try await replace(pods, namespace: namespace, name: podName, subresource: .binding, options: options,
                                       precondition: nil, pruneResult: false) { (current: [String: JSONValue]) throws(APIError) in
            var pod = current
            if let existing = pod.object("spec")?.string("nodeName"), !existing.isEmpty {
                throw APIError.conflict(GroupResource(group: "", resource: "pods"), name: podName,
                                        message: "Operation cannot be fulfilled on pods/binding \"\(podName)\": pod \(podName) is already assigned to node \"\(existing)\"")
            }
            if pod.object("metadata")?["deletionTimestamp"] != nil {
                throw APIError.conflict(GroupResource(group: "", resource: "pods"), name: podName,
                                        message: "Operation cannot be fulfilled on pods/binding \"\(podName)\": pod \(podName) is being deleted, cannot be assigned to a host")
            }
            pod.edit("spec") { $0["nodeName"] = .string(node) }
            pod.edit("status") { status in
                var conditions = (status.array("conditions") ?? []).filter { $0["type"]?.stringValue != "PodScheduled" }
                conditions.append(.object(["type": .string("PodScheduled"), "status": .string("True"),
                                           "lastTransitionTime": .string(self.timestamp), "lastProbeTime": .null]))
                status["conditions"] = .array(conditions)
            }
            return pod
        }
        return result.entry
    }
}
