import CapstanAPI
import Foundation
import SwiftProtobuf

/// Turns a decoded message into the object's Kubernetes JSON form: what Go's `encoding/json`
/// writes for the same Go struct, so a protobuf body becomes the JSON an older kubectl would send.
///
/// Fields are named and filtered by `KubernetesFieldRules`; the apimachinery types with a JSON form
/// of their own (`Quantity`, `IntOrString`, `Time`, `MicroTime`, `Duration`, `RawExtension`,
/// `FieldsV1`, the `[]string` wrappers) are recognised by their full protobuf names.
enum ProtobufJSON {
    /// Nested protobuf documents (`k8s\0` inside a `RawExtension`) deeper than this are refused.
    static let maximumNesting = 8

    static func json(_ message: some Message, nesting: Int) throws(ProtobufBodyError) -> JSONValue {
        switch type(of: message).protoMessageName {
        case "k8s.io.apimachinery.pkg.api.resource.Quantity":
            return try quantity(message as? K8s_Io_Apimachinery_Pkg_Api_Resource_Quantity)
        case "k8s.io.apimachinery.pkg.util.intstr.IntOrString":
            return try intOrString(message as? K8s_Io_Apimachinery_Pkg_Util_Intstr_IntOrString)
        case "k8s.io.apimachinery.pkg.apis.meta.v1.Time":
            guard let t = message as? K8s_Io_Apimachinery_Pkg_Apis_Meta_V1_Time else { break }
            // Go reads an empty Time as the zero time, which its JSON writes as null; the
            // nanoseconds are dropped, as Kubernetes' Time keeps whole seconds.
            if !t.hasSeconds && !t.hasNanos { return .null }
            return .string(MetaV1.Time(secondsSinceEpoch: try checkedSeconds(t.seconds)).rfc3339)
        case "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime":
            guard let t = message as? K8s_Io_Apimachinery_Pkg_Apis_Meta_V1_MicroTime else { break }
            if !t.hasSeconds && !t.hasNanos { return .null }
            return try microTime(seconds: t.seconds, nanos: t.nanos)
        case "k8s.io.apimachinery.pkg.apis.meta.v1.Duration":
            guard let d = message as? K8s_Io_Apimachinery_Pkg_Apis_Meta_V1_Duration else { break }
            return .string(GoDuration.format(nanoseconds: d.duration))
        case "k8s.io.apimachinery.pkg.runtime.RawExtension":
            guard let r = message as? K8s_Io_Apimachinery_Pkg_Runtime_RawExtension else { break }
            return try embedded(r.raw, what: "RawExtension", nesting: nesting)
        case "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1":
            guard let f = message as? K8s_Io_Apimachinery_Pkg_Apis_Meta_V1_FieldsV1 else { break }
            return try embedded(f.raw, what: "FieldsV1", nesting: nesting)
        case "k8s.io.apimachinery.pkg.apis.meta.v1.Verbs":
            guard let v = message as? K8s_Io_Apimachinery_Pkg_Apis_Meta_V1_Verbs else { break }
            return .array(v.items.map(JSONValue.string))
        case "k8s.io.api.authentication.v1.ExtraValue":
            guard let v = message as? K8s_Io_Api_Authentication_V1_ExtraValue else { break }
            return .array(v.items.map(JSONValue.string))
        case "k8s.io.api.authorization.v1.ExtraValue":
            guard let v = message as? K8s_Io_Api_Authorization_V1_ExtraValue else { break }
            return .array(v.items.map(JSONValue.string))
        case "k8s.io.api.certificates.v1.ExtraValue":
            guard let v = message as? K8s_Io_Api_Certificates_V1_ExtraValue else { break }
            return .array(v.items.map(JSONValue.string))
        default:
            break
        }
        let rules = KubernetesFieldRules.builtIn.messages[type(of: message).protoMessageName] ?? .init()
        var visitor = JSONObjectVisitor(fields: rules.fields, nesting: nesting)
        do {
            try message.traverse(visitor: &visitor)
        } catch let error as ProtobufBodyError {
            throw error
        } catch {
            throw .malformed("invalid protobuf body: \(error)")
        }
        for name in rules.nullWhenAbsent where visitor.object[name] == nil {
            visitor.object[name] = .null
        }
        return .object(visitor.object)
    }

    private static func quantity(_ q: K8s_Io_Apimachinery_Pkg_Api_Resource_Quantity?) throws(ProtobufBodyError) -> JSONValue {
        // Go parses the string when it reads the message (an empty message is zero) and writes
        // the canonical form.
        guard let q, q.hasString else { return .string("0") }
        do {
            return .string(try Quantity(parsing: q.string).description)
        } catch {
            throw .malformed("invalid protobuf body: \(error)")
        }
    }

    private static func intOrString(_ v: K8s_Io_Apimachinery_Pkg_Util_Intstr_IntOrString?) throws(ProtobufBodyError) -> JSONValue {
        guard let v else { return .int(0) }
        switch v.type {
        case 0: return .int(Int64(v.intVal))
        case 1: return .string(v.strVal)
        default: throw .malformed("invalid protobuf body: IntOrString has type \(v.type); expected 0 (int) or 1 (string)")
        }
    }

    /// 0001-01-01T00:00:00Z ... 9999-12-31T23:59:59Z: what RFC 3339 (and Go's JSON) can write.
    private static let secondsRange: ClosedRange<Int64> = -62_135_596_800...253_402_300_799

    private static func checkedSeconds(_ seconds: Int64) throws(ProtobufBodyError) -> Int64 {
        guard secondsRange.contains(seconds) else {
            throw .malformed("invalid protobuf body: time \(seconds) seconds after 1970 is outside years 1 to 9999")
        }
        return seconds
    }

    private static func microTime(seconds: Int64, nanos: Int32) throws(ProtobufBodyError) -> JSONValue {
        // time.Unix(seconds, nanos) carries nanoseconds outside 0..<1e9 into the seconds.
        let carry = Int64(nanos).quotientAndRemainder(dividingBy: 1_000_000_000)
        var (s, n) = (seconds.addingReportingOverflow(carry.quotient).partialValue, carry.remainder)
        if n < 0 {
            s = s.subtractingReportingOverflow(1).partialValue
            n += 1_000_000_000
        }
        let time = MetaV1.MicroTime(secondsSinceEpoch: try checkedSeconds(s), microseconds: Int32(n / 1000))
        return .string(time.rfc3339)
    }

    /// The bytes of a `RawExtension` or `FieldsV1`: JSON as is, or a nested protobuf document.
    private static func embedded(_ raw: Data, what: String, nesting: Int) throws(ProtobufBodyError) -> JSONValue {
        if raw.isEmpty { return .null }
        let bytes = [UInt8](raw)
        if bytes.starts(with: KubernetesProtobuf.magic) {
            guard nesting < maximumNesting else {
                throw .malformed("invalid protobuf body: \(what) nested more than \(maximumNesting) deep")
            }
            return try KubernetesProtobuf.decode(bytes, nesting: nesting + 1).object
        }
        do {
            return try JSONValue.parse(bytes)
        } catch {
            throw .malformed("invalid protobuf body: \(what) does not hold JSON: \(error)")
        }
    }
}
