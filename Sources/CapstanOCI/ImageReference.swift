/// A parsed image reference (`[registry/]repository[:tag][@digest]`) with Docker's
/// normalization: no registry means `docker.io`, and a one-component Docker Hub name gets
/// `library/`. A reference with neither tag nor digest gets the tag `latest`.
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    public static let dockerHub = "docker.io"

    /// Registry host with optional port, e.g. `docker.io`, `127.0.0.1:5000`.
    public var registry: String
    /// Repository path, e.g. `library/busybox`.
    public var repository: String
    public var tag: String?
    public var digest: ContentDigest?

    public init(registry: String, repository: String, tag: String? = nil, digest: ContentDigest? = nil) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    public init(parsing text: String) throws(OCIError) {
        guard !text.isEmpty, text.utf8.count <= 4096 else { throw OCIError("invalid reference format: empty or too long") }
        guard !text.contains(where: { $0.isWhitespace }) else { throw OCIError("invalid reference format: \"\(text)\" contains whitespace") }
        var rest = Substring(text)
        var digest: ContentDigest?
        if let at = rest.firstIndex(of: "@") {
            digest = try ContentDigest(parsing: String(rest[rest.index(after: at)...]))
            rest = rest[..<at]
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var registry = Self.dockerHub
        if components.count > 1, let first = components.first, first.contains(".") || first.contains(":") || first == "localhost" {
            registry = first
            components.removeFirst()
        }
        if registry == "index.docker.io" || registry == "registry-1.docker.io" { registry = Self.dockerHub }
        if registry == Self.dockerHub, components.count == 1 { components.insert("library", at: 0) }
        for component in components where !Self.isValidPathComponent(component) {
            throw OCIError("invalid reference format: repository name \"\(components.joined(separator: "/"))\" must be lowercase alphanumerics separated by '.', '_', '__' or '-'")
        }
        if let tag, !Self.isValidTag(tag) {
            throw OCIError("invalid reference format: tag \"\(tag)\" is not valid")
        }
        self.registry = registry
        self.repository = components.joined(separator: "/")
        self.tag = tag ?? (digest == nil ? "latest" : nil)
        self.digest = digest
    }

    /// `registry/repository`.
    public var name: String { "\(registry)/\(repository)" }

    /// The fully qualified form, e.g. `docker.io/library/busybox:latest`.
    public var description: String {
        var text = name
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest.description }
        return text
    }

    /// What the manifest request asks for: the digest when there is one, else the tag.
    public var manifestReference: String { digest?.description ?? tag ?? "latest" }

    /// The host to talk to: Docker Hub's API lives at `registry-1.docker.io`.
    public var apiHost: String { registry == Self.dockerHub ? "registry-1.docker.io" : registry }

    private static func isValidPathComponent(_ component: String) -> Bool {
        let bytes = Array(component.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else { return false }
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if isAlnum(byte) { index += 1; continue }
            // Separators: ".", "_", "__", or one or more "-".
            var end = index
            if byte == 0x2E { end += 1 }
            else if byte == 0x5F { end += (index + 1 < bytes.count && bytes[index + 1] == 0x5F) ? 2 : 1 }
            else if byte == 0x2D { while end < bytes.count, bytes[end] == 0x2D { end += 1 } }
            else { return false }
            guard end < bytes.count, isAlnum(bytes[end]) else { return false }
            index = end
        }
        return true
    }

    private static func isAlnum(_ byte: UInt8) -> Bool { (0x61 ... 0x7A).contains(byte) || (0x30 ... 0x39).contains(byte) }

    private static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard let first = bytes.first, bytes.count <= 128 else { return false }
        func word(_ b: UInt8) -> Bool { isAlnum(b) || (0x41 ... 0x5A).contains(b) || b == 0x5F }
        return word(first) && bytes.dropFirst().allSatisfy { word($0) || $0 == 0x2E || $0 == 0x2D }
    }
}
