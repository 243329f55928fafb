import CapstanPKI
import Foundation
import Testing
import X509

@Suite struct ClusterPKITests {
    static let start = Date(timeIntervalSince1970: 1_780_000_000)  // 2026-05-28
    static let day: TimeInterval = 86_400

    static func load(_ directory: String, ips: [String] = ["10.43.0.1"], names: [String] = [], now: Date = start) throws -> ClusterPKI {
        try ClusterPKI.loadOrCreate(directory: directory, serverNames: names, serverIPs: ips, hostName: "Node-1", now: now)
    }

    @Test func firstStartCreatesEverythingWithPrivateModes() throws {
        try withTemporaryDirectory { temp in
            let directory = temp.file("data/pki")
            let pki = try Self.load(directory)

            #expect(pki.changes.count == 3)
            #expect(try mode(of: directory) == 0o700)
            for name in ["ca.key", "server.key", "admin.key"] {
                #expect(try mode(of: directory + "/" + name) == 0o600, "\(name)")
            }
            for name in ["ca.crt", "server.crt", "admin.crt"] {
                #expect(try mode(of: directory + "/" + name) == 0o644, "\(name)")
            }
            #expect(try read(directory + "/ca.crt") == pki.caCertificatePEM)
            #expect(try read(directory + "/server.key") == pki.serverPrivateKeyPEM)
            #expect(pki.serverPrivateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
            #expect(pki.caCertificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----\n"))
            // No temporary files are left behind.
            let entries = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            #expect(entries == ["admin.crt", "admin.key", "ca.crt", "ca.key", "server.crt", "server.key"])
        }
    }

    @Test func caHasTheRequiredExtensions() throws {
        try withTemporaryDirectory { temp in
            let pki = try Self.load(temp.path)
            let ca = pki.certificateAuthority.certificate
            #expect(ca.subject.description == "CN=capstan-ca")
            #expect(ca.issuer == ca.subject)
            #expect(try ca.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: nil))
            let usage = try #require(try ca.extensions.keyUsage)
            #expect(usage.keyCertSign && usage.cRLSign && usage.digitalSignature)
            #expect(try ca.extensions.subjectKeyIdentifier != nil)
            let years = ca.notValidAfter.timeIntervalSince(Self.start) / (365 * Self.day)
            #expect(years > 9.99 && years < 10.01)
            #expect(ca.publicKey.isValidSignature(ca.signature, for: ca))
        }
    }

    @Test func servingCertificateCoversKubernetesNamesHostAndExtras() throws {
        try withTemporaryDirectory { temp in
            let pki = try Self.load(temp.path, ips: ["10.43.0.1", "192.168.1.20"], names: ["api.example.com"])
            let serving = pki.serving.certificate
            let names = ServingNames(of: serving)
            #expect(names.dnsNames == [
                "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local", "node-1", "api.example.com",
            ])
            #expect(names.ipAddresses == ["127.0.0.1", "::1", "10.43.0.1", "192.168.1.20"])
            #expect(try serving.extensions.extendedKeyUsage == ExtendedKeyUsage([.serverAuth]))
            #expect(try serving.extensions.basicConstraints == .notCertificateAuthority)
            #expect(pki.certificateAuthority.isIssuer(of: serving))
            let caKeyID = try #require(try pki.certificateAuthority.certificate.extensions.subjectKeyIdentifier).keyIdentifier
            #expect(try serving.extensions.authorityKeyIdentifier?.keyIdentifier == caKeyID)
            let days = serving.notValidAfter.timeIntervalSince(Self.start) / Self.day
            #expect(days > 364.9 && days < 365.1)
            #expect(serving.notValidBefore < Self.start)
        }
    }

    @Test func adminCertificateIsCapstanAdminInSystemMasters() throws {
        try withTemporaryDirectory { temp in
            let pki = try Self.load(temp.path)
            let identity = try pki.verifyClientCertificate(chainDER: [pki.admin.certificateDER], now: Self.start)
            #expect(identity == ClientIdentity(userName: "capstan-admin", groups: ["system:masters"]))
            #expect(try pki.admin.certificate.extensions.extendedKeyUsage == ExtendedKeyUsage([.clientAuth]))
        }
    }

    @Test func secondStartLoadsEverythingAsIs() throws {
        try withTemporaryDirectory { temp in
            let first = try Self.load(temp.path)
            let second = try Self.load(temp.path, now: Self.start + 100 * Self.day)
            #expect(second.changes.isEmpty)
            #expect(second.caCertificatePEM == first.caCertificatePEM)
            #expect(second.serverCertificatePEM == first.serverCertificatePEM)
            #expect(second.serverPrivateKeyPEM == first.serverPrivateKeyPEM)
            #expect(second.adminCertificatePEM == first.adminCertificatePEM)
            #expect(second.adminPrivateKeyPEM == first.adminPrivateKeyPEM)
            #expect(second.serverPrivateKeyDER == first.serverPrivateKeyDER)
        }
    }

    @Test func requestingAnotherNameReissuesOnlyTheServingCertificate() throws {
        try withTemporaryDirectory { temp in
            let first = try Self.load(temp.path)
            let second = try Self.load(temp.path, ips: ["10.43.0.1", "10.0.0.5"])
            #expect(second.caCertificatePEM == first.caCertificatePEM)
            #expect(second.adminCertificatePEM == first.adminCertificatePEM)
            #expect(second.serverCertificatePEM != first.serverCertificatePEM)
            #expect(ServingNames(of: second.serving.certificate).ipAddresses.contains("10.0.0.5"))
            #expect(second.changes.count == 1)
            #expect(second.changes[0].contains("10.0.0.5"))
            // A subset of the names already covered keeps the certificate.
            let third = try Self.load(temp.path, ips: [])
            #expect(third.changes.isEmpty)
            #expect(third.serverCertificatePEM == second.serverCertificatePEM)
            #expect(try read(temp.file("server.crt")) == second.serverCertificatePEM)
        }
    }

    @Test func certificatesExpiringWithin30DaysAreRenewed() throws {
        try withTemporaryDirectory { temp in
            let first = try Self.load(temp.path)
            let kept = try Self.load(temp.path, now: Self.start + 330 * Self.day)
            #expect(kept.changes.isEmpty)
            let later = Self.start + 340 * Self.day
            let renewed = try Self.load(temp.path, now: later)
            #expect(renewed.caCertificatePEM == first.caCertificatePEM)
            #expect(renewed.serverCertificatePEM != first.serverCertificatePEM)
            #expect(renewed.adminCertificatePEM != first.adminCertificatePEM)
            #expect(renewed.serving.certificate.notValidAfter > later + 364 * Self.day)
            #expect(renewed.changes.count == 2)
        }
    }

    @Test func expiredCAIsAnErrorNamingTheFile() throws {
        try withTemporaryDirectory { temp in
            _ = try Self.load(temp.path)
            let error = try #require(throws: PKIError.self) {
                try Self.load(temp.path, now: Self.start + 3660 * Self.day)
            }
            #expect(error.code == .expired)
            #expect(error.path == temp.file("ca.crt"))
            #expect(error.description.contains("ca.crt"))
        }
    }

    @Test(arguments: ["ca.crt", "ca.key", "server.crt", "server.key", "admin.crt", "admin.key"])
    func corruptFileIsAnErrorNamingIt(name: String) throws {
        try withTemporaryDirectory { temp in
            _ = try Self.load(temp.path)
            let original = try read(temp.file(name))
            try write("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n", to: temp.file(name))
            let error = try #require(throws: PKIError.self) { try Self.load(temp.path) }
            #expect(error.code == .corruptFile)
            #expect(error.path == temp.file(name))
            #expect(error.description.hasPrefix(temp.file(name) + ": "))
            // Nothing was overwritten.
            #expect(try read(temp.file(name)) != original)
        }
    }

    @Test func fileWithoutAnyPEMBlockIsCorrupt() throws {
        try withTemporaryDirectory { temp in
            _ = try Self.load(temp.path)
            try write("hello\n", to: temp.file("server.crt"))
            let error = try #require(throws: PKIError.self) { try Self.load(temp.path) }
            #expect(error.code == .corruptFile)
            #expect(error.description.contains("server.crt"))
            #expect(error.description.contains("no PEM block"))
        }
    }

    @Test func keyInPlaceOfCertificateIsCorrupt() throws {
        try withTemporaryDirectory { temp in
            let pki = try Self.load(temp.path)
            try write(pki.adminPrivateKeyPEM, to: temp.file("admin.crt"))
            let error = try #require(throws: PKIError.self) { try Self.load(temp.path) }
            #expect(error.code == .corruptFile)
            #expect(error.path == temp.file("admin.crt"))
            #expect(error.message.contains("found only PRIVATE KEY"))
        }
    }

    @Test func caCertificateWithoutKeyIsAnError() throws {
        try withTemporaryDirectory { temp in
            _ = try Self.load(temp.path)
            try FileManager.default.removeItem(atPath: temp.file("ca.key"))
            let error = try #require(throws: PKIError.self) { try Self.load(temp.path) }
            #expect(error.code == .missingFile)
            #expect(error.path == temp.file("ca.key"))
        }
    }

    @Test func caKeyOfAnotherCAIsAMismatch() throws {
        try withTemporaryDirectory { temp in
            _ = try Self.load(temp.path)
            let other = try CertificateAuthority.generate(now: Self.start)
            try write(other.keyPair.privateKeyPEM, to: temp.file("ca.key"))
            let error = try #require(throws: PKIError.self) { try Self.load(temp.path) }
            #expect(error.code == .keyMismatch)
            #expect(error.path == temp.file("ca.key"))
        }
    }

    @Test func missingOrMismatchedLeafKeyIsReissued() throws {
        try withTemporaryDirectory { temp in
            let first = try Self.load(temp.path)
            try FileManager.default.removeItem(atPath: temp.file("server.key"))
            try write(first.serverPrivateKeyPEM, to: temp.file("admin.key"))
            let second = try Self.load(temp.path)
            #expect(second.caCertificatePEM == first.caCertificatePEM)
            #expect(second.serverCertificatePEM != first.serverCertificatePEM)
            #expect(second.adminCertificatePEM != first.adminCertificatePEM)
            #expect(try mode(of: temp.file("server.key")) == 0o600)
            let third = try Self.load(temp.path)
            #expect(third.changes.isEmpty)
        }
    }

    @Test func leafSignedByAnotherCAIsReissued() throws {
        try withTemporaryDirectory { temp in
            _ = try Self.load(temp.path)
            let other = try CertificateAuthority.generate(now: Self.start)
            let foreign = try other.issueClientCertificate(commonName: "capstan-admin", organizations: ["system:masters"], now: Self.start)
            try write(foreign.certificatePEM, to: temp.file("admin.crt"))
            try write(foreign.privateKeyPEM, to: temp.file("admin.key"))
            let reloaded = try Self.load(temp.path)
            #expect(reloaded.changes.count == 1)
            #expect(reloaded.certificateAuthority.isIssuer(of: reloaded.admin.certificate))
        }
    }

    @Test func invalidRequestedNameIsRejected() throws {
        try withTemporaryDirectory { temp in
            let error = try #require(throws: PKIError.self) {
                try ClusterPKI.loadOrCreate(directory: temp.path, serverIPs: ["10.43.0.300"], hostName: nil, now: Self.start)
            }
            #expect(error.code == .invalidName)
            let bad = try #require(throws: PKIError.self) {
                try ClusterPKI.loadOrCreate(directory: temp.path, serverNames: ["bad name"], hostName: nil, now: Self.start)
            }
            #expect(bad.code == .invalidName)
        }
    }

    @Test func issuesNodeClientCertificates() throws {
        try withTemporaryDirectory { temp in
            let pki = try Self.load(temp.path)
            let node = try pki.issueClientCertificate(commonName: "system:node:worker-1", organizations: ["system:nodes"], now: Self.start)
            let identity = try pki.verifyClientCertificate(chainDER: [node.certificateDER], now: Self.start + Self.day)
            #expect(identity.userName == "system:node:worker-1")
            #expect(identity.groups == ["system:nodes"])
            #expect(node.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        }
    }

    @Test func adminKubeconfigUsesTheAdminCredentials() throws {
        try withTemporaryDirectory { temp in
            let pki = try Self.load(temp.path)
            let config = pki.adminKubeconfig(server: "https://127.0.0.1:6443")
            #expect(config.certificateAuthorityPEM == pki.caCertificatePEM)
            #expect(config.clientCertificatePEM == pki.adminCertificatePEM)
            #expect(config.clientKeyPEM == pki.adminPrivateKeyPEM)
            #expect(config.userName == "capstan-admin")
        }
    }
}
