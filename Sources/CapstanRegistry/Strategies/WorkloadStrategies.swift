import CapstanAPI
import CapstanAPIMachinery

/// Deployments, ReplicaSets, StatefulSets, DaemonSets, ReplicationControllers: defaults, the
/// selector/template rules, status reset on create.
struct WorkloadStrategy: ResourceStrategy {
    enum Kind { case deployment, replicaSet, statefulSet, daemonSet, replicationController }
    let kind: Kind

    func applyDefaults(_ object: inout [String: JSONValue]) {
        object.edit("spec") { spec in
            switch kind {
            case .deployment:
                spec.setDefault("replicas", .int(1))
                spec.setDefault("revisionHistoryLimit", .int(10))
                spec.setDefault("progressDeadlineSeconds", .int(600))
                spec.edit("strategy") { s in
                    s.setDefault("type", .string("RollingUpdate"))
                    if s.string("type") == "RollingUpdate" {
                        s.edit("rollingUpdate") { r in
                            r.setDefault("maxSurge", .string("25%"))
                            r.setDefault("maxUnavailable", .string("25%"))
                        }
                    }
                }
            case .replicaSet, .replicationController:
                spec.setDefault("replicas", .int(1))
                if kind == .replicationController, spec["selector"] == nil,
                   let labels = spec.object("template")?.object("metadata")?["labels"] {
                    spec["selector"] = labels
                }
            case .statefulSet:
                spec.setDefault("replicas", .int(1))
                spec.setDefault("podManagementPolicy", .string("OrderedReady"))
                spec.setDefault("revisionHistoryLimit", .int(10))
                spec.edit("updateStrategy") { s in
                    s.setDefault("type", .string("RollingUpdate"))
                    if s.string("type") == "RollingUpdate" {
                        s.edit("rollingUpdate") { r in r.setDefault("partition", .int(0)) }
                    }
                }
                spec.edit("persistentVolumeClaimRetentionPolicy") { p in
                    p.setDefault("whenDeleted", .string("Retain"))
                    p.setDefault("whenScaled", .string("Retain"))
                }
                spec.editEach("volumeClaimTemplates") { t in
                    t.edit("spec") { s in s.setDefault("volumeMode", .string("Filesystem")) }
                }
            case .daemonSet:
                spec.setDefault("revisionHistoryLimit", .int(10))
                spec.edit("updateStrategy") { s in
                    s.setDefault("type", .string("RollingUpdate"))
                    if s.string("type") == "RollingUpdate" {
                        s.edit("rollingUpdate") { r in
                            r.setDefault("maxUnavailable", .int(1))
                            r.setDefault("maxSurge", .int(0))
                        }
                    }
                }
            }
            spec.edit("template") { t in t.edit("spec") { PodDefaults.applySpec(&$0) } }
        }
    }

    func prepareForCreate(_ object: inout [String: JSONValue], context: WriteContext) async throws(APIError) {
        object["status"] = nil
    }

    func validate(_ object: [String: JSONValue], old: [String: JSONValue]?) -> [FieldError] {
        let spec = object.object("spec") ?? [:]
        var issues: [FieldError] = []
        let templateLabels = spec.object("template")?.object("metadata")?.stringMap("labels") ?? [:]
        if kind == .replicationController {
            let selector = spec.stringMap("selector")
            if !selector.isEmpty, !selector.allSatisfy({ templateLabels[$0.key] == $0.value }) {
                issues.append(.invalid("spec.template.metadata.labels", value: Self.describe(templateLabels),
                                       "`selector` does not match template `labels`"))
            }
        } else {
            guard let selector = spec.object("selector") else { return [.required("spec.selector")] }
            if (selector.object("matchLabels") ?? [:]).isEmpty && (selector.array("matchExpressions") ?? []).isEmpty {
                issues.append(.invalid("spec.selector", value: "{}", "empty selector is invalid for \(kind)"))
            } else if !((try? LabelSelector(json: .object(selector)))?.matches(templateLabels) ?? false) {
                issues.append(.invalid("spec.template.metadata.labels", value: Self.describe(templateLabels),
                                       "`selector` does not match template `labels`"))
            }
            if let old, let oldSelector = old.object("spec")?["selector"], oldSelector != spec["selector"] {
                issues.append(.invalid("spec.selector", value: Self.describe(selector.stringMap("matchLabels")), "field is immutable"))
            }
        }
        if let replicas = spec.int("replicas"), replicas < 0 {
            issues.append(.invalid("spec.replicas", value: String(replicas), "must be greater than or equal to 0"))
        }
        if let template = spec.object("template")?.object("spec") {
            issues += PodValidation.validateSpec(template, path: "spec.template.spec", template: true)
            if let rp = template.string("restartPolicy"), rp != "Always" {
                issues.append(.notSupported("spec.template.spec.restartPolicy", value: rp, supported: ["Always"]))
            }
        } else {
            issues.append(.required("spec.template"))
        }
        return issues
    }


    static func describe(_ labels: [String: String]) -> String {
        "{" + labels.keys.sorted().map { "\"\($0)\":\"\(labels[$0]!)\"" }.joined(separator: ",") + "}"
    }
}

/// Jobs and CronJobs.
struct JobStrategy: ResourceStrategy {
    let cron: Bool

    func applyDefaults(_ object: inout [String: JSONValue]) {
        if cron {
            object.edit("spec") { spec in
                spec.setDefault("concurrencyPolicy", .string("Allow"))
                spec.setDefault("suspend", .bool(false))
                spec.setDefault("successfulJobsHistoryLimit", .int(3))
                spec.setDefault("failedJobsHistoryLimit", .int(1))
                spec.edit("jobTemplate") { t in t.edit("spec") { Self.applyJobSpec(&$0) } }
            }
        } else {
            object.edit("spec") { Self.applyJobSpec(&$0) }
        }
    }

    static func applyJobSpec(_ spec: inout [String: JSONValue]) {
        if spec["completions"] == nil && spec["parallelism"] == nil {
            spec["completions"] = .int(1)
            spec["parallelism"] = .int(1)
        }
        spec.setDefault("parallelism", .int(1))
        spec.setDefault("backoffLimit", .int(6))
        spec.setDefault("completionMode", .string("NonIndexed"))
        spec.setDefault("suspend", .bool(false))
        spec.setDefault("podReplacementPolicy", .string("TerminatingOrFailed"))
        spec.edit("template") { t in t.edit("spec") { PodDefaults.applySpec(&$0) } }
    }

    func prepareForCreate(_ object: inout [String: JSONValue], context: WriteContext) async throws(APIError) {
        object["status"] = nil
        guard !cron else { return }
        // The job's own selector, from its uid, unless the user manages it.
        let uid = object.object("metadata")?.string("uid") ?? ""
        let name = object.object("metadata")?.string("name") ?? ""
        object.edit("spec") { spec in
            guard spec.bool("manualSelector") != true else { return }
            spec["selector"] = .object(["matchLabels": .object(["batch.kubernetes.io/controller-uid": .string(uid)])])
            spec.edit("template") { t in
                t.edit("metadata") { m in
                    m.edit("labels") { l in
                        l["batch.kubernetes.io/controller-uid"] = .string(uid)
                        l["controller-uid"] = .string(uid)
                        if !name.isEmpty {
                            l["batch.kubernetes.io/job-name"] = .string(name)
                            l["job-name"] = .string(name)
                        }
                    }
                }
            }
        }
    }

    func validate(_ object: [String: JSONValue], old: [String: JSONValue]?) -> [FieldError] {
        let spec = object.object("spec") ?? [:]
        let jobSpec = cron ? (spec.object("jobTemplate")?.object("spec") ?? [:]) : spec
        let prefix = cron ? "spec.jobTemplate.spec" : "spec"
        var issues: [FieldError] = []
        if cron, (spec.string("schedule") ?? "").isEmpty { issues.append(.required("spec.schedule")) }
        guard let template = jobSpec.object("template")?.object("spec") else {
            return issues + [.required(FieldPath("\(prefix).template"))]
        }
        issues += PodValidation.validateSpec(template, path: "\(prefix).template.spec", template: true)
        let rp = template.string("restartPolicy") ?? ""
        if rp != "Never" && rp != "OnFailure" {
            issues.append(.notSupported(FieldPath("\(prefix).template.spec.restartPolicy"), value: rp, supported: ["OnFailure", "Never"]))
        }
        return issues
    }

}
