import CapstanAPI

/// A JSON Merge Patch (RFC 7386, `application/merge-patch+json`): objects merge key by key, `null`
/// deletes a key, anything else replaces the target value whole (lists included).
///
/// As in kube-apiserver, the patch must be an object (anything else is `Invalid JSON Patch`, 400),
/// and values taken from the patch lose their `null` object members at every depth, also inside lists.
public struct JSONMergePatch: Sendable, Hashable {
    /// The patch object.
    public let patch: [String: JSONValue]

    /// Reads a merge patch; it must be a JSON object.
    public init(_ patch: JSONValue) throws(PatchError) {
        guard case .object(let o) = patch else { throw PatchError(.malformed, "Invalid JSON Patch") }
        self.patch = o
    }

    /// Reads and applies `patch` to `target`.
    public static func apply(_ patch: JSONValue, to target: JSONValue) throws(PatchError) -> JSONValue {
        try JSONMergePatch(patch).apply(to: target)
    }

    /// `target` with the patch merged in; a target that is not an object is replaced by one.
    public func apply(to target: JSONValue) -> JSONValue {
        var object: [String: JSONValue] = [:]
        if case .object(let o) = target { object = o }
        Self.merge(patch, into: &object)
        return .object(object)
    }

    static func merge(_ patch: [String: JSONValue], into target: inout [String: JSONValue]) {
        for (key, value) in patch {
            switch value {
            case .null:
                target.removeValue(forKey: key)
            case .object(let p):
                if case .object? = target[key] {
                    // Merge in place: take the child out so it is uniquely referenced while it changes.
                    guard case .object(var child)? = target.removeValue(forKey: key) else { continue }
                    merge(p, into: &child)
                    target[key] = .object(child)
                } else {
                    var child: [String: JSONValue] = [:]
                    merge(p, into: &child)
                    target[key] = .object(child)
                }
            default:
                target[key] = pruned(value)
            }
        }
    }

    /// `value` without null object members, at any depth.
    static func pruned(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let o):
            var out: [String: JSONValue] = [:]
            out.reserveCapacity(o.count)
            for (k, v) in o where v != .null { out[k] = pruned(v) }
            return .object(out)
        case .array(let a):
            guard a.contains(where: { if case .object = $0 { return true }; if case .array = $0 { return true }; return false }) else {
                return value
            }
            return .array(a.map(pruned))
        default:
            return value
        }
    }
}
