import CapstanPKI
import NIOHTTP1
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Establishes who is calling: an x509 client certificate signed by the cluster CA (the TLS
/// layer verified the chain; CN is the user, O the groups), or a bearer token from the token
/// file. Anything else is anonymous (nil), which the router answers with 401.
public struct Authenticator: Sendable {
    let tokens: TokenFile?
    /// Service account tokens (TokenRequest) this server signed; nil without a P-256 CA key.
    public let serviceAccounts: ServiceAccountTokens?
    private let certificates = CertificateIdentityCache()

    public init(tokens: TokenFile?, serviceAccounts: ServiceAccountTokens? = nil) {
        self.tokens = tokens
        self.serviceAccounts = serviceAccounts
    }

    public func authenticate(certificateDER: [UInt8]?, headers: HTTPHeaders) -> UserInfo? {
        if let auth = headers.first(name: "authorization") {
            let parts = auth.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                let token = parts[1].trimmingCharacters(in: .whitespaces)
                return user(forToken: token)
            }
        }
        if let der = certificateDER {
            return certificates.user(for: der) { der in
                guard let identity = try? ClientIdentity.from(certificateDER: der) else { return nil }
                return UserInfo(name: identity.userName, groups: identity.groups + ["system:authenticated"])
            }
        }
        return nil
    }
}
