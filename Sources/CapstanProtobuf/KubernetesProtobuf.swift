import CapstanAPI
import Foundation
import SwiftProtobuf

/// Kubernetes protobuf bodies (`application/vnd.kubernetes.protobuf`), as kubectl 1.32+ and every
/// typed client-go clientset send them on create and update: the magic `k8s\0`, then a
/// `runtime.Unknown` envelope holding the `apiVersion`/`kind` and the object's own message.
///
/// `decode` turns such a body into the object's JSON form, so the API server handles it exactly as
/// the JSON body an older client would have sent.
public enum KubernetesProtobuf {
    /// The media type of Kubernetes protobuf bodies.
    public static let mediaType = "application/vnd.kubernetes.protobuf"

    /// The four bytes every Kubernetes protobuf document starts with.
    public static let magic: [UInt8] = [0x6B, 0x38, 0x73, 0x00]

    /// Decoding options: the default nesting limit of 100 messages, unknown fields dropped.
    private static let options: BinaryDecodingOptions = {
        var options = BinaryDecodingOptions()
        options.discardUnknownFields = true
        return options
    }()

    /// Decodes a protobuf request body into its `apiVersion`, `kind` and JSON object (which carries
    /// `apiVersion` and `kind` too).
    ///
    /// Throws `.malformed` (400) for bodies that are not Kubernetes protobuf, and
    /// `.unsupportedMediaType` (415) for kinds with no protobuf form, such as custom resources.
    public static func decode(_ body: [UInt8]) throws(ProtobufBodyError) -> (apiVersion: String, kind: String, object: JSONValue) {
        try decode(body, nesting: 0)
    }

    /// Whether objects of `apiVersion` (`v1`, `apps/v1`) and `kind` can be decoded from protobuf.
    public static func hasProtobufForm(apiVersion: String, kind: String) -> Bool {
        messageType(forKey: "\(apiVersion)/\(kind)") != nil
    }

    /// Every `apiVersion/kind` that decodes from protobuf, sorted (`apps/v1/Deployment`, `v1/Pod`).
    public static var supportedKinds: [String] { kindKeys }

    static func decode(_ body: [UInt8], nesting: Int) throws(ProtobufBodyError) -> (apiVersion: String, kind: String, object: JSONValue) {
        guard body.starts(with: magic) else {
            throw .malformed("invalid protobuf body: it does not start with the Kubernetes magic k8s\\0")
        }
        let envelope: K8s_Io_Apimachinery_Pkg_Runtime_Unknown
        do {
            envelope = try K8s_Io_Apimachinery_Pkg_Runtime_Unknown(
                serializedBytes: [UInt8](body.dropFirst(magic.count)), extensions: nil, partial: true, options: options)
        } catch {
            throw .malformed("invalid protobuf body: the runtime.Unknown envelope does not decode: \(error)")
        }
        let apiVersion = envelope.typeMeta.apiVersion
        let kind = envelope.typeMeta.kind
        guard !apiVersion.isEmpty, !kind.isEmpty else {
            throw .malformed("invalid protobuf body: the envelope names no apiVersion and kind")
        }
        guard envelope.contentEncoding.isEmpty else {
            throw ProtobufBodyError(.unsupportedMediaType, "protobuf body with content encoding \"\(envelope.contentEncoding)\" is not supported")
        }

        var object: [String: JSONValue]
        switch envelope.contentType {
        case "", mediaType:
            guard let type = messageType(forKey: "\(apiVersion)/\(kind)") else {
                throw ProtobufBodyError(
                    .unsupportedMediaType,
                    "\(kind) in \(apiVersion) has no protobuf form; send it as application/json")
            }
            let message: any Message
            do {
                message = try type.init(serializedBytes: envelope.raw, extensions: nil, partial: true, options: options)
            } catch {
                throw .malformed("invalid protobuf body: \(apiVersion) \(kind) does not decode: \(error)")
            }
            guard case .object(let o) = try ProtobufJSON.json(message, nesting: nesting) else {
                throw .malformed("invalid protobuf body: \(apiVersion) \(kind) is not an object")
            }
            object = o
        case "application/json":
            do {
                guard case .object(let o) = try JSONValue.parse([UInt8](envelope.raw)) else {
                    throw ProtobufBodyError.malformed("invalid protobuf body: the embedded JSON is not an object")
                }
                object = o
            } catch let error as ProtobufBodyError {
                throw error
            } catch {
                throw .malformed("invalid protobuf body: the embedded JSON does not parse: \(error)")
            }
        default:
            throw ProtobufBodyError(.unsupportedMediaType, "protobuf body with embedded content type \"\(envelope.contentType)\" is not supported")
        }
        object["apiVersion"] = .string(apiVersion)
        object["kind"] = .string(kind)
        return (apiVersion, kind, .object(object))
    }
}
