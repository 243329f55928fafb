import CapstanAPI
import CapstanAPIMachinery

/// One event of a watch. `ERROR` events are not events: the stream throws them (an expired
/// resourceVersion as ``APIClientError/Code/expired``, anything else as the ``APIError`` sent).
public enum WatchEvent<Object: Sendable>: Sendable {
    case added(Object)
    case modified(Object)
    case deleted(Object)
    /// The server has sent every change up to `resourceVersion`; resume from here.
    case bookmark(resourceVersion: String)

    /// The object, or nil for a bookmark.
    public var object: Object? {
        switch self {
        case .added(let o), .modified(let o), .deleted(let o): return o
        case .bookmark: return nil
        }
    }

    /// `ADDED`, `MODIFIED`, `DELETED` or `BOOKMARK`, as on the wire.
    public var type: String {
        switch self {
        case .added: return "ADDED"
        case .modified: return "MODIFIED"
        case .deleted: return "DELETED"
        case .bookmark: return "BOOKMARK"
        }
    }
}

extension WatchEvent: Equatable where Object: Equatable {}

/// Turns one watch frame (`{"type":...,"object":...}`) into an event; nil skips a frame of an
/// unknown type.
struct WatchEventDecoder<Object: Sendable>: Sendable {
    let decode: @Sendable ([UInt8]) throws -> WatchEvent<Object>?
}

extension WatchEventDecoder where Object == JSONValue {
    /// Raw JSON objects, parsed with the byte-level parser.
    static var raw: Self { raw(strippingManagedFields: false) }

    /// Raw JSON objects; with `strippingManagedFields`, the objects' `metadata.managedFields` are
    /// cut from the bytes before they are parsed (often a third of a pod's bytes).
    static func raw(strippingManagedFields: Bool) -> Self {
        let remover = strippingManagedFields ? JSONMemberRemover(path: ["object", "metadata", "managedFields"]) : nil
        return Self { received in
            let frame = remover?.removing(from: received) ?? received
            let json: JSONValue
            do { json = try JSONValue.parse(frame) } catch {
                throw APIClientError(.invalidResponse, "a watch event is not JSON: \(error)")
            }
            guard case .object(let o) = json, let type = o["type"]?.stringValue else {
                throw APIClientError(.invalidResponse, "a watch event has no type")
            }
            let object = o["object"] ?? .null
            switch type {
            case "ADDED": return .added(object)
            case "MODIFIED": return .modified(object)
            case "DELETED": return .deleted(object)
            case "BOOKMARK": return .bookmark(resourceVersion: object["metadata"]?["resourceVersion"]?.stringValue ?? "")
            case "ERROR": throw watchError(object)
            default: return nil
            }
        }
    }

}

extension WatchEventDecoder where Object: APIObject {
    /// Generated types, decoded with ``KubeJSON``.
    static var typed: Self { typed(strippingManagedFields: false) }

    /// Generated types, decoded with ``KubeJSON``; with `strippingManagedFields`, the objects'
    /// `metadata.managedFields` are cut from the bytes first and arrive nil.
    static func typed(strippingManagedFields: Bool) -> Self {
        let remover = strippingManagedFields ? JSONMemberRemover(path: ["object", "metadata", "managedFields"]) : nil
        return Self { received in
            let frame = remover?.removing(from: received) ?? received
            // One parse serves the type and the object's fast decoding (see `JSONValueDecodable`).
            let parsed = try? JSONValue.parse(frame)
            guard let kind = peekType(frame) ?? parsed?["type"]?.stringValue else {
                throw APIClientError(.invalidResponse, "a watch event has no type")
            }
            func object() throws(APIDecodingError) -> Object {
                if let fast = Object.self as? any JSONValueDecodable.Type, let member = parsed?["object"],
                   let decoded = try? fast.init(json: member) {
                    return decoded as! Object
                }
                return try KubeJSON.decodeWithFoundation(Envelope<Object>.self, from: frame).object
            }
            switch kind {
            case "ADDED": return .added(try object())
            case "MODIFIED": return .modified(try object())
            case "DELETED": return .deleted(try object())
            case "BOOKMARK":
                // Bookmarks carry only metadata, which need not decode as T (required fields).
                return .bookmark(resourceVersion: parsed?["object"]?["metadata"]?["resourceVersion"]?.stringValue ?? "")
            case "ERROR":
                throw watchError(parsed?["object"] ?? .null)
            default: return nil
            }
        }
    }

}

extension WatchEventDecoder {
    /// The type of a frame that starts `{"type":"...`, as every Kubernetes server writes them;
    /// nil when it does not (the caller parses the frame).
    static func peekType(_ frame: [UInt8]) -> String? {
        let prefix = Array(#"{"type":""#.utf8)
        guard frame.count > prefix.count + 1, frame.starts(with: prefix) else { return nil }
        var i = prefix.count
        while i < frame.count, i < prefix.count + 16 {
            if frame[i] == UInt8(ascii: "\"") {
                return String(decoding: frame[prefix.count..<i], as: UTF8.self)
            }
            i += 1
        }
        return nil
    }
}

private struct Envelope<T: Decodable>: Decodable {
    let object: T
}

/// The error an `ERROR` event stands for.
func watchError(_ object: JSONValue) -> any Error {
    guard let status = APIError(statusJSON: object) else {
        return APIClientError(.invalidResponse, "a watch ERROR event without a Status: \(object)")
    }
    if status.code == 410 || status.reason == .expired || status.reason == .gone {
        return APIClientError(.expired, status.message, status: status)
    }
    return status
}
