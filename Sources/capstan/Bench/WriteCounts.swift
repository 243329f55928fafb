import CapstanAPIServer

/// The API writes (POST, PUT, PATCH, DELETE) between two snapshots of the server's request
/// counts, grouped as a Deployment's pods cost them.
struct WriteCounts {
    var breakdown: [(String, Int)] = []
    /// Every write but node heartbeats (Lease renewals and node status), which depend on time, not on pods.
    var workload = 0
    var conflicts = 0
    var errors = 0

    init(before: [RequestLabel: Int], after: [RequestLabel: Int]) {
        var groups: [String: Int] = [:]
        for (label, n) in after {
            let count = n - (before[label] ?? 0)
            guard count > 0, ["POST", "PUT", "PATCH", "DELETE"].contains(label.verb) else { continue }
            if label.code == 409 { conflicts += count } else if label.code >= 400 { errors += count }
            let group = Self.group(verb: label.verb, resource: label.resource)
            groups[group, default: 0] += count
            if !group.hasPrefix("node heartbeats") { workload += count }
        }
        breakdown = groups.sorted { $0.value > $1.value }
    }

    static func group(verb: String, resource: String) -> String {
        switch (verb, resource) {
        case ("POST", "pods"): "pod create"
        case ("POST", "pods/binding"): "pod binding"
        case (_, "pods/status"): "pod status (\(verb))"
        case (_, "pods"): "pod \(verb)"
        case ("POST", "deployments"): "deployment create"
        case (_, "deployments/status"): "deployment status (\(verb))"
        case (_, "replicasets/status"): "replicaset status (\(verb))"
        case (_, "leases"), (_, "nodes/status"): "node heartbeats (\(resource) \(verb))"
        default: "\(resource) \(verb)"
        }
    }
}
