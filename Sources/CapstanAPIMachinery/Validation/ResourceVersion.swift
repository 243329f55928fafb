/// `resourceVersion` strings as kube-apiserver's storage layer reads them: an unsigned decimal
/// revision, where `""` and `"0"` both mean "no particular version" (0).
public enum ResourceVersion {
    /// The revision in `value`, or a field error naming `resourceVersion` with Go's parse message
    /// (`resourceVersion: Invalid value: "x": strconv.ParseUint: parsing "x": invalid syntax`).
    public static func parse(_ value: String, path: FieldPath = "resourceVersion") throws(FieldError) -> UInt64 {
        if value.isEmpty || value == "0" { return 0 }
        switch GoFormat.parseUInt64(value) {
        case .success(let v):
            return v
        case .failure(let e):
            throw FieldError.invalid(path, value: value, GoFormat.numberErrorText(function: "ParseUint", input: value, e))
        }
    }

    /// The 400 a list with an unparsable `resourceVersion` gets: `invalid resource version: resourceVersion: Invalid value: …`.
    public static func badRequest(_ error: FieldError) -> APIError {
        .badRequest("invalid resource version: \(error)")
    }
}
