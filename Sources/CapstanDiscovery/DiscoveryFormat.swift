/// Which discovery document answers a request to `/api` or `/apis`, chosen from its Accept
/// header.
///
/// kubectl 1.30+ asks for aggregated discovery v2 first and falls back to `application/json`.
/// kubectl 1.27–1.29 ask only for v2beta1 (which Kubernetes 1.33 no longer serves) plus
/// `application/json`, so they get the legacy documents. Only JSON is served.
public struct DiscoveryFormat: Sendable, Hashable, CustomStringConvertible {
    private enum Kind: Sendable, Hashable {
        case legacy
        case aggregatedV2
    }

    private let kind: Kind

    /// `APIVersions` / `APIGroupList`, as `application/json`.
    public static let legacy = DiscoveryFormat(kind: .legacy)
    /// `APIGroupDiscoveryList` (apidiscovery.k8s.io/v2).
    public static let aggregatedV2 = DiscoveryFormat(kind: .aggregatedV2)

    /// The Content-Type of the response.
    public var contentType: String {
        switch kind {
        case .legacy: "application/json"
        case .aggregatedV2: DiscoveryDocuments.aggregatedContentType
        }
    }

    public var description: String {
        switch kind {
        case .legacy: "legacy"
        case .aggregatedV2: "aggregated v2"
        }
    }

    /// The format to answer with, or nil when nothing the client accepts can be served (406).
    /// A missing or empty header means anything.
    public static func negotiate(accept: String?) -> DiscoveryFormat? {
        guard let accept, accept.contains(where: { !$0.isWhitespace }) else { return .legacy }
        var candidates: [(range: MediaRange, index: Int)] = []
        for (i, part) in accept.split(separator: ",").enumerated() {
            if let range = MediaRange(part), range.quality > 0 { candidates.append((range, i)) }
        }
        candidates.sort { $0.range.quality != $1.range.quality ? $0.range.quality > $1.range.quality : $0.index < $1.index }
        for (range, _) in candidates {
            if let format = range.discoveryFormat { return format }
        }
        return nil
    }
}

/// One entry of an Accept header: `type/subtype;param=value;q=0.5`.
private struct MediaRange {
    var type: Substring
    var subtype: Substring
    var parameters: [Substring: Substring] = [:]
    var quality: Double = 1

    init?(_ text: Substring) {
        var parts = text.split(separator: ";").map { $0.trimmingSpaces }
        guard !parts.isEmpty else { return nil }
        let mediaType = parts.removeFirst().lowercased()
        let slash = mediaType.split(separator: "/", omittingEmptySubsequences: false)
        guard slash.count == 2, !slash[0].isEmpty, !slash[1].isEmpty else { return nil }
        type = Substring(slash[0])
        subtype = Substring(slash[1])
        for parameter in parts {
            guard let eq = parameter.firstIndex(of: "=") else { continue }
            let key = Substring(parameter[..<eq].trimmingSpaces.lowercased())
            var value = parameter[parameter.index(after: eq)...].trimmingSpaces
            if value.count >= 2, value.first == "\"", value.last == "\"" { value = value.dropFirst().dropLast() }
            if key == "q" {
                quality = Double(value) ?? 0
            } else {
                parameters[key] = value
            }
        }
    }

    var discoveryFormat: DiscoveryFormat? {
        let jsonAcceptable = (type == "application" && (subtype == "json" || subtype == "*")) || (type == "*" && subtype == "*")
        guard jsonAcceptable else { return nil }
        let g = parameters["g"], v = parameters["v"], kind = parameters["as"]
        if g == nil, v == nil, kind == nil { return .legacy }
        if g == "apidiscovery.k8s.io", v == "v2", kind == "APIGroupDiscoveryList" { return .aggregatedV2 }
        return nil
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
