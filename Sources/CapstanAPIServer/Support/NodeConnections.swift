import CapstanClient
import CapstanPKI
import Foundation
import Logging
import NIOSSL
import Synchronization

/// Clients of the node agents' HTTPS endpoints (logs), one per agent address, authenticated
/// with a client certificate the cluster CA issued to the API server.
///
/// As kube-apiserver without `--kubelet-certificate-authority`, the agents' serving
/// certificates are not verified (an agent may have made its own).
final class NodeConnections: Sendable {
    private let certificatePEM: [UInt8]
    private let keyPEM: [UInt8]
    private let logger: Logger
    private let clients = Mutex<[String: APIClient]>([:])

    /// The user the agents see.
    static let userName = "capstan-apiserver-kubelet-client"

    init(pki: ClusterPKI, logger: Logger) throws {
        let key = try pki.issueClientCertificate(commonName: Self.userName, organizations: ["system:masters"], now: Date())
        certificatePEM = Array(key.certificatePEM.utf8)
        keyPEM = Array(key.privateKeyPEM.utf8)
        self.logger = logger
    }

    /// The client for the agent at `host:port`, made on first use.
    func client(host: String, port: Int) throws -> APIClient {
        let server = host.contains(":") ? "https://[\(host)]:\(port)" : "https://\(host):\(port)"
        return try clients.withLock { clients in
            if let client = clients[server] { return client }
            var configuration = ClientConfiguration(server: server)
            configuration.clientCertificatePEM = certificatePEM
            configuration.clientKeyPEM = keyPEM
            configuration.insecureSkipTLSVerify = true
            configuration.connectTimeout = .seconds(5)
            configuration.requestTimeout = nil
            configuration.maxRetries = 0
            configuration.userAgent = "capstan-apiserver"
            let client = try APIClient(configuration: configuration, logger: logger)
            clients[server] = client
            return client
        }
    }

    /// TLS for a raw connection to an agent (exec and attach upgrades), with the same identity.
    func tlsConfiguration() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificatePEM).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: keyPEM, format: .pem))
        tls.certificateVerification = .none
        return tls
    }

    func shutdown() async {
        let all = clients.withLock { clients in
            defer { clients.removeAll() }
            return Array(clients.values)
        }
        for client in all { await client.shutdown() }
    }
}
