/// An error from the cluster PKI: reading, parsing, issuing or verifying certificates,
/// kubeconfig files and token files.
///
/// The description names the file involved (when there is one) and says what is wrong,
/// so it can be shown to an operator as is.
public struct PKIError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case fileSystem
            case missingFile
            case corruptFile
            case keyMismatch
            case notACertificateAuthority
            case expired
            case invalidName
            case untrusted
            case invalidCertificate
            case issuance
            case invalidTokenFile
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A file or directory could not be read, written, created or renamed.
        public static let fileSystem = Code(.fileSystem)
        /// A file that must exist alongside another one is missing.
        public static let missingFile = Code(.missingFile)
        /// A file holds no valid PEM certificate or key.
        public static let corruptFile = Code(.corruptFile)
        /// A private key does not belong to the certificate next to it.
        public static let keyMismatch = Code(.keyMismatch)
        /// The certificate loaded as the cluster CA cannot sign certificates.
        public static let notACertificateAuthority = Code(.notACertificateAuthority)
        /// A certificate is outside its validity period.
        public static let expired = Code(.expired)
        /// A DNS name, IP address, common name or organization is not acceptable.
        public static let invalidName = Code(.invalidName)
        /// A presented certificate was not issued by the cluster CA or may not be used for client authentication.
        public static let untrusted = Code(.untrusted)
        /// Presented certificate bytes are not a valid X.509 certificate, or it lacks a user name.
        public static let invalidCertificate = Code(.invalidCertificate)
        /// Creating or signing a certificate failed.
        public static let issuance = Code(.issuance)
        /// A bearer token file is malformed.
        public static let invalidTokenFile = Code(.invalidTokenFile)

        public var description: String { String(describing: value) }
    }

    /// What kind of failure this is.
    public let code: Code
    /// The file involved, if any.
    public let path: String?
    /// What went wrong, in a sentence.
    public let message: String

    public init(_ code: Code, path: String? = nil, _ message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String {
        if let path { return "\(path): \(message)" }
        return message
    }
}
