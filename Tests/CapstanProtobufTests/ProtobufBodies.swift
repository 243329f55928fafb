import CapstanAPI
@testable import CapstanProtobuf
import Foundation
import SwiftProtobuf

typealias ObjectMeta = K8s_Io_Apimachinery_Pkg_Apis_Meta_V1_ObjectMeta
typealias MetaTime = K8s_Io_Apimachinery_Pkg_Apis_Meta_V1_Time
typealias ProtoQuantity = K8s_Io_Apimachinery_Pkg_Api_Resource_Quantity
typealias ProtoIntOrString = K8s_Io_Apimachinery_Pkg_Util_Intstr_IntOrString
typealias RawExtension = K8s_Io_Apimachinery_Pkg_Runtime_RawExtension
typealias Unknown = K8s_Io_Apimachinery_Pkg_Runtime_Unknown

/// Builds request bodies the way client-go does: `k8s\0`, then runtime.Unknown around the message.
enum ProtobufBodies {
    static func body(apiVersion: String, kind: String, _ message: some Message,
                     contentType: String = "", contentEncoding: String = "") throws -> [UInt8] {
        try body(apiVersion: apiVersion, kind: kind, raw: message.serializedBytes(),
                 contentType: contentType, contentEncoding: contentEncoding)
    }

    static func body(apiVersion: String, kind: String, raw: [UInt8],
                     contentType: String = "", contentEncoding: String = "") throws -> [UInt8] {
        var envelope = Unknown()
        envelope.typeMeta.apiVersion = apiVersion
        envelope.typeMeta.kind = kind
        envelope.raw = Data(raw)
        envelope.contentEncoding = contentEncoding
        envelope.contentType = contentType
        return KubernetesProtobuf.magic + (try envelope.serializedBytes() as [UInt8])
    }

    /// ObjectMeta as gogo-protobuf writes it: every non-pointer field present, zero or not.
    static func meta(name: String = "", namespace: String = "", labels: [String: String] = [:]) -> ObjectMeta {
        var m = ObjectMeta()
        m.name = name
        m.generateName = ""
        m.namespace = namespace
        m.selfLink = ""
        m.uid = ""
        m.resourceVersion = ""
        m.generation = 0
        m.creationTimestamp = MetaTime()
        m.labels = labels
        return m
    }

    static func quantity(_ s: String) -> ProtoQuantity {
        var q = ProtoQuantity()
        q.string = s
        return q
    }

    static func intOrString(_ i: Int32) -> ProtoIntOrString {
        var v = ProtoIntOrString()
        v.type = 0
        v.intVal = i
        v.strVal = ""
        return v
    }

    static func intOrString(_ s: String) -> ProtoIntOrString {
        var v = ProtoIntOrString()
        v.type = 1
        v.intVal = 0
        v.strVal = s
        return v
    }

    static func time(_ seconds: Int64) -> MetaTime {
        var t = MetaTime()
        t.seconds = seconds
        t.nanos = 0
        return t
    }
}

/// Parses the expected JSON of a test.
func json(_ text: String) throws -> JSONValue {
    try JSONValue.parse(text)
}
