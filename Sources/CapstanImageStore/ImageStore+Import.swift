import CapstanOCI
import Foundation

extension ImageStore {
    /// Imports an OCI image layout (a directory or a tarball of one) or a docker-archive
    /// (`docker save`) tarball. Names come from the archive (`org.opencontainers.image.ref.name`
    /// annotations, `RepoTags`); an OCI name that is only a tag is put under `baseName`
    /// (default `localhost/import`). Returns the imported images.
    @discardableResult
    public func importArchive(_ path: String, baseName: String = "localhost/import") async throws -> [StoredImage] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ImageStoreError(.notFound, "\(path) does not exist")
        }
        var directory = path
        var staging: String?
        if !isDirectory.boolValue {
            let target = root + "/tmp/import-\(UInt64.random(in: 0 ... .max))"
            staging = target
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            do {
                try LayerUnpacker.run(["/usr/bin/env", "tar", "-x", "-f", path, "-C", target], stdout: nil, what: "reading \(path)")
            } catch {
                try? FileManager.default.removeItem(atPath: target)
                throw ImageStoreError(.invalidArchive, "\(path) is not a tar archive: \(error)")
            }
            directory = target
        }
        defer { if let staging { try? FileManager.default.removeItem(atPath: staging) } }
        if FileManager.default.fileExists(atPath: directory + "/oci-layout") {
            return try await importLayout(directory, baseName: baseName)
        }
        if FileManager.default.fileExists(atPath: directory + "/manifest.json") {
            return try await importDockerArchive(directory)
        }
        throw ImageStoreError(.invalidArchive, "\(path) is neither an OCI layout (oci-layout) nor a docker archive (manifest.json)")
    }

    private func importLayout(_ directory: String, baseName: String) async throws -> [StoredImage] {
        let index: ImageIndex = try decodeFile(directory + "/index.json")
        var imported: [StoredImage] = []
        for descriptor in index.manifests {
            var manifestDescriptor = descriptor
            var extraBlobs: [ContentDigest] = []
            if MediaType.isIndex(descriptor.mediaType) {
                let nested: ImageIndex = try decodeFile(layoutBlob(directory, descriptor.digest))
                guard let chosen = nested.manifest(for: platform) else { continue }
                extraBlobs.append(try copyBlob(from: layoutBlob(directory, descriptor.digest), digest: descriptor.digest))
                manifestDescriptor = chosen
            }
            guard MediaType.isManifest(manifestDescriptor.mediaType) else { continue }
            let manifestPath = layoutBlob(directory, manifestDescriptor.digest)
            let manifest: ImageManifest = try decodeFile(manifestPath)
            for blob in [manifest.config] + manifest.layers where !hasBlob(blob.digest) {
                _ = try copyBlob(from: layoutBlob(directory, blob.digest), digest: blob.digest)
            }
            let manifestDigest = try copyBlob(from: manifestPath, digest: manifestDescriptor.digest)
            let image = try await assemble(manifestDigest: manifestDigest, extraBlobs: extraBlobs)
            var name: String?
            if let refName = descriptor.annotations?[Descriptor.refNameAnnotation] {
                let candidate = refName.contains("/") || refName.contains(":") ? refName : "\(baseName):\(refName)"
                name = (try? ImageReference(parsing: candidate))?.description
            }
            let repoDigest = name.flatMap { try? ImageReference(parsing: $0) }.map { "\($0.name)@\(extraBlobs.first ?? manifestDigest)" }
            imported.append(try record(image, name: name, repoDigest: repoDigest))
        }
        guard !imported.isEmpty else { throw ImageStoreError(.unsupported, "the layout has no manifest for \(platform.os)/\(platform.architecture)") }
        return imported
    }

    private func importDockerArchive(_ directory: String) async throws -> [StoredImage] {
        let entries: [DockerArchiveEntry] = try decodeFile(directory + "/manifest.json")
        var imported: [StoredImage] = []
        for entry in entries {
            let configPath = try inside(directory, entry.config)
            let configDigest = try LayerUnpacker.sha256(file: configPath)
            _ = try copyBlob(from: configPath, digest: configDigest)
            let configuration: ImageConfiguration = try decodeFile(configPath)
            guard configuration.rootfs.diffIDs.count == entry.layers.count else {
                throw ImageStoreError(.invalidArchive, "\(entry.config) lists \(configuration.rootfs.diffIDs.count) diff ids for \(entry.layers.count) layers")
            }
            var layers: [Descriptor] = []
            for layer in entry.layers {
                let layerPath = try inside(directory, layer)
                let digest = try LayerUnpacker.sha256(file: layerPath)
                let size = try copyBlob(from: layerPath, digest: digest, returningSize: true)
                let gzip = (try? FileHandle(forReadingFrom: URL(fileURLWithPath: layerPath)).read(upToCount: 2)) == Data([0x1F, 0x8B])
                layers.append(Descriptor(mediaType: gzip ? MediaType.ociLayerGzip : MediaType.ociLayer, digest: digest, size: size))
            }
            let configSize = Int64((try? FileManager.default.attributesOfItem(atPath: configPath)[.size] as? Int) ?? 0)
            let manifest = ImageManifest(config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: configSize), layers: layers)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let manifestDigest = try writeBlob(Array(try encoder.encode(manifest)))
            let image = try await assemble(manifestDigest: manifestDigest, extraBlobs: [])
            var stored = try record(image, name: nil, repoDigest: nil)
            for tag in entry.repoTags ?? [] {
                guard let name = (try? ImageReference(parsing: tag))?.description else { continue }
                stored = try record(image, name: name, repoDigest: nil)
            }
            imported.append(stored)
        }
        return imported
    }

    private func layoutBlob(_ directory: String, _ digest: ContentDigest) -> String {
        "\(directory)/blobs/\(digest.algorithm)/\(digest.encoded)"
    }

    /// A path from an archive's manifest, refused when it leaves the archive.
    private func inside(_ directory: String, _ relative: String) throws -> String {
        let parts = relative.split(separator: "/")
        guard !relative.hasPrefix("/"), !parts.contains("..") else {
            throw ImageStoreError(.invalidArchive, "archive path \(relative) leaves the archive")
        }
        return directory + "/" + relative
    }

    private func decodeFile<T: Decodable>(_ path: String) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else { throw ImageStoreError(.invalidArchive, "\(path) is missing") }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw ImageStoreError(.invalidArchive, "\((path as NSString).lastPathComponent) is not valid: \(error)")
        }
    }

    /// Copies a file into the blob store after checking its digest.
    @discardableResult
    private func copyBlob(from path: String, digest: ContentDigest) throws -> ContentDigest {
        _ = try copyBlob(from: path, digest: digest, returningSize: true)
        return digest
    }

    private func copyBlob(from path: String, digest: ContentDigest, returningSize: Bool) throws -> Int64 {
        let target = blobPath(digest)
        let size = Int64((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
        if FileManager.default.fileExists(atPath: target) { return size }
        guard FileManager.default.fileExists(atPath: path) else { throw ImageStoreError(.invalidArchive, "blob \(digest) is missing from the archive") }
        let actual = try LayerUnpacker.sha256(file: path)
        guard actual == digest else { throw ImageStoreError(.digestMismatch, "blob \(digest) in the archive has digest \(actual)") }
        let temporary = root + "/tmp/blob-\(UInt64.random(in: 0 ... .max))"
        do {
            try FileManager.default.copyItem(atPath: path, toPath: temporary)
        } catch {
            throw ImageStoreError(.io, "cannot copy \(path): \(error)")
        }
        guard rename(temporary, target) == 0 else { throw ImageStoreError(.io, "cannot store blob \(digest)") }
        return size
    }
}
