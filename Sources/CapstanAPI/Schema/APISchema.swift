#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The structural schema of every generated definition and the table of built-in resources,
/// decoded once from the generated `APISchemaData`.
public struct APISchema: Sendable {
    public let types: [String: TypeSchema]
    public let resources: [ResourceInfo]

    private let byGroupVersionResource: [String: Int]
    private let byGroupVersionKind: [GroupVersionKind: Int]

    /// The schema of the built-in API (Kubernetes v1.33).
    public static let builtIn: APISchema = {
        do {
            return try APISchema(json: Array(APISchemaData.json.utf8))
        } catch {
            preconditionFailure("generated APISchemaData does not decode: \(error)")
        }
    }()

    init(json: [UInt8]) throws {
        let raw = try JSONDecoder().decode(Raw.self, from: Data(json))
        types = raw.types
        resources = raw.resources
        var gvr: [String: Int] = [:]
        var gvk: [GroupVersionKind: Int] = [:]
        for (i, r) in raw.resources.enumerated() {
            gvr["\(r.group)/\(r.version)/\(r.plural)"] = i
            gvk[r.groupVersionKind] = i
        }
        byGroupVersionResource = gvr
        byGroupVersionKind = gvk
    }

    private struct Raw: Decodable {
        var types: [String: TypeSchema]
        var resources: [ResourceInfo]
    }

    public func resource(group: String, version: String, plural: String) -> ResourceInfo? {
        byGroupVersionResource["\(group)/\(version)/\(plural)"].map { resources[$0] }
    }

    public func resource(for gvk: GroupVersionKind) -> ResourceInfo? {
        byGroupVersionKind[gvk].map { resources[$0] }
    }

    /// The schema of the object at `definition` (`io.k8s.api.core.v1.Pod`).
    public func type(_ definition: String) -> TypeSchema? { types[definition] }
}

public struct GroupVersionKind: Sendable, Hashable, Codable, CustomStringConvertible {
    public var group: String
    public var version: String
    public var kind: String

    public init(group: String, version: String, kind: String) {
        self.group = group
        self.version = version
        self.kind = kind
    }

    public var groupVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    public var description: String { "\(groupVersion), Kind=\(kind)" }
}

/// One served resource: what discovery lists and the registry stores.
public struct ResourceInfo: Sendable, Hashable, Decodable {
    public struct Subresource: Sendable, Hashable, Decodable {
        public var name: String
        /// Set when the subresource speaks another kind (`scale` -> autoscaling/v1 Scale).
        public var group: String?
        public var version: String?
        public var kind: String?
    }

    public var group: String
    public var version: String
    public var kind: String
    /// The schema definition name of the kind.
    public var definition: String
    public var plural: String
    public var singular: String
    public var namespaced: Bool
    public var shortNames: [String]
    public var categories: [String]
    public var subresources: [Subresource]
    public var verbs: [String]

    public var groupVersionKind: GroupVersionKind { GroupVersionKind(group: group, version: version, kind: kind) }
}

/// The structure of one definition.
public struct TypeSchema: Sendable, Hashable, Decodable {
    /// The Swift type generated for it (`CoreV1.Pod`).
    public var swift: String
    /// Set for hand-written types: `quantity`, `intOrString`, `time`, `microTime`, `json`.
    public var special: String?
    /// Fields in declaration order is not kept; look fields up by JSON name.
    public var fields: [String: FieldSchema]?
    public var required: [String]?
    public var mapType: String?
    public var gvk: GroupVersionKind?
}

/// The structure of one field, with the list and patch semantics the API server needs.
public final class FieldSchema: Sendable, Hashable, Decodable {
    public enum Kind: String, Sendable, Hashable, Decodable {
        case string, integer, number, boolean, array, map, ref, json, quantity, intOrString, time, microTime
    }

    public let kind: Kind
    /// For `.ref`: the definition name.
    public let ref: String?
    public let format: String?
    public let enumValues: [JSONValue]?
    /// For `.array`.
    public let items: FieldSchema?
    /// For `.map`.
    public let values: FieldSchema?
    public let nullable: Bool
    public let patchMergeKey: String?
    public let patchStrategy: String?
    public let listType: String?
    public let listMapKeys: [String]?
    public let mapType: String?

    private enum CodingKeys: String, CodingKey {
        case kind = "t", ref, format, enumValues = "enum", items, values, nullable
        case patchMergeKey, patchStrategy, listType, listMapKeys, mapType
    }

    public required init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(Kind.self, forKey: .kind)
        ref = try c.decodeIfPresent(String.self, forKey: .ref)
        format = try c.decodeIfPresent(String.self, forKey: .format)
        enumValues = try c.decodeIfPresent([JSONValue].self, forKey: .enumValues)
        items = try c.decodeIfPresent(FieldSchema.self, forKey: .items)
        values = try c.decodeIfPresent(FieldSchema.self, forKey: .values)
        nullable = try c.decodeIfPresent(Bool.self, forKey: .nullable) ?? false
        patchMergeKey = try c.decodeIfPresent(String.self, forKey: .patchMergeKey)
        patchStrategy = try c.decodeIfPresent(String.self, forKey: .patchStrategy)
        listType = try c.decodeIfPresent(String.self, forKey: .listType)
        listMapKeys = try c.decodeIfPresent([String].self, forKey: .listMapKeys)
        mapType = try c.decodeIfPresent(String.self, forKey: .mapType)
    }

    public static func == (a: FieldSchema, b: FieldSchema) -> Bool {
        a === b || (a.kind == b.kind && a.ref == b.ref && a.format == b.format && a.enumValues == b.enumValues
            && a.items == b.items && a.values == b.values && a.nullable == b.nullable
            && a.patchMergeKey == b.patchMergeKey && a.patchStrategy == b.patchStrategy
            && a.listType == b.listType && a.listMapKeys == b.listMapKeys && a.mapType == b.mapType)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(ref)
        hasher.combine(patchMergeKey)
        hasher.combine(listType)
    }
}
