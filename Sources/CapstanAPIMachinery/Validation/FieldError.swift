import CapstanAPI

/// One field-level validation failure, rendered exactly as Kubernetes' `field.Error`
/// (`spec.containers[0].name: Required value`); a 422 `Invalid` Status lists them as causes.
public struct FieldError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure; its raw value is the Status cause `reason` (`FieldValueRequired`).
    public struct ErrorType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The cause types Kubernetes defines (`metav1.CauseType`).
        public static let notFound = ErrorType(rawValue: "FieldValueNotFound")
        public static let required = ErrorType(rawValue: "FieldValueRequired")
        public static let duplicate = ErrorType(rawValue: "FieldValueDuplicate")
        public static let invalid = ErrorType(rawValue: "FieldValueInvalid")
        public static let notSupported = ErrorType(rawValue: "FieldValueNotSupported")
        public static let forbidden = ErrorType(rawValue: "FieldValueForbidden")
        public static let tooLong = ErrorType(rawValue: "FieldValueTooLong")
        public static let tooMany = ErrorType(rawValue: "FieldValueTooMany")
        public static let `internal` = ErrorType(rawValue: "InternalError")
        public static let typeInvalid = ErrorType(rawValue: "FieldValueTypeInvalid")

        /// The words Kubernetes prints for this type (`Required value`, `Unsupported value`).
        public var description: String {
            switch rawValue {
            case "FieldValueNotFound": return "Not found"
            case "FieldValueRequired": return "Required value"
            case "FieldValueDuplicate": return "Duplicate value"
            case "FieldValueInvalid", "FieldValueTypeInvalid": return "Invalid value"
            case "FieldValueNotSupported": return "Unsupported value"
            case "FieldValueForbidden": return "Forbidden"
            case "FieldValueTooLong": return "Too long"
            case "FieldValueTooMany": return "Too many"
            case "InternalError": return "Internal error"
            default: return "<unknown error \(GoFormat.quote(rawValue))>"
            }
        }

        /// Types whose message never shows the bad value.
        var omitsValue: Bool {
            self == .required || self == .forbidden || self == .tooLong || self == .internal
        }
    }

    /// The kind of failure.
    public let type: ErrorType
    /// The field path (`metadata.name`).
    public let field: String
    /// The bad value as Kubernetes renders it (`"x"`, `5`, `["a","b"]`), or nil when not shown.
    public let renderedValue: String?
    /// Free-text detail after the value.
    public let detail: String

    /// A field error with an already rendered value; prefer the typed constructors.
    public init(type: ErrorType, field: String, renderedValue: String?, detail: String) {
        self.type = type
        self.field = field
        self.renderedValue = renderedValue
        self.detail = detail
    }

    /// The message without the field (`Invalid value: "x": must be ...`), used as the Status cause message.
    public var body: String {
        var s = type.description
        if !type.omitsValue, let renderedValue { s += ": " + renderedValue }
        if !detail.isEmpty { s += ": " + detail }
        return s
    }

    /// `field: body`, as `field.Error.Error()`.
    public var description: String { "\(field): \(body)" }

    /// The Status cause for this error.
    public var cause: APIError.Cause { APIError.Cause(reason: type.rawValue, message: body, field: field) }
}

extension FieldError {
    /// Renders a string bad value as Go's `%q`.
    public static func render(_ value: String) -> String { GoFormat.quote(value) }

    /// Renders a JSON bad value as `field.Error` does: strings quoted, numbers and booleans plain, others as JSON.
    public static func render(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return GoFormat.quote(s)
        case .int(let i): return String(i)
        case .double(let d): return GoFormat.number(d)
        case .bool(let b): return b ? "true" : "false"
        case .null, .array, .object: return GoFormat.json(value)
        }
    }

    /// `field.Required`: `Required value` (with an optional detail).
    public static func required(_ path: FieldPath, _ detail: String = "") -> FieldError {
        FieldError(type: .required, field: path.description, renderedValue: nil, detail: detail)
    }

    /// `field.Invalid` for a string value: `Invalid value: "x": detail`.
    public static func invalid(_ path: FieldPath, value: String, _ detail: String) -> FieldError {
        FieldError(type: .invalid, field: path.description, renderedValue: render(value), detail: detail)
    }

    /// `field.Invalid` for an integer value.
    public static func invalid(_ path: FieldPath, value: Int64, _ detail: String) -> FieldError {
        FieldError(type: .invalid, field: path.description, renderedValue: String(value), detail: detail)
    }

    /// `field.Invalid` for any JSON value.
    public static func invalid(_ path: FieldPath, value: JSONValue, _ detail: String) -> FieldError {
        FieldError(type: .invalid, field: path.description, renderedValue: render(value), detail: detail)
    }

    /// `field.NotSupported`: `Unsupported value: "x": supported values: "a", "b"`.
    public static func notSupported(_ path: FieldPath, value: String, supported: [String]) -> FieldError {
        let detail = supported.isEmpty ? "" : "supported values: " + supported.map(GoFormat.quote).joined(separator: ", ")
        return FieldError(type: .notSupported, field: path.description, renderedValue: render(value), detail: detail)
    }

    /// `field.Duplicate`: `Duplicate value: "x"`.
    public static func duplicate(_ path: FieldPath, value: String) -> FieldError {
        FieldError(type: .duplicate, field: path.description, renderedValue: render(value), detail: "")
    }

    /// `field.Duplicate` for any JSON value.
    public static func duplicate(_ path: FieldPath, value: JSONValue) -> FieldError {
        FieldError(type: .duplicate, field: path.description, renderedValue: render(value), detail: "")
    }

    /// `field.Forbidden`: `Forbidden: detail`.
    public static func forbidden(_ path: FieldPath, _ detail: String) -> FieldError {
        FieldError(type: .forbidden, field: path.description, renderedValue: nil, detail: detail)
    }

    /// `field.TooLong`: `Too long: may not be more than N bytes`.
    public static func tooLong(_ path: FieldPath, maxLength: Int) -> FieldError {
        let detail = maxLength >= 0 ? "may not be more than \(maxLength) \(maxLength == 1 ? "byte" : "bytes")" : "value is too long"
        return FieldError(type: .tooLong, field: path.description, renderedValue: nil, detail: detail)
    }

    /// `field.TooMany`: `Too many: 12: must have at most 10 items`.
    public static func tooMany(_ path: FieldPath, actual: Int, max: Int) -> FieldError {
        let detail = max >= 0 ? "must have at most \(max) \(max == 1 ? "item" : "items")" : "has too many items"
        return FieldError(type: .tooMany, field: path.description, renderedValue: actual >= 0 ? String(actual) : nil, detail: detail)
    }

    /// `field.NotFound`: `Not found: "x"`.
    public static func notFound(_ path: FieldPath, value: String) -> FieldError {
        FieldError(type: .notFound, field: path.description, renderedValue: render(value), detail: "")
    }

    /// `field.InternalError`: `Internal error: detail`.
    public static func internalError(_ path: FieldPath, _ detail: String) -> FieldError {
        FieldError(type: .internal, field: path.description, renderedValue: nil, detail: detail)
    }

    /// The error for changing a field that cannot change: `Invalid value: "x": field is immutable`.
    public static func immutable(_ path: FieldPath, value: JSONValue) -> FieldError {
        invalid(path, value: value, "field is immutable")
    }

    /// Joins messages as Kubernetes' error aggregate does: duplicates dropped, one message alone,
    /// several as `[a, b]`; nil for none.
    public static func aggregate(_ errors: [FieldError]) -> String? {
        aggregate(messages: errors.map(\.description))
    }

    static func aggregate(messages: [String]) -> String? {
        var seen = Set<String>()
        var unique: [String] = []
        for m in messages where seen.insert(m).inserted { unique.append(m) }
        switch unique.count {
        case 0: return nil
        case 1: return unique[0]
        default: return "[" + unique.joined(separator: ", ") + "]"
        }
    }
}
