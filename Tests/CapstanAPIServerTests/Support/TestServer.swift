import CapstanAPIServer
import CapstanStorage
import Foundation
import Logging
import Testing

extension Tag {
    /// A real in-process API server on loopback, driven over HTTP.
    @Tag static var component: Self
    /// Real client processes (kubectl, the Python client) against a TLS server.
    @Tag static var integration: Self
}

/// A real API server in a temporary directory on 127.0.0.1 with an ephemeral port. `start`
/// returns once it serves; `stop` shuts it down, waits for `run` to return, and removes the
/// directory. Use `withServer` so every test cleans up, pass or fail.
final class TestServer: Sendable {
    enum Store: Sendable {
        /// `MemoryStorage`: fast, for component tests.
        case memory
        /// SQLite in the data directory (what `capstan server` uses).
        case sqlite
        /// etcd at these endpoints (`etcd://host:port,...`).
        case etcd(String)
    }

    let server: APIServer
    let directory: String
    let port: Int
    let tls: Bool
    let runTask: Task<Void, any Error>
    /// Plain-HTTP client (only for servers started with `tls: false`).
    let http: HTTPClient

    private init(server: APIServer, directory: String, port: Int, tls: Bool, runTask: Task<Void, any Error>) {
        self.server = server
        self.directory = directory
        self.port = port
        self.tls = tls
        self.runTask = runTask
        self.http = HTTPClient(port: port)
    }

    static func makeDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("capstan-apitest-\(UUID().uuidString.prefix(8).lowercased())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Starts a server. `directory` reuses an existing data directory (restart tests).
    static func start(tls: Bool = false, store: Store = .memory, tokenFile: String? = nil,
                      directory: String? = nil) async throws -> TestServer {
        let dir = try directory ?? makeDirectory()
        var config = APIServerConfiguration()
        config.bindAddress = "127.0.0.1"
        config.port = 0
        config.dataDirectory = dir
        config.insecureHTTP = !tls
        config.tokenFile = tokenFile
        config.serviceCIDR = "10.43.0.0/16"
        if case .etcd(let endpoints) = store { config.datastore = endpoints }
        var logger = Logger(label: "capstan.apitest")
        logger.logLevel = .critical
        let server: APIServer
        do {
            if case .memory = store, !tls {
                server = try APIServer(configuration: config, storage: MemoryStorage(), pki: nil, logger: logger)
            } else {
                server = try await APIServer.open(config, logger: logger)
            }
        } catch {
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
        let (ready, continuation) = AsyncStream<Int>.makeStream()
        let task = Task {
            defer { continuation.finish() }
            try await server.run(onReady: { port in continuation.yield(port) })
        }
        var bound: Int?
        for await port in ready {
            bound = port
            break
        }
        guard let bound else {
            // `run` ended before serving: report why.
            let result = await task.result
            try? FileManager.default.removeItem(atPath: dir)
            try result.get()
            throw TestServerError(description: "the server stopped before it was ready")
        }
        return TestServer(server: server, directory: dir, port: bound, tls: tls, runTask: task)
    }

    /// Shuts the server down and waits for `run` to return. Keeps the directory when asked
    /// (restart tests); removes it otherwise.
    func stop(keepDirectory: Bool = false) async {
        // Close the client's pooled connections first: the server's shutdown waits for open
        // connections (see ShutdownTests).
        http.session.invalidateAndCancel()
        await server.shutdown()
        if !(await waitForRun(timeout: .seconds(10))) {
            Issue.record("the server did not stop within 10 s of shutdown(); cancelling its run task")
            runTask.cancel()
            _ = await waitForRun(timeout: .seconds(10))
        }
        if !keepDirectory { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Whether `run` returned within `timeout`.
    func waitForRun(timeout: Duration) async -> Bool {
        let done = Completion()
        let task = runTask
        Task { _ = await task.result; done.set() }
        let deadline = ContinuousClock.now + timeout
        while !done.isSet, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        return done.isSet
    }

    /// The admin kubeconfig (TLS servers only).
    func kubeconfig() throws -> String {
        guard let path = try server.writeKubeconfig(host: "127.0.0.1") else {
            throw TestServerError(description: "no kubeconfig: the server runs without TLS")
        }
        return path
    }
}

final class Completion: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

struct TestServerError: Error, CustomStringConvertible {
    let description: String
}

/// Runs `body` against a fresh server and always stops it afterwards.
func withServer<T>(tls: Bool = false, store: TestServer.Store = .memory, tokenFile: String? = nil,
                   _ body: (TestServer) async throws -> T) async throws -> T {
    let server = try await TestServer.start(tls: tls, store: store, tokenFile: tokenFile)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// Polls `condition` until it holds or the deadline passes (for effects of other processes).
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

// MARK: Object builders

enum Fixtures {
    static func configMap(_ name: String, labels: [String: String] = [:], data: [String: String] = ["k": "v"]) -> JSON {
        ["apiVersion": "v1", "kind": "ConfigMap",
         "metadata": ["name": .string(name), "labels": .object(labels.mapValues(JSON.string))],
         "data": .object(data.mapValues(JSON.string))]
    }

    static func pod(_ name: String, labels: [String: String] = [:], nodeName: String? = nil, image: String = "nginx") -> JSON {
        var spec: JSON = ["containers": [["name": "c", "image": .string(image)]]]
        if let nodeName { spec["nodeName"] = .string(nodeName) }
        return ["apiVersion": "v1", "kind": "Pod",
                "metadata": ["name": .string(name), "labels": .object(labels.mapValues(JSON.string))],
                "spec": spec]
    }

    static func deployment(_ name: String, replicas: Int64 = 1, image: String = "nginx") -> JSON {
        ["apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": ["name": .string(name), "labels": ["app": .string(name)]],
         "spec": [
            "replicas": .int(replicas),
            "selector": ["matchLabels": ["app": .string(name)]],
            "template": [
                "metadata": ["labels": ["app": .string(name)]],
                "spec": ["containers": [["name": "web", "image": .string(image)]]],
            ],
         ]]
    }

    static func service(_ name: String, type: String = "ClusterIP", port: Int64 = 80) -> JSON {
        ["apiVersion": "v1", "kind": "Service",
         "metadata": ["name": .string(name)],
         "spec": ["type": .string(type), "selector": ["app": .string(name)],
                  "ports": [["port": .int(port), "targetPort": .int(port)]]]]
    }

    static func namespace(_ name: String) -> JSON {
        ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(name)]]
    }
}
