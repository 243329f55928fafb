import CapstanOCI

/// An image in the store.
public struct StoredImage: Sendable, Hashable, Codable {
    /// The image id: digest of the config blob.
    public var id: ContentDigest
    /// ContentDigest of the (platform) manifest.
    public var manifestDigest: ContentDigest
    /// Fully qualified tagged names (`docker.io/library/busybox:latest`).
    public var names: [String]
    /// `registry/repository@sha256:...` forms it was pulled or imported as.
    public var repoDigests: [String]
    /// Uncompressed layer digests, bottom first; each is unpacked under `layers/`.
    public var diffIDs: [ContentDigest]
    /// Every blob the image needs (index, manifest, config, layers).
    public var blobs: [ContentDigest]
    /// Compressed size of config and layers.
    public var size: Int64
    public var config: ImageConfiguration.Config

    public init(id: ContentDigest, manifestDigest: ContentDigest, names: [String], repoDigests: [String], diffIDs: [ContentDigest], blobs: [ContentDigest], size: Int64, config: ImageConfiguration.Config) {
        self.id = id
        self.manifestDigest = manifestDigest
        self.names = names
        self.repoDigests = repoDigests
        self.diffIDs = diffIDs
        self.blobs = blobs
        self.size = size
        self.config = config
    }
}

public struct GarbageCollectionResult: Sendable, Hashable {
    public var removedBlobs: Int
    public var removedLayers: Int
    public var freedBytes: Int64

    public init(removedBlobs: Int = 0, removedLayers: Int = 0, freedBytes: Int64 = 0) {
        self.removedBlobs = removedBlobs
        self.removedLayers = removedLayers
        self.freedBytes = freedBytes
    }
}
