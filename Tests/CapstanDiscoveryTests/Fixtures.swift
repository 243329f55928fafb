import CapstanAPI
import CapstanDiscovery
import Foundation
import Testing

/// Documents of the built-in API, built once for all tests.
enum Built {
    static let resources = ServedResource.builtIn()
    static let discovery = DiscoveryDocuments(resources: resources, serverAddress: "127.0.0.1:6443")
    static let openAPI = OpenAPIDocuments(resources: resources)
}

struct DecodeError: Error, CustomStringConvertible {
    var description: String
}

func object(_ bytes: [UInt8]?, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    let bytes = try #require(bytes, sourceLocation: sourceLocation)
    let value = try JSONSerialization.jsonObject(with: Data(bytes))
    return try #require(value as? [String: Any], sourceLocation: sourceLocation)
}

extension Dictionary where Key == String, Value == Any {
    func dict(_ key: String) -> [String: Any]? { self[key] as? [String: Any] }
    func array(_ key: String) -> [[String: Any]]? { self[key] as? [[String: Any]] }
    func strings(_ key: String) -> [String]? { self[key] as? [String] }
    func string(_ key: String) -> String? { self[key] as? String }
}

/// Every `$ref` string in a decoded JSON value.
func references(in value: Any) -> [String] {
    var out: [String] = []
    func walk(_ v: Any) {
        if let d = v as? [String: Any] {
            for (k, x) in d {
                if k == "$ref", let s = x as? String { out.append(s) } else { walk(x) }
            }
        } else if let a = v as? [Any] {
            a.forEach(walk)
        }
    }
    walk(value)
    return out
}

/// Follows `allOf: [{$ref}]` / `$ref` of a v3 property to the schema it names.
func resolve(_ schema: [String: Any], in schemas: [String: Any], prefix: String = "#/components/schemas/") -> [String: Any]? {
    var ref = schema.string("$ref")
    if ref == nil, let allOf = schema.array("allOf"), allOf.count == 1 { ref = allOf[0].string("$ref") }
    guard let ref, ref.hasPrefix(prefix) else { return schema }
    return schemas[String(ref.dropFirst(prefix.count))] as? [String: Any]
}

/// Writes every document to `CAPSTAN_DISCOVERY_DUMP` when set, for checks with other tools.
@Test func dumpDocumentsWhenAsked() throws {
    guard let dir = ProcessInfo.processInfo.environment["CAPSTAN_DISCOVERY_DUMP"] else { return }
    let base = URL(fileURLWithPath: dir)
    try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
    func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: base.appendingPathComponent(name.replacingOccurrences(of: "/", with: "__") + ".json"))
    }
    try write("api", Built.discovery.apiVersions)
    try write("apis", Built.discovery.apiGroupList)
    try write("aggregated-api", Built.discovery.aggregatedCore)
    try write("aggregated-apis", Built.discovery.aggregatedGroups)
    for gv in Built.discovery.groupVersions {
        let parts = gv.split(separator: "/").map(String.init)
        let bytes = parts.count == 1
            ? Built.discovery.resourceList(group: "", version: parts[0])!
            : Built.discovery.resourceList(group: parts[0], version: parts[1])!
        try write("resources-" + gv, bytes)
    }
    try write("openapi-v3-index", Built.openAPI.index)
    for path in Built.openAPI.paths { try write("openapi-v3-" + path, Built.openAPI.document(forPath: path)!) }
    try write("openapi-v2", Built.openAPI.v2)
}
