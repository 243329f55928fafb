/// The `includeObject` query parameter: what each Table row carries in `object`.
public enum IncludeObjectPolicy: String, Sendable, Hashable, CaseIterable {
    /// `object` is null.
    case none = "None"
    /// `object` is a `PartialObjectMetadata` (the default).
    case metadata = "Metadata"
    /// `object` is the whole object (kubectl asks for this with `--sort-by`).
    case object = "Object"

    /// Parses the query value; absent or empty means `.metadata`. Nil for anything else, which
    /// the server answers with 400 BadRequest `unrecognized includeObject value: "x"`.
    public init?(queryValue: String?) {
        guard let v = queryValue, !v.isEmpty else {
            self = .metadata
            return
        }
        self.init(rawValue: v)
    }
}
