import CapstanAPI

/// The stored form of an object: canonical JSON without `metadata.resourceVersion`, which is
/// the storage revision and is spliced in when the object is served, so reads pass bytes
/// through without decoding and re-encoding them.
public enum StoredObject {
    private static let metadataOpen = Array(#""metadata":{"#.utf8)

    /// Bytes to store: the object with `metadata.resourceVersion` removed.
    public static func encode(_ object: JSONValue) -> [UInt8] {
        guard case .object(var o) = object, case .object(var meta)? = o["metadata"] else {
            return object.serialized()
        }
        meta["resourceVersion"] = nil
        o["metadata"] = .object(meta)
        return JSONValue.object(o).serialized()
    }

    /// The stored bytes with `"resourceVersion":"<revision>"` inserted as the first metadata field.
    /// Stored bytes are written by `encode`, so `metadata` follows `apiVersion` and `kind`.
    public static func serve(_ stored: [UInt8], revision: Int64) -> [UInt8] {
        guard let at = metadataInsertionPoint(stored) else { return stored }
        let rv = Array(#""resourceVersion":""#.utf8) + Array(String(revision).utf8) + [UInt8(ascii: "\"")]
        var out: [UInt8] = []
        out.reserveCapacity(stored.count + rv.count + 1)
        out.append(contentsOf: stored[..<at])
        out.append(contentsOf: rv)
        // An empty metadata object needs no comma after the inserted field.
        if stored[at] != UInt8(ascii: "}") { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: stored[at...])
        return out
    }

    /// The offset just after `"metadata":{` at the top level of the object.
    static func metadataInsertionPoint(_ bytes: [UInt8]) -> Int? {
        let pattern = metadataOpen
        // apiVersion and kind come first and are short; scan a bounded window.
        let limit = min(bytes.count - pattern.count, 512)
        guard limit > 0 else { return nil }
        var i = 1
        while i <= limit {
            if bytes[i] == pattern[0] {
                var match = true
                for k in 1..<pattern.count where bytes[i + k] != pattern[k] {
                    match = false
                    break
                }
                if match { return i + pattern.count < bytes.count ? i + pattern.count : nil }
            }
            i += 1
        }
        return nil
    }
}
