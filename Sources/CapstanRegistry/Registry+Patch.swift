import CapstanAPI
import CapstanAPIMachinery

/// The patch formats of `PATCH` requests, by content type.
public enum PatchType: String, Sendable, CaseIterable {
    case json = "application/json-patch+json"
    case merge = "application/merge-patch+json"
    case strategic = "application/strategic-merge-patch+json"
    case apply = "application/apply-patch+yaml"

    /// The patch types this server applies.
    public static let supported = [PatchType.json, .merge, .strategic, .apply].map(\.rawValue)

    public init?(contentType: String) {
        let base = contentType.split(separator: ";").first.map { $0.trimmedWhitespace } ?? ""
        self.init(rawValue: base)
    }
}

extension Registry {
    /// Applies a patch to the current object and writes the result, retrying on conflicts unless
    /// the patch itself carries a resourceVersion precondition.
    public func patch(_ r: RegisteredResource, namespace: String?, name: String, type: PatchType, body: [UInt8],
                      subresource: Subresource, options: WriteOptions) async throws(APIError) -> WriteResult {
        if type == .apply {
            return try await apply(r, namespace: namespace, name: name, body: body, subresource: subresource, options: options)
        }
        if options.force { throw Self.invalidPatchOptions(.forbidden("force", "may not be specified for non-apply patch")) }
        let patch: JSONValue
        do {
            patch = try JSONValue.parse(body)
        } catch {
            throw APIError.badRequest("the body of the request was in an unknown format: \(error.description)")
        }
        switch type {
        case .json:
            guard case .array = patch else {
                throw APIError.badRequest("json patch must be a list of operations")
            }
        case .merge, .strategic:
            guard case .object = patch else {
                throw APIError.badRequest("the patch must be a JSON object")
            }
        case .apply:
            throw APIError.unsupportedMediaType(accepted: PatchType.supported)
        }
        // A resourceVersion in a merge patch is a precondition, as on Kubernetes.
        var precondition: Int64? = nil
        if type != .json, let rv = patch["metadata"]?["resourceVersion"]?.stringValue {
            precondition = try parseRV(rv)
        }
        // A merge patch changes only the top-level members it names; the rest is the stored
        // object, already pruned (directives at the top level, and JSON patches, walk it all).
        var members: Set<String>? = nil
        if type != .json, case .object(let p) = patch, !p.keys.contains(where: { $0.hasPrefix("$") }) {
            members = Set(p.keys)
        }
        return try await replace(r, namespace: namespace, name: name, subresource: subresource, options: options,
                                 precondition: precondition, pruneMembers: members) { (current: [String: JSONValue]) throws(APIError) in
            let patched: JSONValue
            do {
                switch type {
                case .json:
                    patched = try JSONPatch.apply(patch, to: .object(current))
                case .merge:
                    patched = try JSONMergePatch.apply(patch, to: .object(current))
                case .strategic:
                    // Driven by the schema's patch strategies and merge keys (what `kubectl apply` sends).
                    patched = try StrategicMergePatch.apply(patch, to: .object(current),
                                                            schema: StrategicMergeSchema(definition: r.info.definition, in: self.schema))
                case .apply:
                    throw APIError.unsupportedMediaType(accepted: PatchType.supported)
                }
            } catch let e as PatchError {
                throw e.apiError
            } catch let e as APIError {
                throw e
            } catch {
                throw APIError.internalError("\(error)")
            }
            guard case .object(var o) = patched else { throw APIError.badRequest("the patched object is not an object") }
            // The patch may not rename or move the object.
            if let newName = o.object("metadata")?.string("name"), newName != name {
                throw APIError.badRequest("the name of the object (\(newName)) does not match the name on the URL (\(name))")
            }
            if type == .json, let rv = o.object("metadata")?.string("resourceVersion"),
               rv != current.object("metadata")?.string("resourceVersion") {
                throw APIError.objectModified(GroupResource(group: r.group, resource: r.plural), name: name)
            }
            o.edit("metadata") { $0["resourceVersion"] = nil }
            return o
        }
    }
}
