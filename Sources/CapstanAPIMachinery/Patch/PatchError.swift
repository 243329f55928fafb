/// A patch that is malformed or does not apply; `apiError` is the Status kube-apiserver answers.
public struct PatchError: Error, Sendable, Hashable, CustomStringConvertible {
    enum Code: Sendable, Hashable {
        /// The patch document has the wrong shape (400).
        case malformed
        /// More operations than allowed (413).
        case tooManyOperations
        /// An operation could not be applied (422).
        case failed
        /// A `test` operation found a different value (422).
        case testFailed
    }

    let code: Code
    /// What went wrong, naming the operation and path.
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// True when a JSON patch `test` operation failed.
    public var isTestFailure: Bool { code == .testFailed }

    /// True when the patch document itself is malformed (not a failure to apply it).
    public var isMalformed: Bool { code == .malformed }

    /// The Status kube-apiserver answers: 400 with the message for a malformed patch, 413 for too
    /// many operations, and for a patch that does not apply its generic 422
    /// (`the server rejected our request due to an error in our request`); see `message` for the cause.
    public var apiError: APIError {
        switch code {
        case .malformed:
            return .badRequest(message)
        case .tooManyOperations:
            return .requestEntityTooLarge(message)
        case .failed, .testFailed:
            return APIError(code: 422, reason: .invalid,
                            message: "the server rejected our request due to an error in our request",
                            details: APIError.Details())
        }
    }
}
