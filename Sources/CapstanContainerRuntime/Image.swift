import CapstanOCI

/// Credentials for one registry (the image store's type).
public typealias RegistryAuth = RegistryCredentials

/// What a container inherits from its image's config.
public struct ImageRuntimeConfig: Sendable, Hashable, Codable {
    public var entrypoint: [String]
    public var cmd: [String]
    /// `NAME=value` strings, in order.
    public var env: [String]
    public var workingDir: String?
    /// `uid`, `uid:gid`, `name` or `name:group`; empty means root.
    public var user: String?
    /// Signal name or number (e.g. "SIGQUIT").
    public var stopSignal: String?

    public init(entrypoint: [String] = [], cmd: [String] = [], env: [String] = [], workingDir: String? = nil, user: String? = nil, stopSignal: String? = nil) {
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.env = env
        self.workingDir = workingDir
        self.user = user
        self.stopSignal = stopSignal
    }
}

public struct ImageStatus: Sendable, Hashable, Codable {
    /// The image id: the digest of its config blob (`sha256:...`).
    public var id: String
    /// Normalized `registry/repository:tag` names pointing at it.
    public var repoTags: [String]
    /// `registry/repository@sha256:...` (manifest digests) it was pulled or imported as.
    public var repoDigests: [String]
    /// Bytes of compressed layers plus config.
    public var size: Int64
    public var config: ImageRuntimeConfig

    public init(id: String, repoTags: [String] = [], repoDigests: [String] = [], size: Int64 = 0, config: ImageRuntimeConfig = ImageRuntimeConfig()) {
        self.id = id
        self.repoTags = repoTags
        self.repoDigests = repoDigests
        self.size = size
        self.config = config
    }
}
