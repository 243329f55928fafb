import NIOCore

extension APIClient {
    /// A GET whose body arrives in pieces as the server writes them (`pods/log?follow=true`,
    /// a node agent's log endpoint), on a connection of its own.
    ///
    /// The response head is awaited before this returns, so a non-2xx answer throws its
    /// ``APIError`` here. Cancelling the consuming task, or dropping the sequence, closes the
    /// connection.
    public func streamingGet(path: String, query: Query = [:], accept: String? = nil) async throws -> ByteStream {
        let response = try await openStream(path: path, query: query, accept: accept)
        return ByteStream(response: response, contentType: response.head.headers.first(name: "content-type"))
    }

    /// The body of a streaming GET, as chunks of bytes.
    public struct ByteStream: AsyncSequence, Sendable {
        public typealias Element = [UInt8]
        let response: StreamingResponse
        /// The response's `Content-Type`, if it sent one.
        public let contentType: String?

        public func makeAsyncIterator() -> Iterator { Iterator(response: response) }

        /// Closes the connection (ends the sequence for its reader).
        public func close() { response.close() }

        public struct Iterator: AsyncIteratorProtocol {
            let response: StreamingResponse

            public mutating func next() async throws -> [UInt8]? {
                do {
                    guard let chunk = try await response.nextChunk() else { return nil }
                    return Array(chunk.readableBytesView)
                } catch {
                    response.close()
                    throw error
                }
            }
        }
    }
}
