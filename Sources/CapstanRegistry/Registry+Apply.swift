import CapstanAPI
import CapstanAPIMachinery

extension Registry {
    /// Server-side apply (`PATCH` with `application/apply-patch+yaml`): merges the applied
    /// configuration (YAML or JSON) into the live object by the schema, records the manager's fields
    /// as operation `Apply`, answers 409 on conflicts unless `force`, and creates the object when it
    /// does not exist.
    func apply(_ r: RegisteredResource, namespace: String?, name: String, body: [UInt8], subresource: Subresource,
               options: WriteOptions) async throws(APIError) -> WriteResult {
        guard let manager = options.fieldManager, !manager.isEmpty else {
            throw Self.invalidPatchOptions(.required("fieldManager", "is required for apply patch"))
        }
        var (config, warnings) = try applyConfiguration(body, r, name: name, options: options)
        var precondition: Int64? = nil
        if let rv = config.object("metadata")?.string("resourceVersion") {
            precondition = try parseRV(rv)
            config.edit("metadata") { $0["resourceVersion"] = nil }
        }
        let fields = fieldManager(r, subresource: subresource)
        var inner = options
        inner.managedFieldsSet = true
        for _ in 0..<4 {
            do {
                var result = try await replace(r, namespace: namespace, name: name, subresource: subresource, options: inner,
                                               precondition: precondition) { (current: [String: JSONValue]) throws(APIError) in
                    let live = JSONValue.object(current)
                    let entries = (try? ManagedFieldsEntry.decode(live["metadata"]?["managedFields"])) ?? []
                    return try self.applied(fields, live: live, config: config, managed: entries, manager: manager, options: options)
                }
                result.warnings = warnings + result.warnings
                return result
            } catch let error where error.code == 404 && error.details?.kind == r.plural && subresource == .main {
                // Apply creates what does not exist yet.
                var object = JSONValue.object(try applied(fields, live: nil, config: config, managed: [], manager: manager,
                                                          options: options))
                do {
                    var result = try await create(r, namespace: namespace, object: &object, options: inner)
                    result.warnings = warnings + result.warnings
                    return result
                } catch let error where error.code == 409 && error.reason == .alreadyExists {
                    continue  // Created meanwhile: apply to it.
                }
            }
        }
        throw APIError.objectModified(r.groupResource, name: name)
    }

    private func applied(_ fields: FieldManager, live: JSONValue?, config: [String: JSONValue], managed: [ManagedFieldsEntry],
                         manager: String, options: WriteOptions) throws(APIError) -> [String: JSONValue] {
        var force = options.force
        for _ in 0..<2 {
            do {
                let result = try fields.apply(live: live, config: .object(config), managed: managed, manager: manager,
                                              force: force, time: timestamp)
                var object = result.object.objectValue ?? [:]
                FieldManager.setManagedFields(result.managedFields, on: &object)
                if manager == "kubectl", let live { Self.updateLastApplied(&object, live: live, config: config) }
                return object
            } catch {
                // `kubectl apply --server-side` after client-side apply: fields the last-applied
                // configuration holds are taken over without conflicts, as Kubernetes allows.
                guard manager == "kubectl", !force, let live,
                      let allowed = Self.lastAppliedFields(live, fields) else { throw error.apiError }
                guard error.conflicts.allSatisfy({ allowed.contains($0.path.elements) }) else { throw error.apiError }
                force = true
            }
        }
        throw APIError.internalError("apply did not converge")
    }

    static let lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

    /// The fields of the live object's last-applied configuration (client-side apply), if any.
    static func lastAppliedFields(_ live: JSONValue, _ fields: FieldManager) -> FieldSet? {
        guard let text = live["metadata"]?["annotations"]?[lastAppliedAnnotation]?.stringValue,
              let last = try? JSONValue.parse(Array(text.utf8)), case .object = last else { return nil }
        return fields.schema.fieldSet(of: last)
    }

    /// Keeps a client-side apply annotation in step with what kubectl now applies server-side, so
    /// going back to client-side apply sees the current configuration.
    static func updateLastApplied(_ object: inout [String: JSONValue], live: JSONValue, config: [String: JSONValue]) {
        guard live["metadata"]?["annotations"]?[lastAppliedAnnotation] != nil else { return }
        var applied = config
        applied.edit("metadata") { meta in
            meta.edit("annotations") { $0[lastAppliedAnnotation] = nil }
            if meta.object("annotations")?.isEmpty == true { meta["annotations"] = nil }
        }
        object.edit("metadata") { meta in
            meta.edit("annotations") {
                $0[lastAppliedAnnotation] = .string(String(decoding: JSONValue.object(applied).serialized(), as: UTF8.self))
            }
        }
    }

    /// The applied configuration as an object of this resource, with unknown fields handled by
    /// `fieldValidation` (the warnings are returned).
    private func applyConfiguration(_ body: [UInt8], _ r: RegisteredResource, name: String,
                                    options: WriteOptions) throws(APIError) -> ([String: JSONValue], [String]) {
        var duplicates: [String] = []
        let value: JSONValue
        do {
            value = try Self.parseYAMLOrJSON(body, duplicates: &duplicates)
        } catch {
            throw APIError.badRequest("error decoding YAML: \(error)")
        }
        guard case .object(var config) = value else {
            throw APIError.badRequest("the apply patch must be a YAML or JSON object, not \(value.description.prefix(40))")
        }
        guard config["apiVersion"]?.stringValue?.isEmpty == false, config["kind"]?.stringValue?.isEmpty == false else {
            throw APIError.badRequest("invalid object type: apiVersion and kind must be set in an apply patch")
        }
        try checkTypeMetaObject(&config, r)
        if let given = config.object("metadata")?.string("name"), !given.isEmpty, given != name {
            throw APIError.badRequest("the name of the object (\(given)) does not match the name on the URL (\(name))")
        }
        config.edit("metadata") { $0["name"] = .string(name) }
        // Partial objects are the point of apply: only unknown fields and wrong types count here.
        var walked = JSONValue.object(config)
        let result = walker.walk(&walked, definition: r.info.definition)
        if let typeError = result.typeErrors.first {
            throw APIError.badRequest("\(r.kind) in version \"\(r.version)\" cannot be handled as a \(r.kind): \(typeError)")
        }
        let problems = duplicates.map { "duplicate field \"\($0)\"" } + result.unknownFields.map { "unknown field \"\($0)\"" }
        if options.fieldValidation == .strict, !problems.isEmpty {
            throw APIError.badRequest("\(r.kind) in version \"\(r.version)\" cannot be handled as a \(r.kind): strict decoding error: "
                                      + problems.joined(separator: ", "))
        }
        return (walked.objectValue ?? config, options.fieldValidation == .warn ? problems : [])
    }

    /// JSON when the body is JSON, YAML otherwise (YAML is a superset, but JSON parses faster).
    public static func parseYAMLOrJSON(_ body: [UInt8], duplicates: inout [String]) throws(YAMLError) -> JSONValue {
        let first = body.first { $0 != 32 && $0 != 9 && $0 != 10 && $0 != 13 }
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
            var dups: [String] = []
            if let v = try? withUnsafeMutablePointer(to: &dups, { p in try JSONValue.parse(body, duplicateKeys: p) }) {
                duplicates += dups
                return v
            }
        }
        return try YAML.parse(String(decoding: body, as: UTF8.self), duplicateKeys: &duplicates)
    }
}
