import CapstanAPI
import CapstanDiscovery
import Testing

/// The protobuf form of /openapi/v2, read back with a minimal wire-format reader.
@Suite struct OpenAPIV2ProtobufTests {
    /// One decoded field: its number and either a varint, fixed64 bits or bytes.
    struct Field {
        var number: Int
        var varint: UInt64 = 0
        var bytes: [UInt8] = []
        var string: String { String(decoding: bytes, as: UTF8.self) }
    }

    static func fields(_ data: [UInt8]) throws -> [Field] {
        var out: [Field] = []
        var i = 0
        func varint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard i < data.count, shift < 64 else { throw DecodeError() }
                let b = data[i]; i += 1
                value |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return value }
                shift += 7
            }
        }
        while i < data.count {
            let tag = try varint()
            var field = Field(number: Int(tag >> 3))
            switch tag & 7 {
            case 0: field.varint = try varint()
            case 1:
                guard i + 8 <= data.count else { throw DecodeError() }
                field.bytes = Array(data[i..<i + 8]); i += 8
            case 2:
                let length = Int(try varint())
                guard i + length <= data.count else { throw DecodeError() }
                field.bytes = Array(data[i..<i + length]); i += length
            default: throw DecodeError()
            }
            out.append(field)
        }
        return out
    }

    struct DecodeError: Error {}

    static func document() throws -> JSONValue {
        try JSONValue.parse(#"""
        {"swagger": "2.0",
         "info": {"title": "Kubernetes", "version": "v1.33.0"},
         "definitions": {
           "io.k8s.api.apps.v1.DeploymentSpec": {
             "type": "object", "required": ["selector"],
             "properties": {
               "replicas": {"type": "integer", "format": "int32"},
               "template": {"$ref": "#/definitions/io.k8s.api.core.v1.PodTemplateSpec"}}},
           "io.k8s.api.core.v1.PodSpec": {
             "properties": {
               "containers": {"type": "array", "items": {"$ref": "#/definitions/io.k8s.api.core.v1.Container"},
                              "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"}}}},
         "paths": {"/api/v1/pods": {"get": {"operationId": "listPods",
                                            "parameters": [{"name": "limit", "in": "query", "type": "integer"}]}}}}
        """#)
    }

    @Test func documentFieldsAndDefinitions() throws {
        let top = try Self.fields(OpenAPIV2Protobuf.encode(try Self.document()))
        #expect(top.first { $0.number == 1 }?.string == "2.0")
        let info = try Self.fields(try #require(top.first { $0.number == 2 }).bytes)
        #expect(info.first { $0.number == 1 }?.string == "Kubernetes")
        // Definitions: repeated NamedSchema (name 1, Schema 2).
        let definitions = try Self.fields(try #require(top.first { $0.number == 9 }).bytes)
        #expect(definitions.count == 2)
        var byName: [String: [Field]] = [:]
        for d in definitions {
            let named = try Self.fields(d.bytes)
            byName[try #require(named.first { $0.number == 1 }).string] = try Self.fields(try #require(named.first { $0.number == 2 }).bytes)
        }
        let spec = try #require(byName["io.k8s.api.apps.v1.DeploymentSpec"])
        #expect(spec.filter { $0.number == 19 }.map(\.string) == ["selector"])
        let type = try Self.fields(try #require(spec.first { $0.number == 22 }).bytes)
        #expect(type.map(\.string) == ["object"])
        // properties (25) → NamedSchema entries; the template property is a $ref (1).
        let properties = try Self.fields(try #require(spec.first { $0.number == 25 }).bytes)
        var props: [String: [Field]] = [:]
        for p in properties {
            let named = try Self.fields(p.bytes)
            props[try #require(named.first { $0.number == 1 }).string] = try Self.fields(try #require(named.first { $0.number == 2 }).bytes)
        }
        #expect(props["template"]?.first { $0.number == 1 }?.string == "#/definitions/io.k8s.api.core.v1.PodTemplateSpec")
        #expect(props["replicas"]?.first { $0.number == 2 }?.string == "int32")
    }

    @Test func vendorExtensionsTravelAsYAML() throws {
        let top = try Self.fields(OpenAPIV2Protobuf.encode(try Self.document()))
        let definitions = try Self.fields(try #require(top.first { $0.number == 9 }).bytes)
        let podSpec = try definitions.map { try Self.fields($0.bytes) }.first { $0.first { $0.number == 1 }?.string == "io.k8s.api.core.v1.PodSpec" }
        let schema = try Self.fields(try #require(podSpec?.first { $0.number == 2 }).bytes)
        let properties = try Self.fields(try #require(schema.first { $0.number == 25 }).bytes)
        let containers = try Self.fields(try #require(properties.first).bytes)
        let containerSchema = try Self.fields(try #require(containers.first { $0.number == 2 }).bytes)
        // items (23) hold one schema with the $ref.
        let items = try Self.fields(try #require(containerSchema.first { $0.number == 23 }).bytes)
        #expect(try Self.fields(try #require(items.first).bytes).first?.string == "#/definitions/io.k8s.api.core.v1.Container")
        // x-* (31) are NamedAny whose Any carries the value as YAML (field 2).
        var extensions: [String: String] = [:]
        for e in containerSchema where e.number == 31 {
            let named = try Self.fields(e.bytes)
            let any = try Self.fields(try #require(named.first { $0.number == 2 }).bytes)
            extensions[try #require(named.first { $0.number == 1 }).string] = any.first { $0.number == 2 }?.string
        }
        #expect(extensions["x-kubernetes-patch-merge-key"] == "\"name\"\n")
        #expect(extensions["x-kubernetes-patch-strategy"] == "\"merge\"\n")
    }

    @Test func servedDocumentEncodesEveryDefinition() throws {
        let json = try JSONValue.parse(Built.openAPI.v2)
        let encoded = OpenAPIV2Protobuf.encode(json)
        let top = try Self.fields(encoded)
        let definitions = try Self.fields(try #require(top.first { $0.number == 9 }).bytes)
        #expect(definitions.count == (json["definitions"]?.objectValue?.count ?? -1))
        #expect(top.contains { $0.number == 8 }, "paths are encoded")
        #expect(OpenAPIV2Protobuf.isRequested(accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"))
        #expect(!OpenAPIV2Protobuf.isRequested(accept: "application/json"))
    }
}
