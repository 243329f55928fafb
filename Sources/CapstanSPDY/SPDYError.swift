/// A SPDY session failure. Session errors end the whole session (a GOAWAY has been queued);
/// stream errors were answered with a RST_STREAM and are reported as events instead.
public struct SPDYError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case protocolError
        case compression
        case unsupportedVersion
        case invalidState
        case sessionClosed
    }

    private let code: Code
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The peer broke the framing or session rules.
    public static func protocolError(_ message: String) -> SPDYError { SPDYError(.protocolError, message) }
    /// A header block could not be compressed or decompressed.
    public static func compression(_ message: String) -> SPDYError { SPDYError(.compression, message) }
    /// A control frame carried a version other than 3.
    public static func unsupportedVersion(_ version: UInt16) -> SPDYError {
        SPDYError(.unsupportedVersion, "SPDY version \(version) is not supported (only 3)")
    }
    /// The caller asked for something the stream's state does not allow.
    public static func invalidState(_ message: String) -> SPDYError { SPDYError(.invalidState, message) }
    /// The session has ended (GOAWAY sent or received, or a session error).
    public static func sessionClosed(_ message: String) -> SPDYError { SPDYError(.sessionClosed, message) }

    public var isProtocolError: Bool { code == .protocolError || code == .compression || code == .unsupportedVersion }
    public var isInvalidState: Bool { code == .invalidState }
    public var isSessionClosed: Bool { code == .sessionClosed }

    public var description: String { "SPDY: \(message)" }

    public static func == (lhs: SPDYError, rhs: SPDYError) -> Bool { lhs.code == rhs.code && lhs.message == rhs.message }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
    }
}
