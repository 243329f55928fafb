/// Why a protobuf request body could not be turned into an object.
///
/// `malformed` bodies (no `k8s\0` magic, broken protobuf, values Kubernetes would refuse) are a
/// 400 BadRequest; bodies of a kind with no protobuf form (custom resources, unknown versions)
/// or in an encoding Capstan does not read are a 415 UnsupportedMediaType, as on Kubernetes.
public struct ProtobufBodyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of the failure; new reasons may be added.
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        private enum Code: Hashable, Sendable {
            case malformed, unsupportedMediaType
        }

        private let code: Code

        private init(_ code: Code) { self.code = code }

        /// The body is not a valid Kubernetes protobuf document: 400 BadRequest.
        public static let malformed = Reason(.malformed)
        /// The body is well formed but holds something with no protobuf form here: 415.
        public static let unsupportedMediaType = Reason(.unsupportedMediaType)

        public var description: String {
            switch code {
            case .malformed: "BadRequest"
            case .unsupportedMediaType: "UnsupportedMediaType"
            }
        }
    }

    public let reason: Reason
    public let message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    /// The HTTP status the API server answers with: 400 or 415.
    public var statusCode: Int { reason == .unsupportedMediaType ? 415 : 400 }

    public var description: String { message }

    static func malformed(_ message: String) -> ProtobufBodyError { ProtobufBodyError(.malformed, message) }
}
