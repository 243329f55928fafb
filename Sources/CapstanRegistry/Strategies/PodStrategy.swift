import CapstanAPI
import CapstanAPIMachinery

/// Pods: spec defaults, the admission defaults every cluster applies (service account,
/// priority, not-ready/unreachable tolerations), Pending status with a QoS class on create,
/// and spec immutability on update.
struct PodStrategy: ResourceStrategy {
    func applyDefaults(_ object: inout [String: JSONValue]) {
        object.edit("spec") { spec in PodDefaults.applySpec(&spec) }
    }

    func prepareForCreate(_ object: inout [String: JSONValue], context: WriteContext) async throws(APIError) {
        object.edit("spec") { spec in
            // ServiceAccount admission.
            spec.setDefault("serviceAccountName", .string("default"))
            spec.setDefault("enableServiceLinks", .bool(true))
            // Priority admission (no PriorityClass named: priority 0).
            if spec.string("priorityClassName") == nil { spec.setDefault("priority", .int(0)) }
            spec.setDefault("preemptionPolicy", .string("PreemptLowerPriority"))
            // DefaultTolerationSeconds admission.
            var tolerations = spec.array("tolerations") ?? []
            for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"] {
                let present = tolerations.contains { t in
                    let o = t.objectValue ?? [:]
                    return (o.string("key") == key || (o.string("key") == nil && o.string("operator") == "Exists"))
                        && (o.string("effect") == nil || o.string("effect") == "NoExecute")
                }
                if !present {
                    tolerations.append(.object(["key": .string(key), "operator": .string("Exists"),
                                                "effect": .string("NoExecute"), "tolerationSeconds": .int(300)]))
                }
            }
            spec["tolerations"] = .array(tolerations)
        }
        let qos = PodDefaults.qosClass(object.object("spec") ?? [:])
        object["status"] = .object(["phase": .string("Pending"), "qosClass": .string(qos)])
    }

    func prepareForUpdate(_ object: inout [String: JSONValue], old: [String: JSONValue], context: WriteContext) {
        // The node is assigned through the binding subresource only, and never changes after.
        if let node = old.object("spec")?["nodeName"], node != .string("") {
            object.edit("spec") { $0["nodeName"] = node }
        }
    }

    func validate(_ object: [String: JSONValue], old: [String: JSONValue]?) -> [FieldError] {
        let spec = object.object("spec") ?? [:]
        var issues = PodValidation.validateSpec(spec, path: "spec")
        if let old, let oldSpec = old.object("spec") {
            issues += PodValidation.validateSpecUpdate(spec, old: oldSpec)
        }
        return issues
    }

}

/// Pod spec rules shared by pods and templates.
enum PodValidation {
    static func validateSpec(_ spec: [String: JSONValue], path: String, template: Bool = false) -> [FieldError] {
        var issues: [FieldError] = []
        let containers = spec.array("containers") ?? []
        if containers.isEmpty { issues.append(.required(FieldPath("\(path).containers"))) }
        var names = Set<String>()
        for (kind, list) in [("containers", containers), ("initContainers", spec.array("initContainers") ?? [])] {
            for (i, c) in list.enumerated() {
                let o = c.objectValue ?? [:]
                let p = "\(path).\(kind)[\(i)]"
                let name = o.string("name") ?? ""
                if name.isEmpty {
                    issues.append(.required(FieldPath("\(p).name")))
                } else {
                    issues += NameValidation.dns1123Label(name).map { .invalid(FieldPath("\(p).name"), value: name, $0) }
                    if !names.insert(name).inserted { issues.append(.duplicate(FieldPath("\(p).name"), value: name)) }
                }
                if (o.string("image") ?? "").trimmedWhitespace.isEmpty {
                    issues.append(.required(FieldPath("\(p).image")))
                }
                for (j, port) in (o.array("ports") ?? []).enumerated() {
                    let po = port.objectValue ?? [:]
                    if let n = po.int("containerPort"), !(1...65535).contains(n) {
                        issues.append(.invalid(FieldPath("\(p).ports[\(j)].containerPort"), value: String(n), "must be between 1 and 65535, inclusive"))
                    }
                }
            }
        }
        var volumeNames = Set<String>()
        for (i, v) in (spec.array("volumes") ?? []).enumerated() {
            let name = v.objectValue?.string("name") ?? ""
            if name.isEmpty {
                issues.append(.required(FieldPath("\(path).volumes[\(i)].name")))
            } else if !volumeNames.insert(name).inserted {
                issues.append(.duplicate(FieldPath("\(path).volumes[\(i)].name"), value: name))
            }
        }
        for (i, c) in containers.enumerated() {
            for (j, m) in (c.objectValue?.array("volumeMounts") ?? []).enumerated() {
                let name = m.objectValue?.string("name") ?? ""
                if !volumeNames.contains(name) {
                    issues.append(.notFound(FieldPath("\(path).containers[\(i)].volumeMounts[\(j)].name"), value: name))
                }
            }
        }
        if let grace = spec.int("terminationGracePeriodSeconds"), grace < 0 {
            issues.append(.invalid(FieldPath("\(path).terminationGracePeriodSeconds"), value: String(grace), "must be greater than or equal to 0"))
        }
        return issues
    }

    /// Pod specs are immutable but for images, activeDeadlineSeconds, tolerations (additions) and
    /// the grace period.
    static func validateSpecUpdate(_ spec: [String: JSONValue], old: [String: JSONValue]) -> [FieldError] {
        func mutableStripped(_ s: [String: JSONValue]) -> [String: JSONValue] {
            var s = s
            for key in ["activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds", "schedulingGates", "nodeName"] {
                s[key] = nil
            }
            for list in ["containers", "initContainers"] {
                s.editEach(list) { c in c["image"] = nil }
            }
            return s
        }
        if mutableStripped(spec) != mutableStripped(old) {
            return [.forbidden("spec", "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")]
        }
        return []
    }
}
