import CapstanAPI

/// The events of one watch, read from a chunked JSON stream on a connection of its own.
///
/// Iterating opens the connection (each iterator its own); the stream ends (nil) when the server
/// ends the watch (its timeout), and throws when the connection breaks, when the server reports
/// an error (``APIError``), or when the resourceVersion expired (``APIClientError/Code/expired``:
/// list again). Leaving the loop or cancelling the task closes the connection. Events are read
/// as they are consumed: a slow consumer slows the server, it does not fill memory.
///
/// ```swift
/// for try await event in client.watch(CoreV1.Pod.self, namespace: "default") {
///     if case .added(let pod) = event { print(pod.name) }
/// }
/// ```
public struct WatchStream<Object: Sendable>: AsyncSequence, Sendable {
    public typealias Element = WatchEvent<Object>

    let client: APIClient
    let path: String
    let query: APIClient.Query
    let decoder: WatchEventDecoder<Object>

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(stream: self)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: WatchStream
        private var response: StreamingResponse?
        private var framer = JSONStreamFramer()
        private var finished = false

        init(stream: WatchStream) {
            self.stream = stream
        }

        public mutating func next() async throws -> WatchEvent<Object>? {
            try await next(isolation: nil)
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> WatchEvent<Object>? {
            if finished { return nil }
            do {
                if response == nil {
                    response = try await stream.client.openStream(path: stream.path, query: stream.query)
                }
                while true {
                    if let frame = try framer.next() {
                        if let event = try stream.decoder.decode(frame) { return event }
                        continue
                    }
                    guard let chunk = try await response!.nextChunk() else {
                        end()
                        guard framer.isEmpty else {
                            throw APIClientError(.connectionClosed, "the watch ended inside an event", retryHint: .idempotentOnly)
                        }
                        return nil
                    }
                    framer.append(chunk.readableBytesView)
                }
            } catch {
                end()
                if Task.isCancelled, !(error is CancellationError) { throw CancellationError() }
                throw error
            }
        }

        private mutating func end() {
            finished = true
            response?.close()
            response = nil
        }
    }
}
