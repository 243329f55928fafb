/// A label or field selector that does not parse or names an unsupported field, with
/// kube-apiserver's message (`unable to parse requirement: …`, `field label not supported: foo`).
public struct SelectorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The message kube-apiserver reports.
    public let message: String

    /// An error with this message.
    public init(_ message: String) { self.message = message }

    public var description: String { message }

    /// The 400 BadRequest Status kube-apiserver answers a list or watch with.
    public var apiError: APIError { .badRequest(message) }
}
