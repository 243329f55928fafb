import CapstanPKI
import Foundation
import Testing

/// The files must be usable by the tools Kubernetes users point at them: OpenSSL, and kubectl (Go's crypto/tls).
@Suite(.tags(.integration), .enabled(if: executable("openssl") != nil, "openssl is not installed"))
struct OpenSSLCompatibilityTests {
    static var openssl: String { executable("openssl")! }

    static func makePKI(_ temp: TemporaryDirectory) throws -> ClusterPKI {
        try ClusterPKI.loadOrCreate(
            directory: temp.file("pki"),
            serverIPs: ["10.43.0.1"],
            hostName: "node-1",
            now: Date()
        )
    }

    @Test func opensslVerifiesServingAndClientCertificatesAgainstTheCA() throws {
        try withTemporaryDirectory { temp in
            let pki = try Self.makePKI(temp)
            let ca = temp.file("pki/ca.crt")
            let server = try run(Self.openssl, ["verify", "-CAfile", ca, "-purpose", "sslserver", temp.file("pki/server.crt")])
            #expect(server.status == 0, "\(server.output)\(server.error)")
            #expect(server.output.hasSuffix(": OK\n"))
            let admin = try run(Self.openssl, ["verify", "-CAfile", ca, "-purpose", "sslclient", temp.file("pki/admin.crt")])
            #expect(admin.status == 0, "\(admin.output)\(admin.error)")

            // A serving certificate is no client certificate, and another CA trusts neither.
            let wrongPurpose = try run(Self.openssl, ["verify", "-CAfile", ca, "-purpose", "sslclient", temp.file("pki/server.crt")])
            #expect(wrongPurpose.status != 0)
            let other = try CertificateAuthority.generate(now: Date())
            try write(other.certificatePEM, to: temp.file("other-ca.crt"))
            let foreign = try run(Self.openssl, ["verify", "-CAfile", temp.file("other-ca.crt"), temp.file("pki/server.crt")])
            #expect(foreign.status != 0)

            // A node certificate issued later verifies too.
            let node = try pki.issueClientCertificate(commonName: "system:node:n1", organizations: ["system:nodes"], now: Date())
            try write(node.certificatePEM, to: temp.file("node.crt"))
            let nodeResult = try run(Self.openssl, ["verify", "-CAfile", ca, "-purpose", "sslclient", temp.file("node.crt")])
            #expect(nodeResult.status == 0, "\(nodeResult.output)\(nodeResult.error)")
        }
    }

    @Test func opensslShowsTheExtensions() throws {
        try withTemporaryDirectory { temp in
            _ = try Self.makePKI(temp)
            let server = try run(Self.openssl, ["x509", "-noout", "-text", "-in", temp.file("pki/server.crt")])
            #expect(server.status == 0)
            for expected in [
                "DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
                "DNS:kubernetes.default.svc.cluster.local", "DNS:node-1",
                "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1", "IP Address:10.43.0.1",
                "TLS Web Server Authentication", "CA:FALSE", "Issuer: CN = capstan-ca",
            ] {
                #expect(server.output.contains(expected), "server.crt lacks \(expected)")
            }

            let ca = try run(Self.openssl, ["x509", "-noout", "-text", "-in", temp.file("pki/ca.crt")])
            for expected in ["CA:TRUE", "Certificate Sign, CRL Sign", "Digital Signature", "Subject Key Identifier", "Subject: CN = capstan-ca"] {
                #expect(ca.output.contains(expected), "ca.crt lacks \(expected)")
            }

            let admin = try run(Self.openssl, ["x509", "-noout", "-subject", "-ext", "extendedKeyUsage", "-in", temp.file("pki/admin.crt")])
            #expect(admin.output.contains("subject=O = system:masters, CN = capstan-admin"), "\(admin.output)")
            #expect(admin.output.contains("TLS Web Client Authentication"))
        }
    }

    @Test func opensslReadsTheKeysAndTheyMatchTheCertificates() throws {
        try withTemporaryDirectory { temp in
            _ = try Self.makePKI(temp)
            for name in ["ca", "server", "admin"] {
                let key = try run(Self.openssl, ["pkey", "-in", temp.file("pki/\(name).key"), "-pubout"])
                #expect(key.status == 0, "\(name).key: \(key.error)")
                let certificate = try run(Self.openssl, ["x509", "-in", temp.file("pki/\(name).crt"), "-noout", "-pubkey"])
                #expect(certificate.status == 0)
                #expect(key.output == certificate.output, "\(name).key does not match \(name).crt")
            }
        }
    }

    /// A CA made with OpenSSL (SEC1 `EC PRIVATE KEY` after an `EC PARAMETERS` block) is loaded as the cluster CA.
    @Test func loadsAnOpenSSLMadeCA() throws {
        try withTemporaryDirectory { temp in
            let pkiDirectory = temp.file("pki")
            try FileManager.default.createDirectory(atPath: pkiDirectory, withIntermediateDirectories: true)
            let keyPath = pkiDirectory + "/ca.key"
            let certificatePath = pkiDirectory + "/ca.crt"
            let key = try run(Self.openssl, ["ecparam", "-name", "prime256v1", "-genkey", "-out", keyPath])
            #expect(key.status == 0, "\(key.error)")
            let certificate = try run(Self.openssl, [
                "req", "-x509", "-new", "-key", keyPath, "-subj", "/CN=my-own-ca", "-days", "30", "-out", certificatePath,
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
            #expect(certificate.status == 0, "\(certificate.error)")
            #expect(try read(keyPath).contains("BEGIN EC PARAMETERS"))

            let pki = try ClusterPKI.loadOrCreate(directory: pkiDirectory, hostName: nil, now: Date())
            #expect(pki.changes.count == 2)
            #expect(pki.certificateAuthority.certificate.subject.description == "CN=my-own-ca")
            #expect(pki.certificateAuthority.keyPair.privateKeyPEM.hasPrefix("-----BEGIN EC PRIVATE KEY-----"))
            let verified = try run(Self.openssl, ["verify", "-CAfile", certificatePath, pkiDirectory + "/server.crt"])
            #expect(verified.status == 0, "\(verified.output)\(verified.error)")
        }
    }

    /// kubectl (Go crypto/tls) talks to `openssl s_server` serving our certificate and demanding a client
    /// certificate signed by our CA: this checks the kubeconfig, the key encoding Go accepts, the SANs
    /// and the client certificate at once. Loopback only; the server is stopped by its process id.
    @Test(.enabled(if: executable("kubectl") != nil, "kubectl is not installed"))
    func kubectlConnectsWithTheKubeconfigOverMutualTLS() throws {
        try withTemporaryDirectory { temp in
            let pki = try Self.makePKI(temp)
            let server = Process()
            server.executableURL = URL(fileURLWithPath: Self.openssl)
            server.arguments = [
                "s_server", "-cert", temp.file("pki/server.crt"), "-key", temp.file("pki/server.key"),
                "-CAfile", temp.file("pki/ca.crt"), "-Verify", "1", "-verify_return_error",
                "-www", "-accept", "127.0.0.1:0", "-naccept", "4",
            ]
            let output = Pipe()
            server.standardOutput = output
            server.standardError = FileHandle.nullDevice
            server.standardInput = FileHandle.nullDevice
            try server.run()
            defer {
                if server.isRunning {
                    kill(server.processIdentifier, SIGTERM)
                }
                server.waitUntilExit()
            }

            // s_server prints "ACCEPT 127.0.0.1:PORT" once it listens.
            let port = try #require(Self.acceptedPort(output.fileHandleForReading), "openssl s_server did not start")
            let kubeconfig = temp.file("kubeconfig")
            try pki.adminKubeconfig(server: Kubeconfig.serverURL(host: "127.0.0.1", port: port)).write(toFile: kubeconfig)

            let kubectl = executable("kubectl")!
            let ok = try run(kubectl, ["--kubeconfig", kubeconfig, "--request-timeout", "10s", "get", "--raw", "/"])
            #expect(ok.status == 0, "\(ok.error)")
            #expect(ok.output.contains("s_server"), "\(ok.output.prefix(200))")
            // The client certificate arrived: s_server's status page names the peer.
            #expect(ok.output.contains("capstan-admin"), "\(ok.output.prefix(400))")

            // The same server reached as "localhost" matches the DNS SAN.
            var byName = pki.adminKubeconfig(server: "https://localhost:\(port)")
            byName.contextName = "by-name"
            try byName.write(toFile: kubeconfig)
            let named = try run(kubectl, ["--kubeconfig", kubeconfig, "--request-timeout", "10s", "get", "--raw", "/"])
            #expect(named.status == 0, "\(named.error)")

            // A client certificate from another CA is refused by the server.
            let other = try CertificateAuthority.generate(now: Date())
            let stranger = try other.issueClientCertificate(commonName: "capstan-admin", organizations: ["system:masters"], now: Date())
            var forged = pki.adminKubeconfig(server: Kubeconfig.serverURL(host: "127.0.0.1", port: port))
            forged.clientCertificatePEM = stranger.certificatePEM
            forged.clientKeyPEM = stranger.privateKeyPEM
            try forged.write(toFile: kubeconfig)
            let refused = try run(kubectl, ["--kubeconfig", kubeconfig, "--request-timeout", "10s", "get", "--raw", "/"])
            #expect(refused.status != 0)
        }
    }

    /// Reads s_server's output until its ACCEPT line and returns the port, or `nil` if it exits first.
    static func acceptedPort(_ handle: FileHandle) -> Int? {
        var text = ""
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            text += String(decoding: chunk, as: UTF8.self)
            for line in text.split(separator: "\n") where line.hasPrefix("ACCEPT") {
                if let colon = line.lastIndex(of: ":"), let port = Int(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)) {
                    return port
                }
            }
        }
    }
}
