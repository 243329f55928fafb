import CapstanAPI
import CapstanAPIMachinery

/// The decision of the pods `eviction` subresource, apart from its reads and writes.
public enum EvictionPolicy {
    /// What an eviction does.
    public enum Decision: Sendable, Equatable {
        /// Delete the pod; no budget is consumed.
        case delete
        /// Consume one disruption of the named budget (its status replaced by `status`), then delete.
        case consume(budget: String, status: [String: JSONValue])
        case refuse(APIError)
    }

    /// Most pods a budget remembers as disrupted before refusing more evictions.
    public static let maxDisruptedPods = 2000

    /// Decides an eviction of `pod` given the budgets of its namespace whose selector matches it.
    /// `now` is RFC 3339, recorded in `status.disruptedPods`.
    public static func decide(pod: [String: JSONValue], budgets: [[String: JSONValue]], now: String) -> Decision {
        let phase = pod.object("status")?.string("phase")
        // Pods that are done, not yet running, or already going are not protected.
        if phase == "Succeeded" || phase == "Failed" || phase == "Pending" || pod.object("metadata")?["deletionTimestamp"] != nil {
            return .delete
        }
        guard let budget = budgets.first else { return .delete }
        let policy = GroupResource(group: "policy", resource: "poddisruptionbudgets")
        if budgets.count > 1 {
            return .refuse(APIError.internalError("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."))
        }
        let name = budget.object("metadata")?.string("name") ?? ""
        let status = budget.object("status") ?? [:]
        let ready = (pod.object("status")?.array("conditions") ?? []).contains {
            $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True"
        }
        let currentHealthy = status.int("currentHealthy") ?? 0
        let desiredHealthy = status.int("desiredHealthy") ?? 0
        if !ready {
            switch budget.object("spec")?.string("unhealthyPodEvictionPolicy") ?? "IfHealthyBudget" {
            case "AlwaysAllow":
                return .delete
            default:
                if currentHealthy >= desiredHealthy && desiredHealthy > 0 { return .delete }
            }
        }
        let generation = budget.object("metadata")?.int("generation") ?? 0
        if (status.int("observedGeneration") ?? 0) < generation {
            return .refuse(APIError.tooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", causes: [
                APIError.Cause(reason: "DisruptionBudget", message: "The disruption budget \(name) is still being processed by the server."),
            ]))
        }
        let allowed = status.int("disruptionsAllowed") ?? 0
        if allowed < 0 {
            return .refuse(APIError.forbidden(policy, name: name, reason: "pdb disruptions allowed is negative"))
        }
        var disrupted = status.object("disruptedPods") ?? [:]
        if disrupted.count > maxDisruptedPods {
            return .refuse(APIError.forbidden(policy, name: name, reason: "DisruptedPods map too big - too many evictions not confirmed by PDB controller"))
        }
        if allowed == 0 {
            return .refuse(APIError.tooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", causes: [
                APIError.Cause(reason: "DisruptionBudget",
                               message: "The disruption budget \(name) needs \(desiredHealthy) healthy pods and has \(currentHealthy) currently"),
            ]))
        }
        var newStatus = status
        newStatus["disruptionsAllowed"] = .int(allowed - 1)
        if let podName = pod.object("metadata")?.string("name") { disrupted[podName] = .string(now) }
        newStatus["disruptedPods"] = .object(disrupted)
        return .consume(budget: name, status: newStatus)
    }
}

extension Registry {
    /// `pods/eviction`: deletes the pod unless that would violate its PodDisruptionBudget
    /// (429 TooManyRequests naming the budget); `deleteOptions` of the Eviction apply to the delete.
    public func evict(namespace: String, podName: String, body: [UInt8], options: WriteOptions) async throws(APIError) -> DeleteOutcome {
        let podsResource = GroupResource(group: "", resource: "pods")
        guard let pods = resource(group: "", version: "v1", plural: "pods"),
              let budgets = resource(group: "policy", version: "v1", plural: "poddisruptionbudgets") else {
            throw APIError.notFound(podsResource, name: podName)
        }
        guard case .object(let eviction) = try decodeObject(body, pods) else {
            throw APIError.badRequest("the body of the request must be a JSON object")
        }
        if let kind = eviction.string("kind"), !kind.isEmpty, kind != "Eviction" {
            throw APIError.badRequest("the kind in the data (\(kind)) does not match the expected kind (Eviction)")
        }
        if let name = eviction.object("metadata")?.string("name"), !name.isEmpty, name != podName {
            throw APIError.badRequest("name in URL does not match name in Eviction object")
        }
        var delete = try Self.deleteRequest(eviction.object("deleteOptions"))
        delete.dryRun = delete.dryRun || options.dryRun

        for _ in 0..<8 {
            let entry = try await get(pods, namespace: namespace, name: podName)
            guard case .object(let pod)? = try? entry.object() else {
                throw APIError.internalError("stored pod \(namespace)/\(podName) does not decode")
            }
            let labels = pod.object("metadata")?.stringMap("labels") ?? [:]
            var matching: [[String: JSONValue]] = []
            for entry in try await list(budgets, ListRequest(namespace: namespace)).items {
                guard case .object(let budget)? = try? entry.object() else { continue }
                // A budget whose selector does not parse protects nothing, as Kubernetes treats it.
                guard let selector = try? LabelSelector(json: budget.object("spec")?["selector"]),
                      !selector.matchesNothing, selector.matches(labels) else { continue }
                matching.append(budget)
            }
            switch EvictionPolicy.decide(pod: pod, budgets: matching, now: timestamp) {
            case .refuse(let error):
                throw error
            case .delete:
                return try await self.delete(pods, namespace: namespace, name: podName, delete)
            case .consume(let name, let status):
                let revision = matching.first?.object("metadata")?.string("resourceVersion").flatMap { Int64($0) }
                var statusOptions = WriteOptions()
                statusOptions.dryRun = delete.dryRun
                do {
                    _ = try await replace(budgets, namespace: namespace, name: name, subresource: .status, options: statusOptions,
                                          precondition: revision) { (current: [String: JSONValue]) throws(APIError) in
                        var updated = current
                        updated["status"] = .object(status)
                        return updated
                    }
                } catch let error where error.code == 409 {
                    continue  // The budget changed: decide again.
                }
                return try await self.delete(pods, namespace: namespace, name: podName, delete)
            }
        }
        throw APIError.objectModified(GroupResource(group: "policy", resource: "poddisruptionbudgets"), name: podName)
    }

    /// The `deleteOptions` of an Eviction as a delete request.
    static func deleteRequest(_ o: [String: JSONValue]?) throws(APIError) -> DeleteRequest {
        var d = DeleteRequest()
        if let o { d.apply(options: o) }
        try d.validate()
        return d
    }
}
