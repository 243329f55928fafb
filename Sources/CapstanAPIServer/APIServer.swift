import CapstanAPI
import CapstanPKI
import CapstanRegistry
import CapstanStorage
import CapstanStorageEtcd
import CapstanStorageSQLite
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How `capstan server` is configured.
public struct APIServerConfiguration: Sendable {
    public var bindAddress = "127.0.0.1"
    public var port = 6443
    public var dataDirectory = "./capstan-data"
    /// `sqlite://PATH` (default: `<data-dir>/state.db`) or `etcd://host:port[,host:port]`.
    public var datastore: String?
    /// A kube-apiserver style token file (`token,user,uid,"group1,group2"`).
    public var tokenFile: String?
    public var serviceCIDR = "10.43.0.0/16"
    /// Serve plain HTTP instead of TLS (tests only).
    public var insecureHTTP = false
    /// Offer HTTP/2 (ALPN `h2`) besides HTTP/1.1 over TLS, as kube-apiserver does.
    public var http2 = true
    /// Streams one h2 client may have open at once (each watch holds one).
    public var http2MaxConcurrentStreams = HTTPServer.defaultMaxConcurrentStreams
    /// How often the storage log is compacted (zero: never).
    public var compactionInterval: Duration = .seconds(300)

    public init() {}
}

public struct APIServerError: Error, CustomStringConvertible {
    public let description: String
}

/// The Kubernetes API server: storage, registry, HTTPS, and graceful shutdown.
public final class APIServer: Service, Sendable {
    public let configuration: APIServerConfiguration
    public let registry: Registry
    public let storage: any StorageBackend
    public let pki: ClusterPKI?
    public let metrics = APIMetrics()
    public let health = HealthChecks()
    public let streams = StreamRegistry()
    let http: HTTPServer
    let logger: Logger
    /// The router, for requests from this process (`localTransport`).
    let router: APIRouter

    /// Opens storage and certificates; `run()` serves.
    public static func open(_ configuration: APIServerConfiguration, logger: Logger) async throws -> APIServer {
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        let storage = try await openStorage(configuration)
        let pki: ClusterPKI?
        if configuration.insecureHTTP {
            pki = nil
        } else {
            let host = ProcessInfo.processInfo.hostName
            let serviceIP = ServiceAllocator.parseIPv4(configuration.serviceCIDR.split(separator: "/").first.map(String.init) ?? "")
                .map { ServiceAllocator.format($0 + 1) }
            var ips = ["127.0.0.1", "::1"]
            if let serviceIP { ips.append(serviceIP) }
            if configuration.bindAddress != "0.0.0.0", configuration.bindAddress != "::", !ips.contains(configuration.bindAddress) {
                ips.append(configuration.bindAddress)
            }
            pki = try ClusterPKI.loadOrCreate(directory: configuration.dataDirectory + "/pki",
                                               serverNames: [host], serverIPs: ips, now: Date())
        }
        return try APIServer(configuration: configuration, storage: storage, pki: pki, logger: logger)
    }

    static func openStorage(_ configuration: APIServerConfiguration) async throws -> any StorageBackend {
        let store = configuration.datastore ?? "sqlite://\(configuration.dataDirectory)/state.db"
        if store.hasPrefix("sqlite://") {
            return try SQLiteStorage(path: String(store.dropFirst("sqlite://".count)))
        }
        if store.hasPrefix("etcd://") {
            let etcd = try EtcdStorage(endpoints: store)
            return etcd
        }
        throw APIServerError(description: "unknown --datastore \"\(store)\": expected sqlite://PATH or etcd://HOST:PORT[,HOST:PORT]")
    }

    public init(configuration: APIServerConfiguration, storage: any StorageBackend, pki: ClusterPKI?, logger: Logger) throws {
        self.configuration = configuration
        self.storage = storage
        self.pki = pki
        self.logger = logger
        let registry = try Registry(storage: storage, serviceCIDR: configuration.serviceCIDR)
        self.registry = registry
        let tokens = try configuration.tokenFile.map { try TokenFile.load(path: $0) }
        let authenticator = Authenticator(tokens: tokens,
                                          serviceAccounts: pki?.serviceAccountTokenSigner.map(ServiceAccountTokens.init))
        let advertised = configuration.bindAddress == "0.0.0.0" ? "127.0.0.1" : configuration.bindAddress
        let nodeConnections = try pki.map { try NodeConnections(pki: $0, logger: logger) }
        self.nodeConnections = nodeConnections
        let router = APIRouter(registry: registry, serverAddress: "\(advertised):\(configuration.port)",
                               metrics: metrics, health: health, streams: streams, nodeConnections: nodeConnections, now: {
                                   let t = Date().timeIntervalSince1970
                                   return MetaV1.MicroTime(secondsSinceEpoch: Int64(t),
                                                           microseconds: Int32((t - t.rounded(.down)) * 1_000_000))
                               }, authenticator: authenticator)
        self.router = router
        var tls: TLSConfiguration?
        if let pki {
            var config = TLSConfiguration.makeServerConfiguration(
                certificateChain: try pki.serverCertificateChainDER.map { .certificate(try NIOSSLCertificate(bytes: $0, format: .der)) },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: pki.serverPrivateKeyDER, format: .der)))
            config.certificateVerification = .optionalVerification
            config.trustRoots = .certificates([try NIOSSLCertificate(bytes: pki.caCertificateDER, format: .der)])
            config.minimumTLSVersion = .tlsv12
            tls = config
        }
        let insecure = configuration.insecureHTTP
        http = HTTPServer(
            host: configuration.bindAddress, port: configuration.port, tls: tls, http2: configuration.http2,
            http2MaxConcurrentStreams: configuration.http2MaxConcurrentStreams,
            logger: logger, streams: streams,
            authenticate: { certificate, headers in
                if insecure { return UserInfo(name: "system:admin", groups: ["system:masters", "system:authenticated"]) }
                return authenticator.authenticate(certificateDER: certificate, headers: headers)
            },
            handler: { request in await router.handle(request) })
        health.add("etcd") { nil }
        let readyFlag = ReadyFlag()
        self.ready = readyFlag
        health.add("informer-sync", readyOnly: true) { readyFlag.isReady ? nil : "caches are not synced yet" }
    }

    let ready: ReadyFlag
    let nodeConnections: NodeConnections?

    /// The port serving (after `run` bound it).
    public var port: Int? { http.port }

    /// Client connections open now (an h2 connection counts once, however many streams it carries).
    public var connectionCount: Int { http.connectionCount }

    /// Writes `<data-dir>/kubeconfig` for the admin user.
    public func writeKubeconfig(host: String) throws -> String? {
        guard let pki else { return nil }
        let path = configuration.dataDirectory + "/kubeconfig"
        try pki.adminKubeconfig(server: "https://\(host):\(port ?? configuration.port)").write(toFile: path)
        return path
    }

    /// Serves until graceful shutdown (SIGINT/SIGTERM through ServiceLifecycle) or cancellation.
    public func run() async throws {
        try await run(onReady: { _ in })
    }

    public func run(onReady: @escaping @Sendable (Int) async -> Void) async throws {
        // A shutdown signal during start-up stops the start-up too.
        try await withGracefulShutdownHandler {
            try await serve(onReady: onReady)
        } onGracefulShutdown: {
            Task { await self.http.shutdown() }
        }
        await nodeConnections?.shutdown()
        await storage.close()
    }

    private func serve(onReady: @escaping @Sendable (Int) async -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.registry.run() }
            // Lease expiry (events' TTLs) and periodic compaction of the storage log.
            group.addTask { try? await self.storage.run() }
            group.addTask { await Self.compactPeriodically(self.storage, every: self.configuration.compactionInterval, logger: self.logger) }
            try await registry.waitUntilReady()
            logger.debug("caches ready")
            let host = configuration.bindAddress == "0.0.0.0" ? "127.0.0.1" : configuration.bindAddress
            do {
                try await registry.bootstrap(apiServerAddress: host, apiServerPort: configuration.port)
            } catch {
                throw APIServerError(description: "bootstrap failed: \(error)")
            }
            logger.debug("bootstrapped")
            ready.set()
            let (bound, boundContinuation) = AsyncStream<Int>.makeStream()
            group.addTask {
                try await self.http.run(onBound: { port in boundContinuation.yield(port); boundContinuation.finish() })
                boundContinuation.finish()
            }
            for await port in bound {
                await onReady(port)
                break
            }
            // The HTTP server returning (shutdown) ends everything else.
            try await group.next()
            group.cancelAll()
        }
    }

    /// Every `interval`, compacts the log up to the revision that was current one interval
    /// earlier (as kube-apiserver does): watchers and paginated lists get `interval` to catch up.
    static func compactPeriodically(_ storage: any StorageBackend, every interval: Duration, logger: Logger) async {
        guard interval > .zero else { return }
        var previous: Int64?
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
                let current = try await storage.currentRevision()
                if let previous, previous > 0 {
                    try await storage.compact(upTo: previous)
                    logger.debug("compacted storage", metadata: ["revision": "\(previous)"])
                }
                previous = current
            } catch is CancellationError {
                return
            } catch {
                logger.warning("storage compaction failed: \(error)")
            }
        }
    }

    /// Stops serving: ends watches, closes the listener; `run` returns once requests finish.
    public func shutdown() async {
        await http.shutdown()
    }
}

final class ReadyFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isReady: Bool { flag.load(ordering: .acquiring) }
    func set() { flag.store(true, ordering: .releasing) }
}
