import CapstanAPI
import CapstanAPIMachinery

/// Keeps `metadata.managedFields` up to date on every write, as kube-apiserver's field manager
/// does: creates, updates and patches are recorded as operation `Update` by the manager the request
/// names (`fieldManager`) or its User-Agent's first segment.
extension Registry {
    func fieldManager(_ r: RegisteredResource, subresource: Subresource) -> FieldManager {
        FieldManager(schema: ApplySchema(definition: r.info.definition, in: schema), apiVersion: r.apiVersion,
                     subresource: subresource == .status ? "status" : "", hasStatus: r.hasStatus)
    }

    /// Records what the write from `old` to `new` changed in `new`'s managed fields.
    func trackManagedFields(old: [String: JSONValue]?, new: inout [String: JSONValue], _ r: RegisteredResource,
                            subresource: Subresource, options: WriteOptions) {
        guard subresource != .binding else { return }
        let base = FieldManager.baseEntries(live: old.map(JSONValue.object), request: .object(new))
        let manager = FieldManager.managerName(fieldManager: options.fieldManager, userAgent: options.userAgent)
        let entries = fieldManager(r, subresource: subresource).update(
            live: old.map(JSONValue.object), new: .object(new), managed: base, manager: manager, time: timestamp)
        FieldManager.setManagedFields(entries, on: &new)
    }

    /// 422 for `PatchOptions` that do not validate (a missing field manager on apply, `force` on
    /// another patch type), worded as Kubernetes words them.
    static func invalidPatchOptions(_ error: FieldError) -> APIError {
        APIError.invalid(GroupKind(group: "meta.k8s.io", kind: "PatchOptions"), name: "", errors: [error])
    }
}
