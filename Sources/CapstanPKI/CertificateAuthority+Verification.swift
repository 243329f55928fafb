import Foundation
import X509

extension CertificateAuthority {
    /// Verifies a client certificate chain as presented in a TLS handshake (leaf first, DER) and
    /// returns the identity it names.
    ///
    /// The leaf must be signed directly by this CA, be within its validity period at `now` (as must the
    /// CA), and, if it has an extendedKeyUsage extension, allow clientAuth. Further certificates in the
    /// chain are ignored: this CA issues client certificates itself, without intermediates.
    public func verifyClientCertificate(chainDER: [[UInt8]], now: Date) throws -> ClientIdentity {
        guard let leafDER = chainDER.first, !leafDER.isEmpty else {
            throw PKIError(.untrusted, "no client certificate was presented")
        }
        let leaf: Certificate
        do {
            leaf = try Certificate(derEncoded: leafDER)
        } catch {
            throw PKIError(.invalidCertificate, "the client certificate is not a valid X.509 certificate: \(error)")
        }
        return try verifyClientCertificate(leaf, now: now)
    }

    /// Verifies a parsed client certificate; see ``verifyClientCertificate(chainDER:now:)``.
    public func verifyClientCertificate(_ leaf: Certificate, now: Date) throws -> ClientIdentity {
        guard isIssuer(of: leaf) else {
            throw PKIError(.untrusted, "the client certificate (issuer \(leaf.issuer)) was not signed by the cluster CA (\(certificate.subject))")
        }
        guard certificate.notValidBefore <= now, now <= certificate.notValidAfter else {
            throw PKIError(.expired, "the cluster CA is not valid at \(now) (valid \(certificate.notValidBefore) to \(certificate.notValidAfter))")
        }
        guard leaf.notValidBefore <= now, now <= leaf.notValidAfter else {
            throw PKIError(.expired, "the client certificate is not valid at \(now) (valid \(leaf.notValidBefore) to \(leaf.notValidAfter))")
        }
        let usage: ExtendedKeyUsage?
        do {
            usage = try leaf.extensions.extendedKeyUsage
        } catch {
            throw PKIError(.invalidCertificate, "the client certificate's extendedKeyUsage extension is malformed: \(error)")
        }
        if let usage, !usage.contains(.clientAuth), !usage.contains(.any) {
            throw PKIError(.untrusted, "the certificate's extendedKeyUsage does not allow client authentication")
        }
        return try ClientIdentity.from(certificate: leaf)
    }
}
