import CapstanPKI
import Foundation
import Testing
import X509

@Suite struct CertificateAuthorityTests {
    static let now = Date(timeIntervalSince1970: 1_780_000_000)

    @Test func clientCertificateVerifiesAgainstItsCAOnly() throws {
        let ca = try CertificateAuthority.generate(now: Self.now)
        let other = try CertificateAuthority.generate(now: Self.now)
        let client = try ca.issueClientCertificate(commonName: "jane", organizations: ["dev", "ops"], now: Self.now)

        let identity = try ca.verifyClientCertificate(chainDER: [client.certificateDER], now: Self.now)
        #expect(identity == ClientIdentity(userName: "jane", groups: ["dev", "ops"]))

        let error = try #require(throws: PKIError.self) {
            try other.verifyClientCertificate(chainDER: [client.certificateDER], now: Self.now)
        }
        #expect(error.code == .untrusted)
    }

    @Test func sameSubjectButAnotherKeyIsUntrusted() throws {
        // Two CAs both named capstan-ca: the issuer name matches, the signature does not.
        let ca = try CertificateAuthority.generate(now: Self.now)
        let impostor = try CertificateAuthority.generate(now: Self.now)
        #expect(ca.certificate.subject == impostor.certificate.subject)
        let forged = try impostor.issueClientCertificate(commonName: "capstan-admin", organizations: ["system:masters"], now: Self.now)
        #expect(!ca.isIssuer(of: forged.certificate))
        #expect(throws: PKIError.self) {
            try ca.verifyClientCertificate(chainDER: [forged.certificateDER, impostor.certificateDER], now: Self.now)
        }
    }

    @Test func expiredOrNotYetValidClientCertificateIsRejected() throws {
        let ca = try CertificateAuthority.generate(now: Self.now)
        let client = try ca.issueClientCertificate(commonName: "jane", now: Self.now, validity: .seconds(3600))
        let expired = try #require(throws: PKIError.self) {
            try ca.verifyClientCertificate(chainDER: [client.certificateDER], now: Self.now + 7200)
        }
        #expect(expired.code == .expired)
        let early = try #require(throws: PKIError.self) {
            try ca.verifyClientCertificate(chainDER: [client.certificateDER], now: Self.now - 3600)
        }
        #expect(early.code == .expired)
    }

    @Test func servingCertificateCannotAuthenticateAClient() throws {
        let ca = try CertificateAuthority.generate(now: Self.now)
        let serving = try ca.issueServingCertificate(names: ServingNames(dnsNames: ["localhost"]), now: Self.now)
        let error = try #require(throws: PKIError.self) {
            try ca.verifyClientCertificate(chainDER: [serving.certificateDER], now: Self.now)
        }
        #expect(error.code == .untrusted)
        #expect(error.message.contains("client authentication"))
    }

    @Test func garbageOrMissingChainIsAnErrorNotACrash() throws {
        let ca = try CertificateAuthority.generate(now: Self.now)
        #expect(throws: PKIError.self) { try ca.verifyClientCertificate(chainDER: [], now: Self.now) }
        #expect(throws: PKIError.self) { try ca.verifyClientCertificate(chainDER: [[]], now: Self.now) }
        #expect(throws: PKIError.self) { try ca.verifyClientCertificate(chainDER: [[0x30, 0x03, 0x02, 0x01]], now: Self.now) }
        #expect(throws: PKIError.self) { try ClientIdentity.from(certificateDER: Array("hello".utf8)) }
        #expect(throws: PKIError.self) { try ClientIdentity.from(certificateDER: []) }
    }

    @Test func identityExtractionReadsCommonNameAndOrganizations() throws {
        let ca = try CertificateAuthority.generate(now: Self.now)
        let node = try ca.issueClientCertificate(commonName: "system:node:n1", organizations: ["system:nodes"], now: Self.now)
        #expect(try ClientIdentity.from(certificateDER: node.certificateDER) == ClientIdentity(userName: "system:node:n1", groups: ["system:nodes"]))
        let lonely = try ca.issueClientCertificate(commonName: "ci-bot", now: Self.now)
        #expect(try ClientIdentity.from(certificateDER: lonely.certificateDER).groups.isEmpty)
        // The CA certificate has a CN too; extraction alone does not judge trust.
        #expect(try ClientIdentity.from(certificate: ca.certificate).userName == "capstan-ca")
    }

    @Test func certificateWithoutCommonNameNamesNoUser() throws {
        let key = try P256Key()
        let subject = try DistinguishedName { OrganizationName("system:masters") }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: key.publicKey,
            notValidBefore: Self.now, notValidAfter: Self.now + 3600,
            issuer: subject, subject: subject, extensions: .init(), issuerPrivateKey: key
        )
        let error = try #require(throws: PKIError.self) { try ClientIdentity.from(certificate: certificate) }
        #expect(error.code == .invalidCertificate)
    }

    @Test func invalidNamesAreRejected() throws {
        let ca = try CertificateAuthority.generate(now: Self.now)
        #expect(throws: PKIError.self) { try ca.issueClientCertificate(commonName: "", now: Self.now) }
        #expect(throws: PKIError.self) { try ca.issueClientCertificate(commonName: "a\nb", now: Self.now) }
        #expect(throws: PKIError.self) { try ca.issueClientCertificate(commonName: String(repeating: "x", count: 65), now: Self.now) }
        #expect(throws: PKIError.self) { try ca.issueClientCertificate(commonName: "ok", organizations: [""], now: Self.now) }
        #expect(throws: PKIError.self) { try ca.issueServingCertificate(names: ServingNames(), now: Self.now) }
        #expect(throws: PKIError.self) { try ca.issueClientCertificate(commonName: "ok", now: Self.now, validity: .zero) }
    }

    @Test func leafNeverOutlivesTheCA() throws {
        let ca = try CertificateAuthority.generate(now: Self.now, validity: .seconds(86_400 * 10))
        let client = try ca.issueClientCertificate(commonName: "jane", now: Self.now)
        #expect(client.certificate.notValidAfter == ca.certificate.notValidAfter)
        #expect(client.certificate.notValidBefore >= ca.certificate.notValidBefore)
        #expect(throws: PKIError.self) {
            try ca.issueClientCertificate(commonName: "late", now: Self.now + 86_400 * 11)
        }
    }

    @Test func serialNumbersArePositiveAndAtMost20Bytes() throws {
        let ca = try CertificateAuthority.generate(now: Self.now)
        for _ in 0..<50 {
            let client = try ca.issueClientCertificate(commonName: "jane", now: Self.now)
            let bytes = client.certificate.serialNumber.bytes
            #expect(bytes.count <= 20)
            #expect(bytes.first! & 0x80 == 0)
        }
    }

    @Test func swiftCertificatesVerifierAgrees() async throws {
        // swift-certificates' policy checks expiry against the current time.
        let now = Date()
        let ca = try CertificateAuthority.generate(now: now)
        let names = try ServingNames.standard(hostName: "node-1", extraIPAddresses: ["10.43.0.1"])
        let serving = try ca.issueServingCertificate(names: names, now: now)
        let client = try ca.issueClientCertificate(commonName: "jane", now: now)

        var verifier = Verifier(rootCertificates: CertificateStore([ca.certificate])) {
            RFC5280Policy()
        }
        for leaf in [serving.certificate, client.certificate] {
            guard case .validCertificate = await verifier.validate(leaf: leaf, intermediates: CertificateStore()) else {
                Issue.record("swift-certificates rejected \(leaf.subject)")
                continue
            }
        }

        for (host, ip) in [("kubernetes.default.svc", nil), ("localhost", nil), (nil, "10.43.0.1"), (nil, "::1")] as [(String?, String?)] {
            var serverVerifier = Verifier(rootCertificates: CertificateStore([ca.certificate])) {
                RFC5280Policy()
                ServerIdentityPolicy(serverHostname: host, serverIP: ip)
            }
            let result = await serverVerifier.validate(leaf: serving.certificate, intermediates: CertificateStore())
            guard case .validCertificate = result else {
                Issue.record("\(host ?? ip ?? "") not accepted: \(result)")
                continue
            }
        }
    }

    @Test func existingCertificateMustBeACA() throws {
        let ca = try CertificateAuthority.generate(now: Self.now)
        let leaf = try ca.issueClientCertificate(commonName: "jane", now: Self.now)
        let error = try #require(throws: PKIError.self) { try CertificateAuthority(leaf, path: "/x/ca.crt") }
        #expect(error.code == .notACertificateAuthority)
        #expect(error.description.hasPrefix("/x/ca.crt: "))
    }
}

/// A fresh P-256 private key (borrowed from a throwaway CA, so the tests need not import Crypto).
func P256Key() throws -> Certificate.PrivateKey {
    try CertificateAuthority.generate(now: Date()).keyPair.privateKey
}
