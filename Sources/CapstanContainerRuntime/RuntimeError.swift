/// Errors of `ContainerRuntime` and `ImageService` implementations. The code tells the
/// agent which Kubernetes reason to report (ErrImagePull, CreateContainerError, ...).
public struct RuntimeError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case notFound, alreadyExists, invalidArgument, failedPrecondition
            case imageNotFound, imagePullFailed, imageInvalid, unauthorized
            case createFailed, startFailed, timeout, internalError
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Unknown sandbox or container id.
        public static let notFound = Code(.notFound)
        public static let alreadyExists = Code(.alreadyExists)
        public static let invalidArgument = Code(.invalidArgument)
        /// The object is in the wrong state (e.g. starting a container twice, runAsNonRoot with root).
        public static let failedPrecondition = Code(.failedPrecondition)
        /// The image is not present locally (create) or not in the registry (pull).
        public static let imageNotFound = Code(.imageNotFound)
        /// Pull failed: registry down, digest mismatch, bad response (ErrImagePull).
        public static let imagePullFailed = Code(.imagePullFailed)
        /// The image content cannot be used (bad manifest, no linux/amd64 variant, ...).
        public static let imageInvalid = Code(.imageInvalid)
        public static let unauthorized = Code(.unauthorized)
        /// Bundle or runtime `create` failed (CreateContainerError).
        public static let createFailed = Code(.createFailed)
        /// Runtime `start` failed, e.g. the executable does not exist (StartError / ContainerCannotRun).
        public static let startFailed = Code(.startFailed)
        public static let timeout = Code(.timeout)
        public static let internalError = Code(.internalError)

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
