import CapstanOCI
import Crypto
import Foundation
import Logging

/// A content store of images under one root directory:
///
///     root/blobs/sha256/<hex>     manifests, configs, compressed layers (content-addressed)
///     root/layers/<diff-id hex>/  each layer unpacked once, shared by every image using it
///     root/images.json            the image records (names -> manifest, config, layers)
///     root/tmp/                   downloads and unpacking in progress (renamed into place)
///
/// Another process may add images to a root in use (`capstan image import` beside a running
/// agent): a lookup that misses, a listing and every save first take in the records written
/// since this store last read or wrote `images.json` (additions only; removals stay local).
public actor ImageStore {
    public nonisolated let root: String
    public nonisolated let platform: Platform
    let logger: Logger
    let registry: RegistryClient
    var images: [ContentDigest: StoredImage] = [:]
    /// Name (tagged or digest form) -> image id.
    var names: [String: ContentDigest] = [:]
    /// Layers being unpacked right now, so concurrent pulls of images sharing a layer wait.
    var unpacking: [ContentDigest: Task<Void, any Error>] = [:]
    /// `images.json` as this store last read or wrote it (modification time and size).
    var indexStamp: FileStamp?

    /// - Parameter plainHTTPRegistries: registries reached over plain HTTP; loopback hosts
    ///   (`localhost`, `127.*`, `[::1]`) always are.
    public init(root: String, platform: Platform = .current, plainHTTPRegistries: Set<String> = [], logger: Logger = Logger(label: "capstan.images")) throws {
        self.root = root
        self.platform = platform
        self.logger = logger
        let fetcher: HTTPFetcher
        do {
            fetcher = try HTTPFetcher()
        } catch {
            throw ImageStoreError(.io, "cannot set up TLS: \(error)")
        }
        registry = RegistryClient(fetcher: fetcher) { host in
            let name = host.split(separator: ":").first.map(String.init) ?? host
            return plainHTTPRegistries.contains(host) || name == "localhost" || name.hasPrefix("127.") || host.hasPrefix("[::1]")
        }
        for directory in ["blobs/sha256", "layers", "tmp"] {
            do {
                try FileManager.default.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
            } catch {
                throw ImageStoreError(.io, "cannot create \(root)/\(directory): \(error)")
            }
        }
        indexStamp = FileStamp(path: root + "/images.json")
        if let data = FileManager.default.contents(atPath: root + "/images.json") {
            do {
                let records = try JSONDecoder().decode([StoredImage].self, from: data)
                for record in records {
                    images[record.id] = record
                    for name in record.names + record.repoDigests { names[name] = record.id }
                }
            } catch {
                throw ImageStoreError(.io, "\(root)/images.json is unreadable: \(error)")
            }
        }
    }

    /// Takes in records another process added to `images.json` since this store last read or
    /// wrote it. Names this store already has keep their image.
    func refreshFromDisk() {
        let path = root + "/images.json"
        let stamp = FileStamp(path: path)
        guard stamp != indexStamp, let data = FileManager.default.contents(atPath: path),
              let records = try? JSONDecoder().decode([StoredImage].self, from: data) else { return }
        indexStamp = stamp
        for record in records where images[record.id] == nil {
            images[record.id] = record
            for name in record.names + record.repoDigests where names[name] == nil { names[name] = record.id }
        }
    }

    // MARK: Queries

    /// Looks an image up by name (normalized: `busybox` finds `docker.io/library/busybox:latest`),
    /// by `name@digest`, or by id (`sha256:...`, or a unique hex prefix of at least 12 digits).
    public func image(_ reference: String) -> StoredImage? {
        if let found = lookup(reference) { return found }
        refreshFromDisk()
        return lookup(reference)
    }

    private func lookup(_ reference: String) -> StoredImage? {
        if let digest = try? ContentDigest(parsing: reference), let image = images[digest] { return image }
        if let parsed = try? ImageReference(parsing: reference), let id = names[parsed.description] { return images[id] }
        if let id = names[reference] { return images[id] }
        let hex = reference.hasPrefix("sha256:") ? String(reference.dropFirst(7)) : reference
        if hex.count >= 12, hex.allSatisfy(\.isHexDigit) {
            let matches = images.keys.filter { $0.encoded.hasPrefix(hex) }
            if matches.count == 1 { return images[matches[0]] }
        }
        return nil
    }

    public func list() -> [StoredImage] {
        refreshFromDisk()
        return images.values.sorted { ($0.names.first ?? $0.id.description) < ($1.names.first ?? $1.id.description) }
    }

    /// Unpacked layer directories of the image, bottom layer first.
    public func layerDirectories(_ image: StoredImage) -> [String] {
        image.diffIDs.map(layerDirectory)
    }

    public nonisolated func layerDirectory(_ diffID: ContentDigest) -> String { "\(root)/layers/\(diffID.encoded)" }

    public nonisolated func blobPath(_ digest: ContentDigest) -> String { "\(root)/blobs/\(digest.algorithm)/\(digest.encoded)" }

    // MARK: Removal and GC

    /// Removes a name; the image record goes when its last tag goes (or when `reference` is
    /// its id or a digest reference). Content is freed by `garbageCollect`. Returns false for
    /// an unknown image.
    @discardableResult
    public func remove(_ reference: String) throws -> Bool {
        guard var image = image(reference) else { return false }
        let name = (try? ImageReference(parsing: reference))?.description ?? reference
        if image.names.contains(name), image.names.count > 1 {
            image.names.removeAll { $0 == name }
            names[name] = nil
            images[image.id] = image
        } else {
            for alias in image.names + image.repoDigests { names[alias] = nil }
            images[image.id] = nil
        }
        try save()
        return true
    }

    /// Deletes blobs and unpacked layers no image references (and not in `keepLayers`,
    /// e.g. layers of containers whose image was removed), and stale temporary files.
    public func garbageCollect(keepLayers: Set<ContentDigest> = []) throws -> GarbageCollectionResult {
        var result = GarbageCollectionResult()
        let referencedBlobs = Set(images.values.flatMap(\.blobs).map(\.encoded))
        let referencedLayers = Set(images.values.flatMap(\.diffIDs).map(\.encoded)).union(keepLayers.map(\.encoded))
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: root + "/blobs/sha256")) ?? [] where !referencedBlobs.contains(name) {
            let path = root + "/blobs/sha256/" + name
            result.freedBytes += Int64((try? fm.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
            try? fm.removeItem(atPath: path)
            result.removedBlobs += 1
        }
        for name in (try? fm.contentsOfDirectory(atPath: root + "/layers")) ?? [] where !referencedLayers.contains(name) {
            try? fm.removeItem(atPath: root + "/layers/" + name)
            result.removedLayers += 1
        }
        if unpacking.isEmpty {
            for name in (try? fm.contentsOfDirectory(atPath: root + "/tmp")) ?? [] { try? fm.removeItem(atPath: root + "/tmp/" + name) }
        }
        return result
    }

    // MARK: Recording

    func save() throws {
        refreshFromDisk()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let records = images.values.sorted { $0.id < $1.id }
        do {
            let data = try encoder.encode(records)
            let temporary = root + "/tmp/images.json.\(UInt64.random(in: 0 ... .max))"
            try data.write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, root + "/images.json") == 0 else { throw ImageStoreError(.io, "rename: \(String(cString: strerror(errno)))") }
            indexStamp = FileStamp(path: root + "/images.json")
        } catch {
            throw ImageStoreError(.io, "cannot write \(root)/images.json: \(error)")
        }
    }

    /// Adds or merges an image record under `name` (a tagged reference) and `repoDigest`.
    func record(_ image: StoredImage, name: String?, repoDigest: String?) throws -> StoredImage {
        var merged = images[image.id] ?? image
        merged.blobs = Array(Set(merged.blobs + image.blobs)).sorted()
        for (alias, isTag) in [(name, true), (repoDigest, false)] {
            guard let alias else { continue }
            // A tag moves: drop it from the image that had it.
            if let previous = names[alias], previous != image.id, var old = images[previous] {
                old.names.removeAll { $0 == alias }
                old.repoDigests.removeAll { $0 == alias }
                images[previous] = old
            }
            names[alias] = image.id
            if isTag, !merged.names.contains(alias) { merged.names.append(alias) }
            if !isTag, !merged.repoDigests.contains(alias) { merged.repoDigests.append(alias) }
        }
        images[image.id] = merged
        try save()
        return merged
    }

    // MARK: Blobs and layers

    /// Writes bytes as a blob (content-addressed) and returns its digest.
    func writeBlob(_ bytes: [UInt8]) throws -> ContentDigest {
        let digest = try ContentDigest.sha256(hex: RegistryClient.hex(SHA256.hash(data: bytes)))
        let path = blobPath(digest)
        if !FileManager.default.fileExists(atPath: path) {
            let temporary = root + "/tmp/blob-\(UInt64.random(in: 0 ... .max))"
            do {
                try Data(bytes).write(to: URL(fileURLWithPath: temporary))
            } catch {
                throw ImageStoreError(.io, "cannot write \(temporary): \(error)")
            }
            guard rename(temporary, path) == 0 else { throw ImageStoreError(.io, "cannot store blob \(digest): \(String(cString: strerror(errno)))") }
        }
        return digest
    }

    func readBlob(_ digest: ContentDigest, limit: Int = 16 << 20) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: blobPath(digest)) else { throw ImageStoreError(.notFound, "blob \(digest) is missing") }
        guard data.count <= limit else { throw ImageStoreError(.invalidArchive, "blob \(digest) is too large") }
        return Array(data)
    }

    nonisolated func hasBlob(_ digest: ContentDigest) -> Bool { FileManager.default.fileExists(atPath: blobPath(digest)) }

    nonisolated func hasLayer(_ diffID: ContentDigest) -> Bool { FileManager.default.fileExists(atPath: layerDirectory(diffID)) }

    /// Unpacks a stored layer blob into `layers/<diffID>` unless it is already there; checks the diff id.
    func ensureLayer(blob: ContentDigest, mediaType: String, diffID: ContentDigest) async throws {
        if hasLayer(diffID) { return }
        if let running = unpacking[diffID] { return try await running.value }
        guard let compression = MediaType.layerCompression(mediaType) else {
            throw ImageStoreError(.unsupported, "layer \(blob) has unsupported media type \(mediaType)")
        }
        let blobPath = blobPath(blob)
        let destination = layerDirectory(diffID)
        let scratch = root + "/tmp"
        let task = Task.detached {
            let staging = scratch + "/unpack-\(UInt64.random(in: 0 ... .max))"
            do {
                let actual = try LayerUnpacker.unpack(blob: blobPath, compression: compression, into: staging, scratch: scratch)
                guard actual == diffID else {
                    throw ImageStoreError(.digestMismatch, "layer \(blob) unpacks to \(actual), the image config says \(diffID)")
                }
                guard rename(staging, destination) == 0 || FileManager.default.fileExists(atPath: destination) else {
                    throw ImageStoreError(.io, "cannot move layer into \(destination): \(String(cString: strerror(errno)))")
                }
            } catch {
                try? FileManager.default.removeItem(atPath: staging)
                throw error
            }
            try? FileManager.default.removeItem(atPath: staging)
        }
        unpacking[diffID] = task
        defer { unpacking[diffID] = nil }
        try await task.value
    }

    /// Reads manifest + config, unpacks every layer, and builds the record.
    func assemble(manifestDigest: ContentDigest, extraBlobs: [ContentDigest]) async throws -> StoredImage {
        let manifest: ImageManifest
        let configuration: ImageConfiguration
        do {
            manifest = try JSONDecoder().decode(ImageManifest.self, from: Data(try readBlob(manifestDigest)))
            configuration = try JSONDecoder().decode(ImageConfiguration.self, from: Data(try readBlob(manifest.config.digest)))
        } catch let error as ImageStoreError {
            throw error
        } catch {
            throw ImageStoreError(.invalidArchive, "manifest \(manifestDigest) or its config is not valid: \(error)")
        }
        guard configuration.rootfs.diffIDs.count == manifest.layers.count else {
            throw ImageStoreError(.invalidArchive, "manifest \(manifestDigest) has \(manifest.layers.count) layers, its config \(configuration.rootfs.diffIDs.count) diff ids")
        }
        for (layer, diffID) in zip(manifest.layers, configuration.rootfs.diffIDs) {
            try await ensureLayer(blob: layer.digest, mediaType: layer.mediaType, diffID: diffID)
        }
        return StoredImage(
            id: manifest.config.digest, manifestDigest: manifestDigest, names: [], repoDigests: [],
            diffIDs: configuration.rootfs.diffIDs, blobs: extraBlobs + [manifestDigest, manifest.config.digest] + manifest.layers.map(\.digest),
            size: manifest.config.size + manifest.layers.reduce(0) { $0 + $1.size },
            config: configuration.config ?? ImageConfiguration.Config()
        )
    }
}

/// A file's modification time and size, to notice that another process rewrote it.
struct FileStamp: Equatable, Sendable {
    let seconds: Int
    let nanoseconds: Int
    let size: Int64

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        seconds = info.st_mtim.tv_sec
        nanoseconds = info.st_mtim.tv_nsec
        size = Int64(info.st_size)
    }
}
