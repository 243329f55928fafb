import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A small HTTP/1.1 client for registry traffic: one request per connection, TLS by the
/// system's trust roots, the body either collected (manifests, tokens) or streamed to a sink
/// (blobs). Redirects are left to the caller (they change host and auth).
struct HTTPFetcher: Sendable {
    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    let group: any EventLoopGroup
    let sslContext: NIOSSLContext
    let connectTimeout: TimeAmount
    /// Longest silence while reading a response.
    let readTimeout: Duration

    init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, trustRoots: NIOSSLTrustRoots = .default, connectTimeout: TimeAmount = .seconds(10), readTimeout: Duration = .seconds(60)) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = trustRoots
        self.group = group
        self.sslContext = try NIOSSLContext(configuration: tls)
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
    }

    /// Sends a GET and collects a body of at most `limit` bytes.
    func get(_ url: URL, headers: HTTPHeaders, limit: Int = 16 << 20) async throws -> Response {
        var body: [UInt8] = []
        let (status, responseHeaders) = try await request(url, headers: headers) { chunk in
            guard body.count + chunk.readableBytes <= limit else { throw ImageStoreError(.pullFailed, "response from \(url.host ?? "") is larger than \(limit) bytes") }
            body += chunk.readableBytesView
        }
        return Response(status: status, headers: responseHeaders, body: body)
    }

    /// Sends a GET and hands each body chunk to `sink` (only for 2xx responses; other bodies
    /// are collected into `Response.body`, at most 64 KiB).
    func request(_ url: URL, headers: HTTPHeaders, sink: (ByteBuffer) throws -> Void) async throws -> (Int, HTTPHeaders) {
        guard let scheme = url.scheme, let host = url.host, scheme == "http" || scheme == "https" else {
            throw ImageStoreError(.pullFailed, "unsupported URL \(url)")
        }
        let tls = scheme == "https"
        let port = url.port ?? (tls ? 443 : 80)
        let sslContext = self.sslContext
        let hostIsIP = host.contains(":") || host.split(separator: ".").allSatisfy { UInt8($0) != nil }
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(connectTimeout)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        if tls { try sync.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: hostIsIP ? nil : host)) }
                        try sync.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw ImageStoreError(.registryUnreachable, "cannot connect to \(host):\(port): \(error)")
        }
        var path = url.path.isEmpty ? "/" : url.path
        if let query = url.query { path += "?" + query }
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
        head.headers = headers
        head.headers.replaceOrAdd(name: "Host", value: url.port.map { "\(host):\($0)" } ?? host)
        head.headers.replaceOrAdd(name: "User-Agent", value: "capstan")
        head.headers.replaceOrAdd(name: "Connection", value: "close")
        let idleTimeout = TimeAmount.nanoseconds(Int64(readTimeout.components.seconds) * 1_000_000_000 + readTimeout.components.attoseconds / 1_000_000_000)
        let underlying = channel.channel
        // Closing the channel after a silence ends the read loop below with an error.
        func armTimer() -> Scheduled<Void> {
            underlying.eventLoop.scheduleTask(in: idleTimeout) { underlying.close(promise: nil) }
        }
        return try await withoutActuallyEscaping(sink) { sink in try await channel.executeThenClose { inbound, outbound in
            var timer = armTimer()
            defer { timer.cancel() }
            // A server may answer (e.g. 404) and close before the request's end is flushed; the
            // response is still read below, so a failed write is not the error to report.
            try? await outbound.write(contentsOf: [.head(head), .end(nil)])
            var status = 0
            var responseHeaders = HTTPHeaders()
            for try await part in inbound {
                timer.cancel()
                timer = armTimer()
                switch part {
                case .head(let responseHead):
                    status = Int(responseHead.status.code)
                    responseHeaders = responseHead.headers
                case .body(let buffer):
                    if (200 ..< 300).contains(status) { try sink(buffer) }
                case .end:
                    return (status, responseHeaders)
                }
            }
            throw ImageStoreError(.pullFailed, "connection to \(host) closed before the response ended (or was idle for \(readTimeout))")
        } }
    }
}
