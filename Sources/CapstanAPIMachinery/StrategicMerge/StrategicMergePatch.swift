import CapstanAPI

/// A strategic merge patch (`application/strategic-merge-patch+json`), applied as kube-apiserver applies
/// it (`k8s.io/apimachinery/pkg/util/strategicpatch`), with the patch metadata of the generated schema.
///
/// - Objects merge key by key; `null` deletes a key. A field with strategy `replace` is replaced whole.
/// - Lists with strategy `merge` and a merge key merge item by item: a patch item merges into the
///   original item with the same key, new items are added, and the result is ordered as Kubernetes
///   orders it (patch items in patch order, the other items in their original order, interleaved).
///   Lists of primitives with strategy `merge` form a union. All other lists are replaced.
/// - Directives: `$patch: replace` (an object, or a list through an item `{"$patch": "replace"}`),
///   `$patch: delete` (an object, or a list item by its merge key), `$patch: merge` (the default, stated),
///   `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>` and `$retainKeys`.
/// - Values taken whole from the patch lose `null` members and directives, as in kube-apiserver.
/// - Fields without patch metadata merge as in a JSON merge patch (see ``StrategicMergeSchema``).
///
/// Where kube-apiserver fails with a bare Go error (a 500), this answers 400 naming the cause when the patch
/// is at fault, and 422 when the stored object is (a merging list item without its merge key) or where
/// kube-apiserver answers 422 (lists of lists). It is stricter than kube-apiserver in a few places, refusing instead of
/// guessing: a list item that holds `$patch: replace` and fields (kube-apiserver drops the item), an
/// unknown `$patch` in a value taken whole (dropped there), a `$deleteFromPrimitiveList` that is not a list
/// or names a list of objects, and patches nesting deeper than ``maximumDepth``. It is more lenient in
/// others: `$patch: merge` is accepted, and objects under map fields and under fields the schema does not
/// describe merge instead of failing.
public struct StrategicMergePatch: Sendable, Hashable {
    /// The deepest nesting of objects and lists the patch may reach (real patches stay under 50 levels).
    /// The merge recurses once per level, so this bounds its stack.
    public static let maximumDepth = 128

    /// The patch object.
    public let patch: [String: JSONValue]

    /// Reads a strategic merge patch; it must be a JSON object (400 otherwise).
    public init(_ patch: JSONValue) throws(PatchError) {
        guard case .object(let o) = patch else {
            throw PatchError(.malformed, "json: cannot unmarshal \(JSONPatch.goTypeName(patch)) into Go value of type map[string]interface {}")
        }
        self.patch = o
    }

    /// Reads `patch` and applies it to `original`, an object of the type `schema` describes.
    public static func apply(_ patch: JSONValue, to original: JSONValue, schema: StrategicMergeSchema) throws(PatchError) -> JSONValue {
        try StrategicMergePatch(patch).apply(to: original, schema: schema)
    }

    /// Reads `patch` and applies it to `original`, an object of `definition` (`io.k8s.api.apps.v1.Deployment`)
    /// in the built-in schema.
    public static func apply(_ patch: JSONValue, to original: JSONValue, definition: String) throws(PatchError) -> JSONValue {
        try StrategicMergePatch(patch).apply(to: original, schema: StrategicMergeSchema(definition: definition))
    }

    /// `original` with the patch applied; an original that is not an object counts as an empty one.
    public func apply(to original: JSONValue, schema: StrategicMergeSchema) throws(PatchError) -> JSONValue {
        var merger = StrategicMerger(schema: schema)
        var object = original.objectValue ?? [:]
        try merger.mergeObject(into: &object, patch, shape: schema.rootShape, depth: 1)
        return .object(object)
    }
}
