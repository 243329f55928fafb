/// Builds an ordered JSON object, skipping members that are absent.
struct JSONObjectBuilder {
    private(set) var members: [(String, JSON)] = []

    mutating func set(_ key: String, _ value: JSON) { members.append((key, value)) }

    mutating func set(_ key: String, _ value: JSON?) {
        if let value { members.append((key, value)) }
    }

    /// Sets a string array only when it is not empty (Go's `omitempty`).
    mutating func setNonEmpty(_ key: String, _ values: [String]) {
        if !values.isEmpty { members.append((key, JSON.strings(values))) }
    }

    var json: JSON { .object(members) }
}
