import CapstanAPIServer
import CapstanClient
import CapstanPKI
import CapstanStorage
import Foundation
import Logging

/// A failure of the test fixtures themselves.
public struct TestingFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A quiet logger for servers and clients under test.
public let quietLogger = Logger(label: "capstan.test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A temporary directory, removed when `body` returns.
public func withTemporaryDirectory<R>(_ body: (String) async throws -> R) async throws -> R {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("capstan-client-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// An API server serving HTTPS on 127.0.0.1 from a data directory, with its PKI and the admin
/// kubeconfig it wrote (`<data-dir>/kubeconfig`, as `capstan server` does).
public final class RunningServer: Sendable {
    public enum StorageKind: Sendable { case memory, sqlite }

    public let server: APIServer
    public let port: Int
    public let directory: String
    public let kubeconfigPath: String
    public let pki: ClusterPKI
    private let task: Task<Void, any Error>

    private init(server: APIServer, port: Int, directory: String, kubeconfigPath: String, pki: ClusterPKI,
                 task: Task<Void, any Error>) {
        self.server = server
        self.port = port
        self.directory = directory
        self.kubeconfigPath = kubeconfigPath
        self.pki = pki
        self.task = task
    }

    /// Starts a server in `directory` on `port` (0: any free port) and waits until it serves.
    public static func start(directory: String, port: Int = 0, storage: StorageKind = .memory,
                      tokenFile: String? = nil, http2: Bool = true,
                      http2MaxConcurrentStreams: Int = HTTPServer.defaultMaxConcurrentStreams) async throws -> RunningServer {
        var configuration = APIServerConfiguration()
        configuration.http2 = http2
        configuration.http2MaxConcurrentStreams = http2MaxConcurrentStreams
        configuration.bindAddress = "127.0.0.1"
        configuration.port = port
        configuration.dataDirectory = directory
        configuration.tokenFile = tokenFile
        let server: APIServer
        switch storage {
        case .sqlite:
            server = try await APIServer.open(configuration, logger: quietLogger)
        case .memory:
            let pki = try ClusterPKI.loadOrCreate(directory: directory + "/pki", serverIPs: ["127.0.0.1"], hostName: nil, now: Date())
            server = try APIServer(configuration: configuration, storage: MemoryStorage(), pki: pki, logger: quietLogger)
        }
        let (ready, readyContinuation) = AsyncStream<Int>.makeStream()
        // The server runs until stop(); its task is awaited there.
        let task = Task {
            defer { readyContinuation.finish() }
            try await server.run(onReady: { port in readyContinuation.yield(port) })
        }
        var iterator = ready.makeAsyncIterator()
        guard let bound = await iterator.next() else {
            try await task.value
            throw TestingFailure("the server stopped before it was ready")
        }
        guard let kubeconfigPath = try server.writeKubeconfig(host: "127.0.0.1"), let pki = server.pki else {
            await server.shutdown()
            _ = try? await task.value
            throw TestingFailure("the server has no PKI")
        }
        return RunningServer(server: server, port: bound, directory: directory, kubeconfigPath: kubeconfigPath, pki: pki, task: task)
    }

    /// A client from the admin kubeconfig, adjusted by `configure`.
    public func makeClient(_ configure: (inout ClientConfiguration) -> Void = { _ in }) throws -> APIClient {
        var configuration = try CapstanClient.Kubeconfig.load(path: kubeconfigPath).configuration()
        configure(&configuration)
        return try APIClient(configuration: configuration, logger: quietLogger)
    }

    /// Stops serving and waits until the server has finished.
    public func stop() async throws {
        await server.shutdown()
        try await task.value
    }
}

/// Runs `body` against a fresh server in a temporary directory, then stops the server and
/// removes the directory. Clients made in `body` must be shut down there (the fixture's
/// `withClient` does it).
public func withServer<R>(storage: RunningServer.StorageKind = .memory, tokenFile: ((String) throws -> String)? = nil,
                   _ body: (RunningServer) async throws -> R) async throws -> R {
    try await withTemporaryDirectory { directory in
        let tokens = try tokenFile?(directory)
        let server = try await RunningServer.start(directory: directory, storage: storage, tokenFile: tokens)
        do {
            let result = try await body(server)
            try await server.stop()
            return result
        } catch {
            try? await server.stop()
            throw error
        }
    }
}

/// Runs `body` with an admin client of a fresh server; shuts both down afterwards.
public func withClient<R>(_ configure: (inout ClientConfiguration) -> Void = { _ in },
                   _ body: (APIClient, RunningServer) async throws -> R) async throws -> R {
    try await withServer { server in
        let client = try server.makeClient(configure)
        do {
            let result = try await body(client, server)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }
}


/// Polls `condition` until it holds or `timeout` passes; returns whether it held. For waiting on
/// other processes or servers in component tests (pure logic uses a `ManualClock` instead).
public func eventually(timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(20),
                       _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
