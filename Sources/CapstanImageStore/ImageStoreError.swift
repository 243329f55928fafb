/// Errors of the image store. The code tells the caller which Kubernetes reason fits
/// (`notFound`/`unauthorized`/`pullFailed` -> ErrImagePull).
public struct ImageStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidReference, notFound, unauthorized, registryUnreachable, pullFailed
            case digestMismatch, unsupported, invalidArchive, io
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let invalidReference = Code(.invalidReference)
        /// Image not in the store, or manifest/blob not in the registry.
        public static let notFound = Code(.notFound)
        public static let unauthorized = Code(.unauthorized)
        public static let registryUnreachable = Code(.registryUnreachable)
        public static let pullFailed = Code(.pullFailed)
        public static let digestMismatch = Code(.digestMismatch)
        /// No manifest for this platform, unknown media type, zstd without a `zstd` binary, ...
        public static let unsupported = Code(.unsupported)
        public static let invalidArchive = Code(.invalidArchive)
        public static let io = Code(.io)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
