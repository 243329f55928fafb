import CapstanOCI
import Foundation

extension ImageStore {
    /// Pulls `reference` (an index is resolved to this store's platform), verifying every
    /// digest; blobs already present and layers already unpacked are not fetched again.
    /// Layers download concurrently (at most `parallelism` at a time).
    @discardableResult
    public func pull(_ reference: String, credentials: RegistryCredentials? = nil, parallelism: Int = 3) async throws -> StoredImage {
        let parsed: ImageReference
        do {
            parsed = try ImageReference(parsing: reference)
        } catch {
            throw ImageStoreError(.invalidReference, "\(reference): \(error)")
        }
        let started = ContinuousClock.now
        var top = try await registry.manifest(parsed, ref: parsed.manifestReference, credentials: credentials)
        var extraBlobs: [ContentDigest] = []
        if MediaType.isIndex(top.mediaType) {
            let index: ImageIndex
            do {
                index = try JSONDecoder().decode(ImageIndex.self, from: Data(top.bytes))
            } catch {
                throw ImageStoreError(.pullFailed, "index of \(parsed) is not valid: \(error)")
            }
            guard let chosen = index.manifest(for: platform) else {
                let offered = index.manifests.compactMap { $0.platform.map { "\($0.os)/\($0.architecture)" } }
                throw ImageStoreError(.unsupported, "\(parsed) has no manifest for \(platform.os)/\(platform.architecture) (offers \(offered.joined(separator: ", ")))")
            }
            extraBlobs.append(try writeBlob(top.bytes))
            top = try await registry.manifest(parsed, ref: chosen.digest.description, credentials: credentials)
        }
        guard MediaType.isManifest(top.mediaType) else {
            throw ImageStoreError(.unsupported, "\(parsed): unsupported manifest type \(top.mediaType)")
        }
        let manifest: ImageManifest
        do {
            manifest = try JSONDecoder().decode(ImageManifest.self, from: Data(top.bytes))
        } catch {
            throw ImageStoreError(.pullFailed, "manifest of \(parsed) is not valid: \(error)")
        }
        let needed = [manifest.config] + manifest.layers.filter { !hasBlob($0.digest) }
        try await download(needed.filter { !hasBlob($0.digest) }, from: parsed, credentials: credentials, parallelism: parallelism)
        let manifestDigest = try writeBlob(top.bytes)
        let image = try await assemble(manifestDigest: manifestDigest, extraBlobs: extraBlobs)
        let tagged = parsed.digest == nil ? parsed.description : nil
        let repoDigest = "\(parsed.name)@\(extraBlobs.first ?? manifestDigest)"
        let stored = try record(image, name: tagged, repoDigest: repoDigest)
        logger.info("pulled image", metadata: ["image": "\(parsed)", "id": "\(stored.id)", "elapsed": "\(ContinuousClock.now - started)"])
        return stored
    }

    private func download(_ descriptors: [Descriptor], from reference: ImageReference, credentials: RegistryCredentials?, parallelism: Int) async throws {
        let registry = self.registry
        let scratch = root + "/tmp"
        let targets = descriptors.map { ($0, blobPath($0.digest)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func launch() {
                guard next < targets.count else { return }
                let (descriptor, path) = targets[next]
                next += 1
                group.addTask {
                    let temporary = scratch + "/download-\(UInt64.random(in: 0 ... .max))"
                    guard FileManager.default.createFile(atPath: temporary, contents: nil), let handle = FileHandle(forWritingAtPath: temporary) else {
                        throw ImageStoreError(.io, "cannot create \(temporary)")
                    }
                    do {
                        try await registry.blob(reference, descriptor, credentials: credentials, into: handle)
                        try handle.close()
                    } catch {
                        try? handle.close()
                        try? FileManager.default.removeItem(atPath: temporary)
                        throw error
                    }
                    guard rename(temporary, path) == 0 else {
                        try? FileManager.default.removeItem(atPath: temporary)
                        throw ImageStoreError(.io, "cannot store blob \(descriptor.digest): \(String(cString: strerror(errno)))")
                    }
                }
            }
            for _ in 0 ..< max(1, parallelism) { launch() }
            while try await group.next() != nil { launch() }
        }
    }
}
