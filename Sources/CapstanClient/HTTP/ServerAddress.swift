/// The parsed server URL: `https://HOST[:PORT][/PREFIX]` (IPv6 hosts in brackets).
struct ServerAddress: Sendable, Hashable {
    var useTLS: Bool
    /// The host without brackets.
    var host: String
    var port: Int
    /// A path prefix every request path is appended to (`""` or `/prefix`).
    var pathPrefix: String

    init(_ url: String) throws {
        var rest = Substring(url.trimmingWhitespace())
        if rest.hasPrefix("https://") {
            useTLS = true
            rest = rest.dropFirst(8)
        } else if rest.hasPrefix("http://") {
            useTLS = false
            rest = rest.dropFirst(7)
        } else if !rest.contains("://") {
            // kubectl accepts a bare host:port and assumes https.
            useTLS = true
        } else {
            throw APIClientError.configuration("server \"\(url)\": only https:// and http:// are supported")
        }
        let authority: Substring
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            var prefix = String(rest[slash...])
            while prefix.hasSuffix("/") { prefix.removeLast() }
            pathPrefix = prefix
        } else {
            authority = rest
            pathPrefix = ""
        }
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw APIClientError.configuration("server \"\(url)\": unterminated IPv6 address")
            }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw APIClientError.configuration("server \"\(url)\": unexpected \"\(after)\" after the host")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            host = String(authority)
        }
        guard !host.isEmpty else { throw APIClientError.configuration("server \"\(url)\" has no host") }
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else {
                throw APIClientError.configuration("server \"\(url)\": invalid port \"\(portText)\"")
            }
            port = p
        } else {
            port = useTLS ? 443 : 80
        }
    }

    /// The `Host` header: `host:port`, IPv6 in brackets.
    var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(h):\(port)"
    }

    /// True when the host is an IP address literal (which TLS cannot send as SNI).
    var hostIsIPAddress: Bool {
        if host.contains(":") { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { p in !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isNumber) && Int(p)! <= 255 }
    }
}
