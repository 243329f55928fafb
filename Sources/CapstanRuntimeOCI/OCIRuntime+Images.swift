import CapstanContainerRuntime
import CapstanImageStore
import CapstanOCI

extension OCIRuntime {
    public func pullImage(_ reference: String, auth: RegistryAuth?) async throws -> ImageStatus {
        do {
            return Self.status(try await images.pull(reference, credentials: auth))
        } catch let error as ImageStoreError {
            throw Self.runtimeError(error)
        }
    }

    public func imageStatus(_ reference: String) async throws -> ImageStatus? {
        await images.image(reference).map(Self.status)
    }

    public func listImages() async throws -> [ImageStatus] {
        await images.list().map(Self.status)
    }

    public func removeImage(_ reference: String) async throws {
        do {
            try await images.remove(reference)
        } catch let error as ImageStoreError {
            throw Self.runtimeError(error)
        }
    }

    /// Frees blobs and layers no image uses, keeping the layers of existing containers.
    @discardableResult
    public func garbageCollectImages() async throws -> GarbageCollectionResult {
        let inUse = state.withLock { Set($0.containers.values.flatMap(\.diffIDs)) }
        do {
            return try await images.garbageCollect(keepLayers: inUse)
        } catch let error as ImageStoreError {
            throw Self.runtimeError(error)
        }
    }

    static func status(_ image: StoredImage) -> ImageStatus {
        ImageStatus(id: image.id.description, repoTags: image.names, repoDigests: image.repoDigests, size: image.size, config: runtimeConfig(image.config))
    }

    static func runtimeError(_ error: ImageStoreError) -> RuntimeError {
        switch error.code {
        case .notFound: RuntimeError(.imageNotFound, error.message)
        case .unauthorized: RuntimeError(.unauthorized, error.message)
        case .invalidReference: RuntimeError(.invalidArgument, error.message)
        case .unsupported, .invalidArchive: RuntimeError(.imageInvalid, error.message)
        default: RuntimeError(.imagePullFailed, error.message)
        }
    }
}
