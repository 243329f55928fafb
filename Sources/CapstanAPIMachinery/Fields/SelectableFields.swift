import CapstanAPI

/// The fields a resource can be selected by, as kube-apiserver defines them per kind: which field
/// labels a `fieldSelector` may use (legacy spellings converted), how unsupported ones are refused,
/// and how each field's value is read from an object (Kubernetes' `ToSelectableFields`).
public struct SelectableFields: Sendable {
    /// Where a selectable field's value comes from.
    enum Source: Sendable, Hashable {
        /// A string at a JSON path; missing reads "".
        case string([String])
        /// A boolean at a path, printed `true`/`false`; missing reads `false`.
        case bool([String])
        /// An integer at a path, printed in decimal; missing reads `0`.
        case int([String])
        /// A string, boolean or integer at a path; missing leaves the field out (custom resources).
        case scalar([String])
        /// The pod's first IP: `status.podIPs[0].ip`, else `status.podIP`.
        case podIP
        /// An event's source component, else its reporting controller.
        case eventSource(component: [String], fallback: [String])
    }

    /// How a label outside the supported set is refused.
    enum Refusal: Sendable, Hashable {
        /// `field label not supported: foo`
        case notSupported
        /// `field label "foo" not supported for Job`
        case notSupportedFor(String)
        /// `"foo" is not a known field selector: only "metadata.name", "metadata.namespace"`
        case notKnown
    }

    /// The resource these fields belong to.
    public let resource: GroupResource
    /// Whether objects carry `metadata.namespace` in their field set.
    public let namespaced: Bool
    /// The field labels a selector may use, including legacy spellings (`spec.host` for pods).
    public let supportedLabels: [String]
    /// Accepted label -> the label it selects on.
    let conversions: [String: String]
    /// Label -> value source, in the order `fields(of:)` fills them.
    let sources: [(label: String, source: Source)]
    let refusal: Refusal

    init(_ resource: GroupResource, namespaced: Bool, accepted: [String], aliases: [(String, String)] = [],
         sources: [(String, Source)], refusal: Refusal) {
        self.resource = resource
        self.namespaced = namespaced
        var conv: [String: String] = [:]
        var labels: [String] = []
        for a in accepted where conv[a] == nil {
            conv[a] = a
            labels.append(a)
        }
        for (from, to) in aliases where conv[from] == nil {
            conv[from] = to
            labels.append(from)
        }
        conversions = conv
        supportedLabels = labels
        self.sources = sources.map { (label: $0.0, source: $0.1) }
        self.refusal = refusal
    }

    // MARK: Catalogue

    static let name: (String, Source) = ("metadata.name", .string(["metadata", "name"]))
    static let namespace: (String, Source) = ("metadata.namespace", .string(["metadata", "namespace"]))

    static func meta(_ namespaced: Bool) -> [(String, Source)] { namespaced ? [name, namespace] : [name] }

    /// The selectable fields of a built-in resource; for others (and custom resources without declared
    /// selectable fields) only `metadata.name` and `metadata.namespace`. `namespaced` is used for
    /// resources Kubernetes does not special-case.
    public static func forResource(_ resource: GroupResource, namespaced: Bool = true) -> SelectableFields {
        switch (resource.group, resource.resource) {
        case ("", "pods"):
            let podFields = ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                             "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs", "status.nominatedNodeName"]
            return SelectableFields(
                resource, namespaced: true, accepted: ["metadata.name", "metadata.namespace"] + podFields,
                aliases: [("spec.host", "spec.nodeName")],
                sources: meta(true) + [
                    ("spec.nodeName", .string(["spec", "nodeName"])),
                    ("spec.restartPolicy", .string(["spec", "restartPolicy"])),
                    ("spec.schedulerName", .string(["spec", "schedulerName"])),
                    ("spec.serviceAccountName", .string(["spec", "serviceAccountName"])),
                    ("spec.hostNetwork", .bool(["spec", "hostNetwork"])),
                    ("status.phase", .string(["status", "phase"])),
                    ("status.podIP", .podIP),
                    ("status.nominatedNodeName", .string(["status", "nominatedNodeName"])),
                ],
                refusal: .notSupported)
        case ("", "nodes"):
            return SelectableFields(resource, namespaced: false, accepted: ["metadata.name", "spec.unschedulable"],
                                    sources: meta(false) + [("spec.unschedulable", .bool(["spec", "unschedulable"]))],
                                    refusal: .notSupported)
        case ("", "replicationcontrollers"):
            return SelectableFields(resource, namespaced: true, accepted: ["metadata.name", "metadata.namespace", "status.replicas"],
                                    sources: meta(true) + [("status.replicas", .int(["status", "replicas"]))],
                                    refusal: .notSupported)
        case ("", "events"):
            let labels = ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                          "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                          "reason", "reportingComponent", "source", "type", "metadata.namespace", "metadata.name"]
            return SelectableFields(
                resource, namespaced: true, accepted: labels,
                sources: meta(true) + eventObjectFields(reference: "involvedObject") + [
                    ("reason", .string(["reason"])),
                    ("reportingComponent", .string(["reportingComponent"])),
                    ("source", .eventSource(component: ["source", "component"], fallback: ["reportingComponent"])),
                    ("type", .string(["type"])),
                ],
                refusal: .notSupported)
        case ("events.k8s.io", "events"):
            let regarding = ["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"]
            return SelectableFields(
                resource, namespaced: true, accepted: ["reason", "source", "type", "metadata.namespace", "metadata.name"],
                aliases: regarding.map { ("regarding.\($0)", "involvedObject.\($0)") } + [("reportingController", "reportingComponent")],
                sources: meta(true) + eventObjectFields(reference: "regarding") + [
                    ("reason", .string(["reason"])),
                    ("reportingComponent", .string(["reportingController"])),
                    ("source", .eventSource(component: ["deprecatedSource", "component"], fallback: ["reportingController"])),
                    ("type", .string(["type"])),
                ],
                refusal: .notSupported)
        case ("", "namespaces"):
            return SelectableFields(resource, namespaced: false, accepted: ["status.phase", "metadata.name"],
                                    sources: meta(false) + [("status.phase", .string(["status", "phase"])),
                                                            ("name", .string(["metadata", "name"]))],
                                    refusal: .notSupported)
        case ("", "secrets"):
            return SelectableFields(resource, namespaced: true, accepted: ["type", "metadata.namespace", "metadata.name"],
                                    sources: meta(true) + [("type", .string(["type"]))], refusal: .notSupported)
        case ("", "services"):
            return SelectableFields(resource, namespaced: true, accepted: ["metadata.namespace", "metadata.name", "spec.clusterIP", "spec.type"],
                                    sources: meta(true) + [("spec.clusterIP", .string(["spec", "clusterIP"])),
                                                           ("spec.type", .string(["spec", "type"]))],
                                    refusal: .notSupported)
        case ("", "persistentvolumes"):
            return SelectableFields(resource, namespaced: false, accepted: ["metadata.name", "metadata.namespace"],
                                    sources: meta(false) + [("name", .string(["metadata", "name"]))], refusal: .notKnown)
        case ("", "persistentvolumeclaims"):
            return SelectableFields(resource, namespaced: true, accepted: ["metadata.name", "metadata.namespace"],
                                    sources: meta(true) + [("name", .string(["metadata", "name"]))], refusal: .notKnown)
        case ("apps", "replicasets"):
            // Kubernetes fills status.replicas but registers no label conversion for apps/v1, so
            // selecting on it is refused (kubernetes/kubernetes#135136).
            return SelectableFields(resource, namespaced: true, accepted: ["metadata.name", "metadata.namespace"],
                                    sources: meta(true) + [("status.replicas", .int(["status", "replicas"]))], refusal: .notKnown)
        case ("batch", "jobs"):
            return SelectableFields(resource, namespaced: true, accepted: ["metadata.name", "metadata.namespace", "status.successful"],
                                    sources: meta(true) + [("status.successful", .int(["status", "succeeded"]))],
                                    refusal: .notSupportedFor("Job"))
        case ("certificates.k8s.io", "certificatesigningrequests"):
            return SelectableFields(resource, namespaced: false, accepted: ["metadata.name", "spec.signerName"],
                                    sources: meta(false) + [("spec.signerName", .string(["spec", "signerName"]))],
                                    refusal: .notSupported)
        default:
            return SelectableFields(resource, namespaced: namespaced, accepted: ["metadata.name", "metadata.namespace"],
                                    sources: meta(namespaced), refusal: .notKnown)
        }
    }

    /// Selectable fields of a custom resource: `metadata.name`, `metadata.namespace` and the CRD's
    /// `selectableFields` JSON paths (`.spec.color` is selected as `spec.color`).
    public static func custom(_ resource: GroupResource, namespaced: Bool, jsonPaths: [String]) -> SelectableFields {
        var accepted = ["metadata.name", "metadata.namespace"]
        var sources = meta(namespaced)
        for path in jsonPaths {
            let label = path.hasPrefix(".") ? String(path.dropFirst()) : path
            guard !label.isEmpty, !accepted.contains(label) else { continue }
            accepted.append(label)
            sources.append((label, .scalar(label.split(separator: ".", omittingEmptySubsequences: false).map(String.init))))
        }
        return SelectableFields(resource, namespaced: namespaced, accepted: accepted, sources: sources, refusal: .notSupported)
    }

    static func eventObjectFields(reference: String) -> [(String, Source)] {
        ["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"].map {
            ("involvedObject.\($0)", .string([reference, $0]))
        }
    }

    // MARK: Use

    /// The error for a label this resource does not support, worded as kube-apiserver words it.
    public func unsupported(_ label: String) -> SelectorError {
        switch refusal {
        case .notSupported:
            return SelectorError("field label not supported: \(label)")
        case .notSupportedFor(let kind):
            return SelectorError("field label \(GoFormat.quote(label)) not supported for \(kind)")
        case .notKnown:
            return SelectorError("\(GoFormat.quote(label)) is not a known field selector: only \"metadata.name\", \"metadata.namespace\"")
        }
    }

    /// The selector with every label checked and legacy labels converted (`spec.host` -> `spec.nodeName`),
    /// or the 400 error kube-apiserver answers.
    public func convert(_ selector: FieldSelector) throws(SelectorError) -> FieldSelector {
        var reqs: [FieldSelector.Requirement] = []
        reqs.reserveCapacity(selector.requirements.count)
        for r in selector.requirements {
            guard let label = conversions[r.field] else { throw unsupported(r.field) }
            reqs.append(FieldSelector.Requirement(field: label, equals: r.equals, value: r.value))
        }
        return FieldSelector(requirements: reqs)
    }

    /// A matcher that evaluates `selector` directly on objects of this resource, reading only the
    /// fields the selector names; throws for unsupported labels.
    public func matcher(for selector: FieldSelector) throws(SelectorError) -> FieldMatcher {
        let converted = try convert(selector)
        let terms = converted.requirements.map { r in
            FieldMatcher.Term(requirement: r, source: sources.first(where: { $0.label == r.field })?.source)
        }
        return FieldMatcher(selector: converted, terms: terms)
    }

    /// Every selectable field of `object` with its value, as Kubernetes' `ToSelectableFields`.
    public func fields(of object: JSONValue) -> [String: String] {
        var out: [String: String] = [:]
        out.reserveCapacity(sources.count)
        for (label, source) in sources {
            if let v = Self.value(source, in: object) { out[label] = v }
        }
        return out
    }

    // MARK: Reading values

    @inline(__always)
    static func lookup(_ path: [String], in object: JSONValue) -> JSONValue? {
        var current = object
        for key in path {
            guard case .object(let o) = current, let next = o[key] else { return nil }
            current = next
        }
        return current
    }

    static func value(_ source: Source, in object: JSONValue) -> String? {
        switch source {
        case .string(let path):
            if case .string(let s)? = lookup(path, in: object) { return s }
            return ""
        case .bool(let path):
            if case .bool(true)? = lookup(path, in: object) { return "true" }
            return "false"
        case .int(let path):
            switch lookup(path, in: object) {
            case .int(let i)?: return String(i)
            case .double(let d)?: return GoFormat.number(d)
            default: return "0"
            }
        case .scalar(let path):
            switch lookup(path, in: object) {
            case .string(let s)?: return s
            case .bool(let b)?: return b ? "true" : "false"
            case .int(let i)?: return String(i)
            case .double(let d)?: return GoFormat.number(d)
            default: return nil
            }
        case .podIP:
            if case .array(let ips)? = lookup(["status", "podIPs"], in: object), let first = ips.first {
                if case .string(let ip)? = first["ip"] { return ip }
                return ""
            }
            if case .string(let s)? = lookup(["status", "podIP"], in: object) { return s }
            return ""
        case .eventSource(let component, let fallback):
            if case .string(let s)? = lookup(component, in: object), !s.isEmpty { return s }
            if case .string(let s)? = lookup(fallback, in: object) { return s }
            return ""
        }
    }
}

/// Every selectable field of `object` for the resource `group`/`resource` with its value
/// (`metadata.name`, `metadata.namespace`, `spec.nodeName`, …), as Kubernetes' `ToSelectableFields`.
public func selectableFields(group: String, resource: String, namespaced: Bool = true, object: JSONValue) -> [String: String] {
    SelectableFields.forResource(GroupResource(group: group, resource: resource), namespaced: namespaced).fields(of: object)
}
