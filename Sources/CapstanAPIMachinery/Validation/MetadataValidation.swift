import CapstanAPI

/// Validation of labels, annotations and object metadata as Kubernetes performs it on every write
/// (`ValidateObjectMetaAccessor` and friends). Errors are returned in a stable order (map keys sorted).
public enum MetadataValidation {
    /// The most bytes all annotation keys and values of one object may hold together (256 KiB).
    public static let totalAnnotationSizeLimit = 256 * 1024

    /// Label keys must be qualified names and values valid label values (`metadata.labels: Invalid value: "x": …`).
    public static func validateLabels(_ labels: [String: String], path: FieldPath = "metadata.labels") -> [FieldError] {
        var errs: [FieldError] = []
        for key in labels.keys.sorted(by: GoFormat.byteOrder) {
            errs += validateLabelName(key, path: path)
            for msg in NameValidation.labelValue(labels[key] ?? "") {
                errs.append(.invalid(path, value: labels[key] ?? "", msg))
            }
        }
        return errs
    }

    /// A label key, or any other qualified name, one error per message.
    public static func validateLabelName(_ name: String, path: FieldPath) -> [FieldError] {
        NameValidation.qualifiedName(name).map { .invalid(path, value: name, $0) }
    }

    /// Annotation keys must be qualified names (case-insensitively) and keys plus values at most 256 KiB in total.
    public static func validateAnnotations(_ annotations: [String: String], path: FieldPath = "metadata.annotations") -> [FieldError] {
        var errs: [FieldError] = []
        var total = 0
        for key in annotations.keys.sorted(by: GoFormat.byteOrder) {
            for msg in NameValidation.qualifiedName(key.lowercased()) {
                errs.append(.invalid(path, value: key, msg))
            }
            total += key.utf8.count + (annotations[key]?.utf8.count ?? 0)
        }
        if total > totalAnnotationSizeLimit {
            errs.append(.tooLong(path, maxLength: totalAnnotationSizeLimit))
        }
        return errs
    }

    /// Finalizers must be qualified names, and `orphan` and `foregroundDeletion` cannot both be set.
    public static func validateFinalizers(_ finalizers: [String], path: FieldPath = "metadata.finalizers") -> [FieldError] {
        var errs: [FieldError] = []
        for f in finalizers {
            errs += NameValidation.qualifiedName(f).map { .invalid(path, value: f, $0) }
        }
        if finalizers.contains("orphan") && finalizers.contains("foregroundDeletion") {
            errs.append(.invalid(path, value: .array(finalizers.map { .string($0) }),
                                 "finalizer orphan and foregroundDeletion cannot be both set"))
        }
        return errs
    }

    /// Owner references need apiVersion (with a version), kind, name and uid; at most one may be the controller;
    /// events cannot own objects. Paths are not indexed, as in Kubernetes.
    public static func validateOwnerReferences(_ refs: [JSONValue], path: FieldPath = "metadata.ownerReferences") -> [FieldError] {
        var errs: [FieldError] = []
        var firstController = ""
        for ref in refs {
            let apiVersion = ref["apiVersion"]?.stringValue ?? ""
            let kind = ref["kind"]?.stringValue ?? ""
            let name = ref["name"]?.stringValue ?? ""
            let uid = ref["uid"]?.stringValue ?? ""
            let (group, version) = splitAPIVersion(apiVersion)
            if version.isEmpty { errs.append(.invalid(path.child("apiVersion"), value: apiVersion, "version must not be empty")) }
            if kind.isEmpty { errs.append(.invalid(path.child("kind"), value: kind, "must not be empty")) }
            if name.isEmpty { errs.append(.invalid(path.child("name"), value: name, "must not be empty")) }
            if uid.isEmpty { errs.append(.invalid(path.child("uid"), value: uid, "must not be empty")) }
            if group.isEmpty && version == "v1" && kind == "Event" {
                errs.append(.invalid(path, value: ref, "/v1, Kind=Event is disallowed from being an owner"))
            }
            if case .bool(true)? = ref["controller"] {
                let current = kind + "/" + name
                if firstController.isEmpty {
                    firstController = current
                } else {
                    errs.append(.invalid(path, value: .array(refs),
                                         "Only one reference can have Controller set to true. Found \"true\" in references for \(firstController) and \(current)"))
                }
            }
        }
        return errs
    }

    /// Checks the metadata of an object being created or updated: `name` (or `generateName`) with the
    /// kind's name rules, `namespace` present exactly when the kind is namespaced, `generation`,
    /// labels, annotations, owner references and finalizers. `metadata` is the object's metadata value.
    public static func validateObjectMeta(
        _ metadata: JSONValue?, namespaced: Bool, nameValidator: NameValidator = .dns1123Subdomain,
        path: FieldPath = "metadata"
    ) -> [FieldError] {
        let meta = metadata ?? .object([:])
        var errs: [FieldError] = []
        let generateName = meta["generateName"]?.stringValue ?? ""
        let name = meta["name"]?.stringValue ?? ""
        let namespace = meta["namespace"]?.stringValue ?? ""
        if !generateName.isEmpty {
            for msg in nameValidator.validate(generateName, prefix: true) {
                errs.append(.invalid(path.child("generateName"), value: generateName, msg))
            }
        }
        if name.isEmpty {
            errs.append(.required(path.child("name"), "name or generateName is required"))
        } else {
            for msg in nameValidator.validate(name, prefix: false) {
                errs.append(.invalid(path.child("name"), value: name, msg))
            }
        }
        if namespaced {
            if namespace.isEmpty {
                errs.append(.required(path.child("namespace")))
            } else {
                for msg in NameValidator.dns1123Label.validate(namespace, prefix: false) {
                    errs.append(.invalid(path.child("namespace"), value: namespace, msg))
                }
            }
        } else if !namespace.isEmpty {
            errs.append(.forbidden(path.child("namespace"), "not allowed on this type"))
        }
        if case .int(let generation)? = meta["generation"], generation < 0 {
            errs.append(.invalid(path.child("generation"), value: generation, "must be greater than or equal to 0"))
        }
        errs += validateLabels(stringMap(meta["labels"]), path: path.child("labels"))
        errs += validateAnnotations(stringMap(meta["annotations"]), path: path.child("annotations"))
        errs += validateOwnerReferences(meta["ownerReferences"]?.arrayValue ?? [], path: path.child("ownerReferences"))
        errs += validateFinalizers((meta["finalizers"]?.arrayValue ?? []).compactMap(\.stringValue), path: path.child("finalizers"))
        return errs
    }

    /// The string entries of a JSON object (labels, annotations); other values are skipped.
    static func stringMap(_ value: JSONValue?) -> [String: String] {
        guard case .object(let o)? = value else { return [:] }
        var out: [String: String] = [:]
        out.reserveCapacity(o.count)
        for (k, v) in o { if case .string(let s) = v { out[k] = s } }
        return out
    }

    /// `apps/v1` -> ("apps", "v1"); `v1` -> ("", "v1"); as `schema.ParseGroupVersion` for owner references.
    static func splitAPIVersion(_ apiVersion: String) -> (group: String, version: String) {
        let parts = apiVersion.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return ("", apiVersion)
        case 2: return (String(parts[0]), String(parts[1]))
        default: return ("", "")
        }
    }
}
