import Testing

extension Tag {
    /// Pure logic, no IO.
    @Tag static var unit: Self
    /// Against a real in-process API server on loopback.
    @Tag static var component: Self
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Waits for the next element, failing the test if the sequence ends first.
func nextElement<S: AsyncSequence>(_ iterator: inout S.AsyncIterator, of: S.Type = S.self,
                                   sourceLocation: SourceLocation = #_sourceLocation) async throws -> S.Element {
    guard let element = try await iterator.next() else {
        Issue.record("the stream ended", sourceLocation: sourceLocation)
        throw CancellationError()
    }
    return element
}
