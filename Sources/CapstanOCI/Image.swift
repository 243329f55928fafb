public struct Platform: Sendable, Hashable, Codable {
    public var architecture: String
    public var os: String
    public var variant: String?
    public var osVersion: String?

    public init(architecture: String, os: String, variant: String? = nil, osVersion: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.variant = variant
        self.osVersion = osVersion
    }

    enum CodingKeys: String, CodingKey {
        case architecture, os, variant
        case osVersion = "os.version"
    }

    /// The platform this build runs on (linux/amd64 or linux/arm64).
    public static var current: Platform {
        #if arch(arm64)
        Platform(architecture: "arm64", os: "linux", variant: "v8")
        #else
        Platform(architecture: "amd64", os: "linux")
        #endif
    }
}

public struct Descriptor: Sendable, Hashable, Codable {
    public var mediaType: String
    public var digest: ContentDigest
    public var size: Int64
    public var urls: [String]?
    public var annotations: [String: String]?
    public var platform: Platform?

    public init(mediaType: String, digest: ContentDigest, size: Int64, annotations: [String: String]? = nil, platform: Platform? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.platform = platform
    }

    /// The annotation OCI layouts use to name a manifest (`org.opencontainers.image.ref.name`).
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"
}

public struct ImageManifest: Sendable, Hashable, Codable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var annotations: [String: String]?

    public init(schemaVersion: Int = 2, mediaType: String? = MediaType.ociManifest, config: Descriptor, layers: [Descriptor], annotations: [String: String]? = nil) {
        self.schemaVersion = schemaVersion
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
        self.annotations = annotations
    }
}

public struct ImageIndex: Sendable, Hashable, Codable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [Descriptor]
    public var annotations: [String: String]?

    public init(schemaVersion: Int = 2, mediaType: String? = MediaType.ociIndex, manifests: [Descriptor], annotations: [String: String]? = nil) {
        self.schemaVersion = schemaVersion
        self.mediaType = mediaType
        self.manifests = manifests
        self.annotations = annotations
    }

    /// The manifest for `platform`: os and architecture must match; a matching variant is
    /// preferred, then one without variant. `nil` when none fits.
    public func manifest(for platform: Platform) -> Descriptor? {
        let candidates = manifests.filter {
            MediaType.isManifest($0.mediaType) && $0.platform?.os == platform.os && $0.platform?.architecture == platform.architecture
        }
        if let variant = platform.variant, let exact = candidates.first(where: { $0.platform?.variant == variant }) { return exact }
        return candidates.first(where: { $0.platform?.variant == nil }) ?? candidates.first
    }
}

/// The image configuration blob (`application/vnd.oci.image.config.v1+json`).
public struct ImageConfiguration: Sendable, Hashable, Codable {
    public struct Config: Sendable, Hashable, Codable {
        public var user: String?
        public var env: [String]?
        public var entrypoint: [String]?
        public var cmd: [String]?
        public var workingDir: String?
        public var stopSignal: String?
        public var labels: [String: String]?

        public init(user: String? = nil, env: [String]? = nil, entrypoint: [String]? = nil, cmd: [String]? = nil, workingDir: String? = nil, stopSignal: String? = nil, labels: [String: String]? = nil) {
            self.user = user
            self.env = env
            self.entrypoint = entrypoint
            self.cmd = cmd
            self.workingDir = workingDir
            self.stopSignal = stopSignal
            self.labels = labels
        }

        enum CodingKeys: String, CodingKey {
            case user = "User", env = "Env", entrypoint = "Entrypoint", cmd = "Cmd"
            case workingDir = "WorkingDir", stopSignal = "StopSignal", labels = "Labels"
        }
    }

    public struct RootFS: Sendable, Hashable, Codable {
        public var type: String
        public var diffIDs: [ContentDigest]

        public init(type: String = "layers", diffIDs: [ContentDigest]) {
            self.type = type
            self.diffIDs = diffIDs
        }

        enum CodingKeys: String, CodingKey {
            case type
            case diffIDs = "diff_ids"
        }
    }

    public var created: String?
    public var architecture: String
    public var os: String
    public var variant: String?
    public var config: Config?
    public var rootfs: RootFS

    public init(created: String? = nil, architecture: String, os: String, variant: String? = nil, config: Config? = nil, rootfs: RootFS) {
        self.created = created
        self.architecture = architecture
        self.os = os
        self.variant = variant
        self.config = config
        self.rootfs = rootfs
    }
}

/// One entry of a docker-archive's `manifest.json` (`docker save` format).
public struct DockerArchiveEntry: Sendable, Hashable, Codable {
    public var config: String
    public var repoTags: [String]?
    public var layers: [String]

    enum CodingKeys: String, CodingKey {
        case config = "Config", repoTags = "RepoTags", layers = "Layers"
    }
}
