import Foundation
import X509

/// The API server's certificates, kept in one directory (`<data-dir>/pki`):
///
/// | file | what | mode |
/// |---|---|---|
/// | `ca.crt`, `ca.key` | the cluster CA (self-signed, 10 years) | 0644, 0600 |
/// | `server.crt`, `server.key` | the HTTPS serving certificate (1 year) | 0644, 0600 |
/// | `admin.crt`, `admin.key` | the admin client certificate, `capstan-admin` in `system:masters` | 0644, 0600 |
///
/// ``loadOrCreate(directory:serverNames:serverIPs:hostName:now:)`` creates what is missing and
/// otherwise loads the files as they are, renewing only a serving or admin certificate that no
/// longer fits (see ``renewalReason(servingCertificate:authority:names:now:)``).
public struct ClusterPKI: Sendable {
    /// The directory holding the files.
    public let directory: String
    /// The cluster CA.
    public let certificateAuthority: CertificateAuthority
    /// The API server's serving certificate and key.
    public let serving: CertifiedKey
    /// The admin client certificate and key.
    public let admin: CertifiedKey
    /// The names the serving certificate was required to cover.
    public let servingNames: ServingNames
    /// What this load created or renewed, one line each, for the server's log. Empty when all was loaded as is.
    public let changes: [String]

    public static let caCertificateFile = "ca.crt"
    public static let caKeyFile = "ca.key"
    public static let servingCertificateFile = "server.crt"
    public static let servingKeyFile = "server.key"
    public static let adminCertificateFile = "admin.crt"
    public static let adminKeyFile = "admin.key"

    /// The admin certificate's user name (CN).
    public static let adminUserName = "capstan-admin"
    /// The admin certificate's group (O); Kubernetes' RBAC grants it everything.
    public static let adminGroup = "system:masters"
    /// Serving and admin certificates expiring within this period are renewed on load.
    public static let renewalWindow: Duration = .days(30)

    // MARK: - What the HTTPS server and clients need

    /// The CA certificate, PEM.
    public var caCertificatePEM: String { certificateAuthority.certificatePEM }
    /// The CA certificate, DER (a trust root for client certificates).
    public var caCertificateDER: [UInt8] { certificateAuthority.certificateDER }
    /// The serving certificate, PEM.
    public var serverCertificatePEM: String { serving.certificatePEM }
    /// The serving certificate chain to present, leaf first, DER. The CA is the root, so clients already
    /// hold it and the chain is the leaf alone.
    public var serverCertificateChainDER: [[UInt8]] { [serving.certificateDER] }
    /// The serving key, PEM (PKCS#8 when generated here).
    public var serverPrivateKeyPEM: String { serving.privateKeyPEM }
    /// The serving key, DER.
    public var serverPrivateKeyDER: [UInt8] { serving.privateKeyDER }
    /// The admin client certificate, PEM.
    public var adminCertificatePEM: String { admin.certificatePEM }
    /// The admin client key, PEM.
    public var adminPrivateKeyPEM: String { admin.privateKeyPEM }

    // MARK: - Loading

    /// Loads the PKI from `directory`, creating the directory (mode 0700) and whatever is missing.
    ///
    /// - The CA is created only when neither `ca.crt` nor `ca.key` exists; one without the other, an
    ///   unreadable or corrupt file, a key that does not match, or an expired CA is an error naming the
    ///   file (replacing the CA would invalidate every certificate it issued).
    /// - The serving certificate must cover ``ServingNames/standard(hostName:extraDNSNames:extraIPAddresses:)``
    ///   of `hostName`, `serverNames` and `serverIPs`; it is reissued when it does not, when it expires
    ///   within ``renewalWindow``, was not signed by the CA, or its key is missing or does not match.
    /// - The admin certificate is reissued on the same conditions (but names).
    /// - A corrupt certificate or key file is always an error naming it; nothing is overwritten.
    public static func loadOrCreate(
        directory: String,
        serverNames: [String] = [],
        serverIPs: [String] = [],
        hostName: String? = ServingNames.currentHostName(),
        now: Date
    ) throws -> ClusterPKI {
        let names = try ServingNames.standard(hostName: hostName, extraDNSNames: serverNames, extraIPAddresses: serverIPs)
        try PKIFileSystem.ensureDirectory(directory, mode: 0o700)
        var changes: [String] = []
        func path(_ name: String) -> String { PKIFileSystem.join(directory, name) }

        // The CA.
        let authority: CertificateAuthority
        if let existing = try loadPair(certificatePath: path(caCertificateFile), keyPath: path(caKeyFile)) {
            authority = try CertificateAuthority(existing, path: path(caCertificateFile))
            guard now <= authority.certificate.notValidAfter else {
                throw PKIError(.expired, path: path(caCertificateFile), "the cluster CA expired on \(authority.certificate.notValidAfter); move the pki directory away to create a new CA (every issued certificate must then be replaced)")
            }
        } else {
            authority = try CertificateAuthority.generate(now: now)
            try store(authority.keyPair, certificatePath: path(caCertificateFile), keyPath: path(caKeyFile))
            changes.append("created cluster CA \(path(caCertificateFile))")
        }

        // The serving certificate.
        let serving: CertifiedKey
        let servingReason: String?
        switch try loadLeaf(certificatePath: path(servingCertificateFile), keyPath: path(servingKeyFile)) {
        case .loaded(let existing):
            servingReason = renewalReason(servingCertificate: existing.certificate, authority: authority, names: names, now: now)
            serving = servingReason == nil ? existing : try authority.issueServingCertificate(names: names, now: now)
        case .absent(let reason):
            servingReason = reason
            serving = try authority.issueServingCertificate(names: names, now: now)
        }
        if let servingReason {
            try store(serving, certificatePath: path(servingCertificateFile), keyPath: path(servingKeyFile))
            changes.append("issued serving certificate \(path(servingCertificateFile)): \(servingReason)")
        }

        // The admin client certificate.
        let admin: CertifiedKey
        let adminReason: String?
        switch try loadLeaf(certificatePath: path(adminCertificateFile), keyPath: path(adminKeyFile)) {
        case .loaded(let existing):
            adminReason = renewalReason(clientCertificate: existing.certificate, authority: authority, now: now)
            admin = adminReason == nil ? existing : try issueAdmin(authority, now: now)
        case .absent(let reason):
            adminReason = reason
            admin = try issueAdmin(authority, now: now)
        }
        if let adminReason {
            try store(admin, certificatePath: path(adminCertificateFile), keyPath: path(adminKeyFile))
            changes.append("issued admin client certificate \(path(adminCertificateFile)): \(adminReason)")
        }

        return ClusterPKI(
            directory: directory,
            certificateAuthority: authority,
            serving: serving,
            admin: admin,
            servingNames: names,
            changes: changes
        )
    }

    // MARK: - Issuing and verifying

    /// Issues a client certificate signed by the cluster CA, for example for a node agent:
    /// `commonName: "system:node:NAME", organizations: ["system:nodes"]`. Nothing is written to disk.
    public func issueClientCertificate(
        commonName: String,
        organizations: [String] = [],
        validity: Duration = CertificateAuthority.defaultLeafValidity,
        now: Date
    ) throws -> CertifiedKey {
        try certificateAuthority.issueClientCertificate(commonName: commonName, organizations: organizations, now: now, validity: validity)
    }

    /// Verifies a presented client certificate chain (leaf first, DER) against the cluster CA and
    /// returns the user and groups it names.
    public func verifyClientCertificate(chainDER: [[UInt8]], now: Date) throws -> ClientIdentity {
        try certificateAuthority.verifyClientCertificate(chainDER: chainDER, now: now)
    }

    /// A kubeconfig for the admin user against `server` (an `https://` URL; see ``Kubeconfig/serverURL(host:port:)``).
    public func adminKubeconfig(server: String) -> Kubeconfig {
        Kubeconfig(
            server: server,
            certificateAuthorityPEM: caCertificatePEM,
            clientCertificatePEM: adminCertificatePEM,
            clientKeyPEM: adminPrivateKeyPEM
        )
    }

    // MARK: - Renewal decisions (pure)

    /// Why a serving certificate must be reissued, or `nil` if it can be kept.
    public static func renewalReason(
        servingCertificate certificate: Certificate,
        authority: CertificateAuthority,
        names: ServingNames,
        now: Date
    ) -> String? {
        if let reason = renewalReason(clientCertificate: certificate, authority: authority, now: now) {
            return reason
        }
        let present = ServingNames(of: certificate)
        let missing = names.missing(from: present)
        if !missing.isEmpty {
            return "its subject alternative names lack \(missing.joined(separator: ", "))"
        }
        return nil
    }

    /// Why a client (or any leaf) certificate must be reissued, or `nil` if it can be kept:
    /// not signed by `authority`, not yet valid, or expiring within ``renewalWindow``.
    public static func renewalReason(
        clientCertificate certificate: Certificate,
        authority: CertificateAuthority,
        now: Date
    ) -> String? {
        if !authority.isIssuer(of: certificate) {
            return "it was not signed by the current cluster CA"
        }
        if now < certificate.notValidBefore {
            return "it is not valid before \(certificate.notValidBefore)"
        }
        if certificate.notValidAfter < now + renewalWindow.timeInterval {
            // Renewing cannot help if the CA itself ends first.
            let caEnd = authority.certificate.notValidAfter
            if certificate.notValidAfter >= caEnd { return nil }
            return "it expires on \(certificate.notValidAfter)"
        }
        return nil
    }

    // MARK: - Files

    private static func issueAdmin(_ authority: CertificateAuthority, now: Date) throws -> CertifiedKey {
        try authority.issueClientCertificate(commonName: adminUserName, organizations: [adminGroup], now: now)
    }

    private enum LeafState {
        case loaded(CertifiedKey)
        case absent(reason: String)
    }

    /// A serving or client pair: missing halves and a mismatched key mean "issue a new one";
    /// a corrupt file is an error.
    private static func loadLeaf(certificatePath: String, keyPath: String) throws -> LeafState {
        do {
            guard let pair = try loadPair(certificatePath: certificatePath, keyPath: keyPath) else {
                return .absent(reason: "none existed")
            }
            return .loaded(pair)
        } catch let error as PKIError where error.code == .missingFile {
            return .absent(reason: error.description)
        } catch let error as PKIError where error.code == .keyMismatch {
            return .absent(reason: error.description)
        }
    }

    /// Reads a certificate and its key. Returns `nil` when both are absent; throws `.missingFile`
    /// when only one exists (naming the missing one), and corrupt or mismatch errors naming the file.
    private static func loadPair(certificatePath: String, keyPath: String) throws -> CertifiedKey? {
        let certificateText = try PKIFileSystem.readTextIfPresent(certificatePath)
        let keyText = try PKIFileSystem.readTextIfPresent(keyPath)
        switch (certificateText, keyText) {
        case (nil, nil):
            return nil
        case (.some, nil):
            throw PKIError(.missingFile, path: keyPath, "missing, but \(certificatePath) exists")
        case (nil, .some):
            throw PKIError(.missingFile, path: certificatePath, "missing, but \(keyPath) exists")
        case (.some(let certificatePEM), .some(let keyPEM)):
            return try CertifiedKey(
                certificatePEM: certificatePEM,
                privateKeyPEM: keyPEM,
                certificatePath: certificatePath,
                privateKeyPath: keyPath
            )
        }
    }

    /// Writes the key (0600) before the certificate (0644): a crash in between leaves a mismatched pair,
    /// which the next load reissues, never a certificate whose key is lost.
    private static func store(_ pair: CertifiedKey, certificatePath: String, keyPath: String) throws {
        try PKIFileSystem.writeAtomically(Array(pair.privateKeyPEM.utf8), to: keyPath, mode: 0o600)
        try PKIFileSystem.writeAtomically(Array(pair.certificatePEM.utf8), to: certificatePath, mode: 0o644)
    }
}
