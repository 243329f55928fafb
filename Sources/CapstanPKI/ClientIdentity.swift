import SwiftASN1
import X509

/// The Kubernetes user a client certificate names: the subject's common name is the user name and
/// each organization is a group (as kube-apiserver's x509 authenticator reads them).
public struct ClientIdentity: Hashable, Sendable {
    /// The user name (the subject's CN; with several CNs, the last, as Go reads them).
    public var userName: String
    /// The groups (the subject's O values, in order).
    public var groups: [String]

    public init(userName: String, groups: [String]) {
        self.userName = userName
        self.groups = groups
    }

    /// Extracts the identity from DER certificate bytes. This does not check who signed the certificate;
    /// use ``CertificateAuthority/verifyClientCertificate(chainDER:now:)`` (or NIOSSL trust roots) for that.
    public static func from(certificateDER: [UInt8]) throws -> ClientIdentity {
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: certificateDER)
        } catch {
            throw PKIError(.invalidCertificate, "the client certificate is not a valid X.509 certificate: \(error)")
        }
        return try from(certificate: certificate)
    }

    /// Extracts the identity from a parsed certificate. Throws when the subject has no common name.
    public static func from(certificate: Certificate) throws -> ClientIdentity {
        var commonName: String?
        var organizations: [String] = []
        for rdn in certificate.subject {
            for attribute in rdn {
                switch attribute.type {
                case .RDNAttributeType.commonName:
                    commonName = String(attribute.value) ?? attribute.value.description
                case .RDNAttributeType.organizationName:
                    organizations.append(String(attribute.value) ?? attribute.value.description)
                default:
                    break
                }
            }
        }
        guard let commonName, !commonName.isEmpty else {
            throw PKIError(.invalidCertificate, "the client certificate's subject has no common name (CN), so it names no user")
        }
        return ClientIdentity(userName: commonName, groups: organizations)
    }
}
