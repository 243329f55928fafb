import CapstanAPI

/// The Swagger 2.0 document in the protobuf form older kubectl versions ask for
/// (`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`; kubectl 1.27's
/// client-side apply reads its models from it), encoded from the JSON document.
///
/// The message layout is gnostic's `openapi.v2.Document`: JSON objects that are maps become
/// repeated (name, value) pairs in document order; values of free form (`default`, `enum`,
/// `example`, vendor extensions `x-*`) travel as YAML text, written as JSON (JSON is YAML).
public enum OpenAPIV2Protobuf {
    /// The answer's media type: kube-apiserver's dotted form (clients parse it with Go's
    /// `mime.ParseMediaType`, which refuses the `@` of the form they ask for).
    public static let contentType = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

    /// True when `accept` asks for this form.
    public static func isRequested(accept: String) -> Bool {
        accept.contains("application/com.github.proto-openapi.spec.v2")
    }

    /// Encodes a parsed Swagger 2.0 document.
    public static func encode(_ document: JSONValue) -> [UInt8] {
        var w = ProtoWriter()
        guard case .object = document else { return [] }
        for (key, value) in document.fields {
            switch key {
            case "swagger": w.string(1, value)
            case "info": w.message(2) { info(value, &$0) }
            case "host": w.string(3, value)
            case "basePath": w.string(4, value)
            case "schemes": w.strings(5, value)
            case "consumes": w.strings(6, value)
            case "produces": w.strings(7, value)
            case "paths": w.message(8) { paths(value, &$0) }
            case "definitions": w.message(9) { named(1, value, &$0, schema) }
            case "security":
                for requirement in value.elements {
                    w.message(12) { w in
                        named(1, requirement, &w) { list, w in w.message(1) { $0.strings(1, list) } }
                    }
                }
            case "securityDefinitions":
                w.message(13) { w in
                    named(1, value, &w) { item, w in
                        // Only API keys are published (the bearer token scheme).
                        w.message(2) { w in
                            w.string(1, item["type"]); w.string(2, item["name"]); w.string(3, item["in"])
                            w.string(4, item["description"])
                        }
                    }
                }
            default: extensionField(16, key, value, &w)
            }
        }
        return w.bytes
    }

    // MARK: Messages

    private static func info(_ value: JSONValue, _ w: inout ProtoWriter) {
        for (key, v) in value.fields {
            switch key {
            case "title": w.string(1, v)
            case "version": w.string(2, v)
            case "description": w.string(3, v)
            default: extensionField(7, key, v, &w)
            }
        }
    }

    private static func paths(_ value: JSONValue, _ w: inout ProtoWriter) {
        for (key, v) in value.fields {
            if key.hasPrefix("x-") {
                extensionField(1, key, v, &w)
            } else {
                w.message(2) { w in w.rawString(1, key); w.message(2) { pathItem(v, &$0) } }
            }
        }
    }

    private static let operationFields: [String: Int] = [
        "get": 2, "put": 3, "post": 4, "delete": 5, "options": 6, "head": 7, "patch": 8,
    ]

    private static func pathItem(_ value: JSONValue, _ w: inout ProtoWriter) {
        for (key, v) in value.fields {
            if key == "$ref" { w.string(1, v) }
            else if let number = operationFields[key] { w.message(number) { operation(v, &$0) } }
            else if key == "parameters" { for p in v.elements { w.message(9) { parametersItem(p, &$0) } } }
            else { extensionField(10, key, v, &w) }
        }
    }

    private static func operation(_ value: JSONValue, _ w: inout ProtoWriter) {
        for (key, v) in value.fields {
            switch key {
            case "tags": w.strings(1, v)
            case "summary": w.string(2, v)
            case "description": w.string(3, v)
            case "operationId": w.string(5, v)
            case "produces": w.strings(6, v)
            case "consumes": w.strings(7, v)
            case "parameters": for p in v.elements { w.message(8) { parametersItem(p, &$0) } }
            case "responses": w.message(9) { responses(v, &$0) }
            case "schemes": w.strings(10, v)
            case "deprecated": w.bool(11, v)
            default: extensionField(13, key, v, &w)
            }
        }
    }

    private static func parametersItem(_ value: JSONValue, _ w: inout ProtoWriter) {
        if let ref = value["$ref"] {
            w.message(2) { w in w.string(1, ref); w.string(2, value["description"]) }
            return
        }
        w.message(1) { w in
            if value["in"]?.stringValue == "body" {
                w.message(1) { w in
                    for (key, v) in value.fields {
                        switch key {
                        case "description": w.string(1, v)
                        case "name": w.string(2, v)
                        case "in": w.string(3, v)
                        case "required": w.bool(4, v)
                        case "schema": w.message(5) { schema(v, &$0) }
                        default: extensionField(6, key, v, &w)
                        }
                    }
                }
            } else {
                // header 1, formData 2, query 3, path 4; query and formData have
                // allowEmptyValue as field 5, which shifts the rest by one.
                let location = value["in"]?.stringValue ?? "query"
                let variant = ["header": 1, "formData": 2, "query": 3, "path": 4][location] ?? 3
                let shift = (variant == 2 || variant == 3) ? 1 : 0
                w.message(2) { w in
                    w.message(variant) { w in
                        for (key, v) in value.fields {
                            switch key {
                            case "required": w.bool(1, v)
                            case "in": w.string(2, v)
                            case "description": w.string(3, v)
                            case "name": w.string(4, v)
                            case "allowEmptyValue" where shift == 1: w.bool(5, v)
                            case "type": w.string(5 + shift, v)
                            case "format": w.string(6 + shift, v)
                            case "items": w.message(7 + shift) { primitivesItems(v, &$0) }
                            case "collectionFormat": w.string(8 + shift, v)
                            case "default": w.message(9 + shift) { any(v, &$0) }
                            case "uniqueItems": w.bool(19 + shift, v)
                            case "enum": for e in v.elements { w.message(20 + shift) { any(e, &$0) } }
                            default: extensionField(22 + shift, key, v, &w)
                            }
                        }
                    }
                }
            }
        }
    }

    private static func primitivesItems(_ value: JSONValue, _ w: inout ProtoWriter) {
        for (key, v) in value.fields {
            switch key {
            case "type": w.string(1, v)
            case "format": w.string(2, v)
            case "items": w.message(3) { primitivesItems(v, &$0) }
            case "collectionFormat": w.string(4, v)
            case "default": w.message(5) { any(v, &$0) }
            default: extensionField(18, key, v, &w)
            }
        }
    }

    private static func responses(_ value: JSONValue, _ w: inout ProtoWriter) {
        for (key, v) in value.fields {
            if key.hasPrefix("x-") {
                extensionField(2, key, v, &w)
                continue
            }
            w.message(1) { w in
                w.rawString(1, key)
                w.message(2) { w in
                    if let ref = v["$ref"] {
                        w.message(2) { w in w.string(1, ref) }
                    } else {
                        w.message(1) { w in
                            for (rkey, rv) in v.fields {
                                switch rkey {
                                case "description": w.string(1, rv)
                                case "schema": w.message(2) { w in w.message(1) { schema(rv, &$0) } }
                                default: extensionField(5, rkey, rv, &w)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static func schema(_ value: JSONValue, _ w: inout ProtoWriter) {
        for (key, v) in value.fields {
            switch key {
            case "$ref": w.string(1, v)
            case "format": w.string(2, v)
            case "title": w.string(3, v)
            case "description": w.string(4, v)
            case "default": w.message(5) { any(v, &$0) }
            case "multipleOf": w.double(6, v)
            case "maximum": w.double(7, v)
            case "exclusiveMaximum": w.bool(8, v)
            case "minimum": w.double(9, v)
            case "exclusiveMinimum": w.bool(10, v)
            case "maxLength": w.int(11, v)
            case "minLength": w.int(12, v)
            case "pattern": w.string(13, v)
            case "maxItems": w.int(14, v)
            case "minItems": w.int(15, v)
            case "uniqueItems": w.bool(16, v)
            case "maxProperties": w.int(17, v)
            case "minProperties": w.int(18, v)
            case "required": w.strings(19, v)
            case "enum": for e in v.elements { w.message(20) { any(e, &$0) } }
            case "additionalProperties":
                w.message(21) { w in
                    if case .bool = v { w.bool(2, v, always: true) } else { w.message(1) { schema(v, &$0) } }
                }
            case "type":
                w.message(22) { w in
                    if case .array = v { w.strings(1, v) } else { w.string(1, v) }
                }
            case "items":
                w.message(23) { w in
                    if case .array(let list) = v {
                        for s in list { w.message(1) { schema(s, &$0) } }
                    } else {
                        w.message(1) { schema(v, &$0) }
                    }
                }
            case "allOf": for s in v.elements { w.message(24) { schema(s, &$0) } }
            case "properties": w.message(25) { named(1, v, &$0, schema) }
            case "discriminator": w.string(26, v)
            case "readOnly": w.bool(27, v)
            case "example": w.message(30) { any(v, &$0) }
            default: extensionField(31, key, v, &w)
            }
        }
    }

    // MARK: Shapes

    /// A JSON object as repeated `(name = 1, value = 2)` messages in field `number`.
    private static func named(_ number: Int, _ value: JSONValue, _ w: inout ProtoWriter,
                              _ body: (JSONValue, inout ProtoWriter) -> Void) {
        for (key, v) in value.fields {
            w.message(number) { w in w.rawString(1, key); w.message(2) { body(v, &$0) } }
        }
    }

    /// gnostic's `Any`: the value as YAML text (field 2).
    private static func any(_ value: JSONValue, _ w: inout ProtoWriter) {
        w.rawString(2, String(decoding: value.serialized(), as: UTF8.self) + "\n")
    }

    /// `x-*` keys become `NamedAny` entries; other unknown keys are dropped, as gnostic does.
    private static func extensionField(_ number: Int, _ key: String, _ value: JSONValue, _ w: inout ProtoWriter) {
        guard key.hasPrefix("x-") else { return }
        w.message(number) { w in w.rawString(1, key); w.message(2) { any(value, &$0) } }
    }
}

/// Protocol buffer wire format: tags, varints, length-delimited fields, fixed64 doubles.
/// Proto3 defaults (empty strings, false, zero) are not written.
struct ProtoWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func tag(_ number: Int, _ wireType: UInt64) { varint(UInt64(number) << 3 | wireType) }

    mutating func rawString(_ number: Int, _ s: String) {
        tag(number, 2)
        let utf8 = Array(s.utf8)
        varint(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func string(_ number: Int, _ value: JSONValue?) {
        guard let s = value?.stringValue, !s.isEmpty else { return }
        rawString(number, s)
    }

    mutating func strings(_ number: Int, _ value: JSONValue?) {
        for item in value?.elements ?? [] {
            if let s = item.stringValue { rawString(number, s) }
        }
    }

    mutating func bool(_ number: Int, _ value: JSONValue?, always: Bool = false) {
        guard case .bool(let b)? = value, b || always else { return }
        tag(number, 0)
        varint(b ? 1 : 0)
    }

    mutating func int(_ number: Int, _ value: JSONValue?) {
        let n: Int64
        switch value {
        case .int(let i)?: n = i
        case .double(let d)? where d.isFinite && d.rounded() == d && abs(d) < 9e18: n = Int64(d)
        default: return
        }
        guard n != 0 else { return }
        tag(number, 0)
        varint(UInt64(bitPattern: n))
    }

    mutating func double(_ number: Int, _ value: JSONValue?) {
        let d: Double
        switch value {
        case .int(let i)?: d = Double(i)
        case .double(let x)?: d = x
        default: return
        }
        guard d != 0 else { return }
        tag(number, 1)
        var bits = d.bitPattern
        for _ in 0..<8 {
            bytes.append(UInt8(bits & 0xFF))
            bits >>= 8
        }
    }

    /// A nested message in field `number`, written by `body` (even when empty: a present
    /// message differs from an absent one).
    mutating func message(_ number: Int, _ body: (inout ProtoWriter) -> Void) {
        var inner = ProtoWriter()
        body(&inner)
        tag(number, 2)
        varint(UInt64(inner.bytes.count))
        bytes.append(contentsOf: inner.bytes)
    }
}

private extension JSONValue {
    /// The members of an object, sorted by key (protobuf output is then deterministic);
    /// empty for other values.
    var fields: [(key: String, value: JSONValue)] {
        if case .object(let o) = self { return o.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) } }
        return []
    }

    /// The elements of an array; empty for other values.
    var elements: [JSONValue] { arrayValue ?? [] }
}
