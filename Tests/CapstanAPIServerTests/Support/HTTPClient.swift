import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// One HTTP response as a client sees it.
struct HTTPResult: Sendable, CustomStringConvertible {
    var status: Int
    /// Header names lower-cased.
    var headers: [String: String]
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }
    var json: JSON { (try? JSON.parse(body)) ?? .null }
    var contentType: String { headers["content-type"] ?? "" }

    var description: String { "HTTP \(status) \(contentType): \(text.prefix(600))" }
}

/// A plain-HTTP client for the insecure test server (which treats every request as admin).
final class HTTPClient: Sendable {
    let base: URL
    let session: URLSession

    init(port: Int) {
        base = URL(string: "http://127.0.0.1:\(port)")!
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = 30
        config.httpMaximumConnectionsPerHost = 8
        session = URLSession(configuration: config)
    }

    func url(_ path: String) -> URL { URL(string: base.absoluteString + path)! }

    func send(_ method: String, _ path: String, body: Data? = nil, contentType: String? = "application/json",
              accept: String? = "application/json", headers: [String: String] = [:]) async throws -> HTTPResult {
        var request = URLRequest(url: url(path))
        request.httpMethod = method
        if let body {
            request.httpBody = body
            if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        }
        if let accept { request.setValue(accept, forHTTPHeaderField: "Accept") }
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var lower: [String: String] = [:]
        for (k, v) in http.allHeaderFields {
            if let k = k as? String, let v = v as? String { lower[k.lowercased()] = v }
        }
        return HTTPResult(status: http.statusCode, headers: lower, body: data)
    }

    func get(_ path: String, accept: String? = "application/json") async throws -> HTTPResult {
        try await send("GET", path, accept: accept)
    }

    func post(_ path: String, _ object: JSON, query: String = "") async throws -> HTTPResult {
        try await send("POST", path + query, body: object.data)
    }

    func put(_ path: String, _ object: JSON) async throws -> HTTPResult {
        try await send("PUT", path, body: object.data)
    }

    func patch(_ path: String, _ patch: JSON, type: String = "application/merge-patch+json") async throws -> HTTPResult {
        try await send("PATCH", path, body: patch.data, contentType: type)
    }

    func delete(_ path: String, _ options: JSON? = nil) async throws -> HTTPResult {
        try await send("DELETE", path, body: options?.data)
    }

    /// Creates and expects 201; returns the stored object.
    @discardableResult
    func create(_ path: String, _ object: JSON, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSON {
        let r = try await post(path, object)
        #expect(r.status == 201, "create \(path): \(r)", sourceLocation: sourceLocation)
        return r.json
    }

    /// GETs and expects 200.
    func object(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSON {
        let r = try await get(path)
        #expect(r.status == 200, "get \(path): \(r)", sourceLocation: sourceLocation)
        return r.json
    }

    /// Opens a watch (or any streamed GET) and returns its lines as they arrive.
    func stream(_ path: String, accept: String = "application/json") -> LineStream {
        LineStream(url: url(path), accept: accept)
    }
}

/// Checks that a response is the `Status` Kubernetes returns for a failure.
func expectStatus(_ r: HTTPResult, _ code: Int, _ reason: String?, messageContains: String? = nil,
                  sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == code, "expected \(code): \(r)", sourceLocation: sourceLocation)
    let s = r.json
    #expect(r.contentType.hasPrefix("application/json"), "Status content type: \(r.contentType)", sourceLocation: sourceLocation)
    #expect(s["kind"]?.string == "Status", "not a Status: \(r)", sourceLocation: sourceLocation)
    #expect(s["apiVersion"]?.string == "v1", sourceLocation: sourceLocation)
    #expect(s["status"]?.string == "Failure", sourceLocation: sourceLocation)
    #expect(s["code"]?.int == code, "Status.code: \(r)", sourceLocation: sourceLocation)
    if let reason {
        #expect(s["reason"]?.string == reason, "Status.reason: \(r)", sourceLocation: sourceLocation)
    }
    let message = s["message"]?.string ?? ""
    #expect(!message.isEmpty, "Status.message is empty: \(r)", sourceLocation: sourceLocation)
    if let messageContains {
        #expect(message.contains(messageContains), "Status.message: \(r)", sourceLocation: sourceLocation)
    }
}

/// A streamed response read line by line (watch events are one JSON document per line).
final class LineStream: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = Data()
    private var lines: [String] = []
    private var finished = false
    private(set) var error: (any Error)?
    private(set) var response: HTTPURLResponse?
    private var session: URLSession!
    private var task: URLSessionDataTask!

    init(url: URL, accept: String) {
        super.init()
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = 120
        session = URLSession(configuration: config, delegate: self, delegateQueue: nil)
        var request = URLRequest(url: url)
        request.setValue(accept, forHTTPHeaderField: "Accept")
        task = session.dataTask(with: request)
        task.resume()
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        lock.withLock { self.response = response as? HTTPURLResponse }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        lock.withLock {
            buffer.append(data)
            while let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[buffer.startIndex..<nl]
                lines.append(String(decoding: line, as: UTF8.self))
                buffer = Data(buffer[buffer.index(after: nl)...])
            }
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        lock.withLock {
            if !buffer.isEmpty {
                lines.append(String(decoding: buffer, as: UTF8.self))
                buffer = Data()
            }
            finished = true
            self.error = error
        }
    }

    var isFinished: Bool { lock.withLock { finished } }
    var statusCode: Int? { lock.withLock { response?.statusCode } }
    var receivedLines: [String] { lock.withLock { lines } }

    /// Waits until at least `count` lines arrived (or the stream ended, or the deadline passed).
    @discardableResult
    func waitForLines(_ count: Int, timeout: Duration = .seconds(10)) async -> [String] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (enough, done) = lock.withLock { (lines.count >= count, finished) }
            if enough || done { break }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return receivedLines
    }

    /// Waits for the server to end the stream.
    func waitForEnd(timeout: Duration = .seconds(10)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if isFinished { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return isFinished
    }

    /// The parsed events so far: (type, object).
    var events: [(type: String, object: JSON)] {
        receivedLines.compactMap { line in
            guard let j = try? JSON.parse(line), let t = j["type"]?.string else { return nil }
            return (t, j["object"] ?? .null)
        }
    }

    /// Waits until `count` events arrived; returns them.
    func waitForEvents(_ count: Int, timeout: Duration = .seconds(10)) async -> [(type: String, object: JSON)] {
        await waitForLines(count, timeout: timeout)
        return events
    }

    func cancel() {
        task.cancel()
        session.invalidateAndCancel()
    }
}
