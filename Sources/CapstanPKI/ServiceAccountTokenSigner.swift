import Crypto

/// Signs and verifies service account tokens (JWT, ES256) with the cluster CA's P-256 key, so
/// tokens survive restarts without another key file. Nil for CA keys of other types.
public struct ServiceAccountTokenSigner: Sendable {
    let key: P256.Signing.PrivateKey

    /// A signer from a PKCS#8 or SEC1 P-256 private key.
    public init?(privateKeyDER: [UInt8]) {
        guard let key = try? P256.Signing.PrivateKey(derRepresentation: privateKeyDER) else { return nil }
        self.key = key
    }

    /// A signer with a fresh key (tests).
    public init() { key = P256.Signing.PrivateKey() }

    /// The JWS signature (`r || s`, 64 bytes) of `input`.
    public func signature(for input: [UInt8]) -> [UInt8] {
        guard let signature = try? key.signature(for: input) else { return [] }
        return Array(signature.rawRepresentation)
    }

    public func isValidSignature(_ signature: [UInt8], for input: [UInt8]) -> Bool {
        guard let s = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
        return key.publicKey.isValidSignature(s, for: input)
    }
}

extension ClusterPKI {
    /// The signer of service account tokens, when the CA key is P-256.
    public var serviceAccountTokenSigner: ServiceAccountTokenSigner? {
        ServiceAccountTokenSigner(privateKeyDER: certificateAuthority.keyPair.privateKeyDER)
    }
}
