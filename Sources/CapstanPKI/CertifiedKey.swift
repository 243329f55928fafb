import SwiftASN1
import X509

/// A certificate together with its private key, in parsed, PEM and DER forms.
///
/// Generated keys are ECDSA P-256 and serialize as PKCS#8 (`-----BEGIN PRIVATE KEY-----`), which
/// BoringSSL (swift-nio-ssl), OpenSSL and Go (kubectl, client-go) all accept. Keys loaded from disk
/// keep the PEM form they had (PKCS#8, SEC1 `EC PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
public struct CertifiedKey: Sendable {
    /// The certificate.
    public let certificate: Certificate
    /// The private key matching the certificate's public key.
    public let privateKey: Certificate.PrivateKey
    /// The certificate as one PEM block, ending in a newline.
    public let certificatePEM: String
    /// The certificate's DER bytes (for `NIOSSLCertificate(bytes:format: .der)`).
    public let certificateDER: [UInt8]
    /// The private key as one PEM block, ending in a newline.
    public let privateKeyPEM: String
    /// The private key's DER bytes, in the encoding its PEM block names (PKCS#8 for generated keys).
    public let privateKeyDER: [UInt8]

    /// Wraps a freshly made certificate and key, serializing both.
    public init(certificate: Certificate, privateKey: Certificate.PrivateKey) throws {
        guard certificate.publicKey == privateKey.publicKey else {
            throw PKIError(.keyMismatch, "the private key does not match the certificate's public key")
        }
        do {
            let certificateDocument = try certificate.serializeAsPEM()
            let keyDocument = try privateKey.serializeAsPEM()
            self.certificate = certificate
            self.privateKey = privateKey
            self.certificatePEM = certificateDocument.pemString + "\n"
            self.certificateDER = certificateDocument.derBytes
            self.privateKeyPEM = keyDocument.pemString + "\n"
            self.privateKeyDER = keyDocument.derBytes
        } catch {
            throw PKIError(.issuance, "cannot serialize certificate or key: \(error)")
        }
    }

    /// Parses a certificate file and a key file.
    ///
    /// The certificate text may hold a chain; its first `CERTIFICATE` block is the certificate. The key
    /// text may hold other blocks (such as `EC PARAMETERS`); its first `... PRIVATE KEY` block is the key.
    /// Errors name `certificatePath` or `privateKeyPath`.
    public init(
        certificatePEM: String,
        privateKeyPEM: String,
        certificatePath: String = "certificate",
        privateKeyPath: String = "private key"
    ) throws {
        let certificateDocument = try Self.firstDocument(
            in: certificatePEM,
            path: certificatePath,
            what: "certificate",
            matching: { $0 == "CERTIFICATE" }
        )
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: certificateDocument.derBytes)
        } catch {
            throw PKIError(.corruptFile, path: certificatePath, "the CERTIFICATE block is not a valid X.509 certificate: \(error)")
        }

        let keyDocument = try Self.firstDocument(
            in: privateKeyPEM,
            path: privateKeyPath,
            what: "private key",
            matching: { $0.hasSuffix("PRIVATE KEY") }
        )
        if keyDocument.discriminator == "ENCRYPTED PRIVATE KEY" {
            throw PKIError(.corruptFile, path: privateKeyPath, "encrypted private keys are not supported; store the key unencrypted (mode 0600)")
        }
        let privateKey: Certificate.PrivateKey
        do {
            privateKey = try Certificate.PrivateKey(pemDocument: keyDocument)
        } catch {
            throw PKIError(.corruptFile, path: privateKeyPath, "the \(keyDocument.discriminator) block is not a usable private key: \(error)")
        }
        guard certificate.publicKey == privateKey.publicKey else {
            throw PKIError(.keyMismatch, path: privateKeyPath, "the private key does not belong to the certificate in \(certificatePath)")
        }

        self.certificate = certificate
        self.privateKey = privateKey
        self.certificatePEM = certificateDocument.pemString + "\n"
        self.certificateDER = certificateDocument.derBytes
        self.privateKeyPEM = keyDocument.pemString + "\n"
        self.privateKeyDER = keyDocument.derBytes
    }

    private static func firstDocument(
        in text: String,
        path: String,
        what: String,
        matching isWanted: (String) -> Bool
    ) throws -> PEMDocument {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: text)
        } catch {
            throw PKIError(.corruptFile, path: path, "not valid PEM: \(error)")
        }
        guard let document = documents.first(where: { isWanted($0.discriminator) }) else {
            let found = documents.map(\.discriminator)
            let detail = found.isEmpty ? "no PEM block found" : "found only \(found.joined(separator: ", "))"
            throw PKIError(.corruptFile, path: path, "expected a PEM \(what): \(detail)")
        }
        return document
    }
}
