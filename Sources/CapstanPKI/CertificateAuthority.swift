import Crypto
import Foundation
import SwiftASN1
import X509

/// The cluster certificate authority: a certificate allowed to sign others and its private key.
///
/// It issues the API server's serving certificate and client certificates (the admin's, node agents'),
/// and verifies that presented client certificates are its own.
public struct CertificateAuthority: Sendable {
    /// The CA certificate and key.
    public let keyPair: CertifiedKey

    /// The CA certificate.
    public var certificate: Certificate { keyPair.certificate }
    /// The CA certificate as PEM (what clients put in `certificate-authority-data`).
    public var certificatePEM: String { keyPair.certificatePEM }
    /// The CA certificate's DER bytes (for NIOSSL trust roots).
    public var certificateDER: [UInt8] { keyPair.certificateDER }

    /// Common name of a generated cluster CA.
    public static let defaultCommonName = "capstan-ca"
    /// Validity of a generated cluster CA: ten years.
    public static let defaultValidity: Duration = .days(3650)
    /// Validity of issued serving and client certificates: one year.
    public static let defaultLeafValidity: Duration = .days(365)
    /// Issued certificates start this much before `now`, so clients whose clocks lag a little accept them.
    public static let backdate: Duration = .seconds(5 * 60)

    /// Uses an existing certificate and key as the CA. Throws when the certificate's basic constraints
    /// say it is not a CA. `path` names the certificate file in errors.
    public init(_ keyPair: CertifiedKey, path: String? = nil) throws {
        let constraints: BasicConstraints?
        do {
            constraints = try keyPair.certificate.extensions.basicConstraints
        } catch {
            throw PKIError(.corruptFile, path: path, "the CA certificate's basicConstraints extension is malformed: \(error)")
        }
        if case .notCertificateAuthority = constraints {
            throw PKIError(.notACertificateAuthority, path: path, "the certificate is not a CA (basicConstraints CA:FALSE)")
        }
        if let usage = try? keyPair.certificate.extensions.keyUsage, !usage.keyCertSign {
            throw PKIError(.notACertificateAuthority, path: path, "the certificate's keyUsage does not allow signing certificates (keyCertSign)")
        }
        self.keyPair = keyPair
    }

    /// Creates a new self-signed CA with an ECDSA P-256 key: basicConstraints CA:TRUE,
    /// keyUsage keyCertSign, cRLSign and digitalSignature, and a subject key identifier.
    public static func generate(
        commonName: String = defaultCommonName,
        now: Date,
        validity: Duration = defaultValidity
    ) throws -> CertificateAuthority {
        try Self.validate(commonName: commonName)
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let subject = try DistinguishedName([
            RelativeDistinguishedName.Attribute(type: .RDNAttributeType.commonName, utf8String: commonName)
        ])
        let start = Self.wholeSeconds(now)
        do {
            let extensions = try Certificate.Extensions([
                Certificate.Extension(BasicConstraints.isCertificateAuthority(maxPathLength: nil), critical: true),
                Certificate.Extension(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true), critical: true),
                Certificate.Extension(SubjectKeyIdentifier(keyIdentifier: keyIdentifier(of: key.publicKey)[...]), critical: false),
            ])
            let certificate = try Certificate(
                version: .v3,
                serialNumber: randomSerialNumber(),
                publicKey: key.publicKey,
                notValidBefore: start - backdate.timeInterval,
                notValidAfter: start + validity.timeInterval,
                issuer: subject,
                subject: subject,
                extensions: extensions,
                issuerPrivateKey: key
            )
            return try CertificateAuthority(CertifiedKey(certificate: certificate, privateKey: key))
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError(.issuance, "cannot create the cluster CA: \(error)")
        }
    }

    /// Issues a serving certificate (extendedKeyUsage serverAuth) for `names`, with a new P-256 key.
    public func issueServingCertificate(
        names: ServingNames,
        commonName: String = "capstan-apiserver",
        now: Date,
        validity: Duration = defaultLeafValidity
    ) throws -> CertifiedKey {
        guard !names.dnsNames.isEmpty || !names.ipAddresses.isEmpty else {
            throw PKIError(.invalidName, "a serving certificate needs at least one DNS name or IP address")
        }
        return try issue(
            commonName: commonName,
            organizations: [],
            usage: .serverAuth,
            alternativeNames: names.generalNames,
            now: now,
            validity: validity
        )
    }

    /// Issues a client certificate (extendedKeyUsage clientAuth) with a new P-256 key. The API server
    /// reads `commonName` as the user and `organizations` as the groups: for example
    /// `system:node:NAME` in `system:nodes` for a node agent.
    public func issueClientCertificate(
        commonName: String,
        organizations: [String] = [],
        now: Date,
        validity: Duration = defaultLeafValidity
    ) throws -> CertifiedKey {
        try issue(
            commonName: commonName,
            organizations: organizations,
            usage: .clientAuth,
            alternativeNames: [],
            now: now,
            validity: validity
        )
    }

    /// Whether this CA signed `certificate`: its issuer is the CA's subject and the CA's key verifies its signature.
    public func isIssuer(of certificate: Certificate) -> Bool {
        certificate.issuer == self.certificate.subject
            && self.certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
    }

    // MARK: - Issuing

    private func issue(
        commonName: String,
        organizations: [String],
        usage: ExtendedKeyUsage.Usage,
        alternativeNames: [GeneralName],
        now: Date,
        validity: Duration
    ) throws -> CertifiedKey {
        try Self.validate(commonName: commonName)
        for organization in organizations {
            guard !organization.isEmpty, !organization.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw PKIError(.invalidName, "organization \"\(organization)\" is empty or contains control characters")
            }
        }
        guard validity > .zero else {
            throw PKIError(.issuance, "certificate validity must be positive, not \(validity)")
        }
        let start = Self.wholeSeconds(now)
        guard start < certificate.notValidAfter else {
            throw PKIError(.expired, "the cluster CA expired on \(certificate.notValidAfter); it cannot issue certificates")
        }
        // A certificate cannot outlive the CA that vouches for it.
        let end = min(start + validity.timeInterval, certificate.notValidAfter)

        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        var attributes = organizations.map {
            RelativeDistinguishedName.Attribute(type: .RDNAttributeType.organizationName, utf8String: $0)
        }
        attributes.append(RelativeDistinguishedName.Attribute(type: .RDNAttributeType.commonName, utf8String: commonName))
        do {
            let subject = try DistinguishedName(attributes)
            var extensions: [Certificate.Extension] = [
                try Certificate.Extension(BasicConstraints.notCertificateAuthority, critical: true),
                try Certificate.Extension(KeyUsage(digitalSignature: true), critical: true),
                try Certificate.Extension(ExtendedKeyUsage([usage]), critical: false),
                try Certificate.Extension(SubjectKeyIdentifier(keyIdentifier: Self.keyIdentifier(of: key.publicKey)[...]), critical: false),
                try Certificate.Extension(AuthorityKeyIdentifier(keyIdentifier: authorityKeyIdentifier()[...]), critical: false),
            ]
            if !alternativeNames.isEmpty {
                extensions.append(try Certificate.Extension(SubjectAlternativeNames(alternativeNames), critical: false))
            }
            let certificate = try Certificate(
                version: .v3,
                serialNumber: Self.randomSerialNumber(),
                publicKey: key.publicKey,
                notValidBefore: max(start - Self.backdate.timeInterval, self.certificate.notValidBefore),
                notValidAfter: end,
                issuer: self.certificate.subject,
                subject: subject,
                extensions: try Certificate.Extensions(extensions),
                issuerPrivateKey: keyPair.privateKey
            )
            return try CertifiedKey(certificate: certificate, privateKey: key)
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError(.issuance, "cannot issue a certificate for \"\(commonName)\": \(error)")
        }
    }

    private func authorityKeyIdentifier() -> [UInt8] {
        if let existing = try? certificate.extensions.subjectKeyIdentifier {
            return Array(existing.keyIdentifier)
        }
        return Self.keyIdentifier(of: certificate.publicKey)
    }

    /// RFC 5280 section 4.2.1.2 method (1): the SHA-1 of the subjectPublicKey BIT STRING's bytes
    /// (which is what `subjectPublicKeyInfoBytes` holds, despite its name).
    static func keyIdentifier(of publicKey: Certificate.PublicKey) -> [UInt8] {
        Array(Insecure.SHA1.hash(data: Array(publicKey.subjectPublicKeyInfoBytes)))
    }

    /// 20 random bytes with the top bit clear: a positive INTEGER of at most 20 octets (RFC 5280 4.1.2.2).
    static func randomSerialNumber() -> Certificate.SerialNumber {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<20).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        bytes[0] = (bytes[0] & 0x7F) | 0x01
        return Certificate.SerialNumber(bytes: bytes)
    }

    static func validate(commonName: String) throws {
        guard !commonName.isEmpty, commonName.utf8.count <= 64 else {
            throw PKIError(.invalidName, "common name \"\(commonName)\" must have 1 to 64 bytes")
        }
        guard !commonName.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw PKIError(.invalidName, "common name \"\(commonName)\" contains control characters")
        }
    }

    static func wholeSeconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }
}

extension Duration {
    /// `days` × 24 hours.
    static func days(_ days: Int) -> Duration { .seconds(days * 86_400) }

    var timeInterval: TimeInterval {
        let parts = components
        return TimeInterval(parts.seconds) + TimeInterval(parts.attoseconds) / 1e18
    }
}
