import CapstanAPI

/// Assembles `meta.k8s.io` Table documents, as the API server answers a request with
/// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`:
///
///     {"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"12"},
///      "columnDefinitions":[...],"rows":[{"cells":[...],"object":{...}}]}
///
/// Each row's `object` follows `includeObject`: a `PartialObjectMetadata` (default), the whole
/// object, or null. For a watch, every event carries a Table with one row; the server sends the
/// column definitions with the first event only (`columnDefinitions` is null afterwards).
public struct TableBuilder: Sendable {
    public static let v1 = "meta.k8s.io/v1"
    public static let v1beta1 = "meta.k8s.io/v1beta1"

    public var printer: TablePrinter
    public var includeObject: IncludeObjectPolicy
    /// `meta.k8s.io/v1` or `meta.k8s.io/v1beta1`, as negotiated from the Accept header; also the
    /// group version of the embedded `PartialObjectMetadata`.
    public var apiVersion: String

    public init(printer: TablePrinter, includeObject: IncludeObjectPolicy = .metadata, apiVersion: String = TableBuilder.v1) {
        self.printer = printer
        self.includeObject = includeObject
        self.apiVersion = apiVersion
    }

    /// The Table for a list: one row per object, `metadata` from the list (resourceVersion,
    /// continue, remainingItemCount).
    public func list(_ objects: [JSONValue], metadata: TableListMetadata, now: MetaV1.MicroTime) -> JSONValue {
        table(rows: printer.rows(for: objects, now: now), metadata: metadata, includeColumnDefinitions: true)
    }

    /// The Table for one object (a get, or a watch event): one row, `metadata.resourceVersion`
    /// from the object. Pass `includeColumnDefinitions: false` for watch events after the first.
    public func single(_ object: JSONValue, now: MetaV1.MicroTime, includeColumnDefinitions: Bool = true) -> JSONValue {
        table(rows: [printer.row(for: object, now: now)], metadata: TableListMetadata(object: object),
              includeColumnDefinitions: includeColumnDefinitions)
    }

    /// A Table from rows already printed.
    public func table(rows: [TableRow], metadata: TableListMetadata, includeColumnDefinitions: Bool = true) -> JSONValue {
        .object([
            "kind": .string("Table"),
            "apiVersion": .string(apiVersion),
            "metadata": metadata.json,
            "columnDefinitions": includeColumnDefinitions ? .array(printer.columnDefinitions.map(\.json)) : .null,
            "rows": .array(rows.map(rowJSON)),
        ])
    }

    /// One row as the Table carries it.
    public func rowJSON(_ row: TableRow) -> JSONValue {
        var o: [String: JSONValue] = ["cells": .array(row.cells)]
        if !row.conditions.isEmpty { o["conditions"] = .array(row.conditions.map(\.json)) }
        switch includeObject {
        case .none: o["object"] = .null
        case .metadata: o["object"] = TableBuilder.partialObjectMetadata(of: row.object, apiVersion: apiVersion)
        case .object: o["object"] = row.object
        }
        return .object(o)
    }

    /// `{"kind":"PartialObjectMetadata","apiVersion":...,"metadata":<the object's metadata>}`.
    public static func partialObjectMetadata(of object: JSONValue, apiVersion: String = TableBuilder.v1) -> JSONValue {
        .object([
            "kind": .string("PartialObjectMetadata"),
            "apiVersion": .string(apiVersion),
            "metadata": object["metadata"]?.objectValue.map(JSONValue.object) ?? .object([:]),
        ])
    }
}
