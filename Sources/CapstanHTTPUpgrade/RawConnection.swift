import NIOCore
import NIOHTTP1

/// A connection after an HTTP upgrade (or a hijack): bytes in, bytes out, no HTTP framing.
/// The server hands one to an upgrade handler after removing its HTTP handlers; the dialer
/// hands one to code that talks to an upgrading server. Whoever holds it writes any HTTP
/// response head itself (``writeResponseHead(status:headers:)``), so a proxy can relay the
/// head it got from its backend unchanged.
///
/// The connection closes when the scope that made it ends (the handler or the dial body returns).
public struct RawConnection: Sendable {
    /// What the peer sends, in order; finishes when the peer closes.
    public let inbound: AsyncThrowingStream<ByteBuffer, any Error>
    private let writer: @Sendable (ByteBuffer) async throws -> Void

    public init(inbound: AsyncThrowingStream<ByteBuffer, any Error>, writer: @escaping @Sendable (ByteBuffer) async throws -> Void) {
        self.inbound = inbound
        self.writer = writer
    }

    public func write(_ buffer: ByteBuffer) async throws {
        try await writer(buffer)
    }

    public func write(_ bytes: [UInt8]) async throws {
        try await writer(ByteBuffer(bytes: bytes))
    }

    /// Writes an HTTP/1.1 response head (e.g. `101 Switching Protocols`).
    public func writeResponseHead(status: HTTPResponseStatus, headers: HTTPHeaders) async throws {
        try await write(Self.encodeHead(status: status, headers: headers))
    }

    /// Writes a whole response with a body and `Connection: close` (an error answered after
    /// the connection was taken over).
    public func writeResponse(status: HTTPResponseStatus, headers: HTTPHeaders, body: [UInt8]) async throws {
        var headers = headers
        headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        headers.replaceOrAdd(name: "Connection", value: "close")
        try await write(Self.encodeHead(status: status, headers: headers) + body)
    }

    static func encodeHead(status: HTTPResponseStatus, headers: HTTPHeaders) -> [UInt8] {
        var text = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }
}

extension RawConnection {
    /// Copies bytes both ways between two connections until either side closes (or fails);
    /// returns when one direction ended. The caller's scopes then close both connections.
    public static func splice(_ a: RawConnection, _ b: RawConnection) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await copy(from: a, to: b) }
            group.addTask { try? await copy(from: b, to: a) }
            await group.next()
            group.cancelAll()
        }
    }

    private static func copy(from source: RawConnection, to destination: RawConnection) async throws {
        for try await buffer in source.inbound {
            try await destination.write(buffer)
        }
    }
}
