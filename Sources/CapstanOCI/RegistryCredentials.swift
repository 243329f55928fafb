import Foundation

/// Credentials for one registry, as resolved from imagePullSecrets or given on the command line.
public struct RegistryCredentials: Sendable, Hashable, Codable {
    public var username: String?
    public var password: String?
    /// A refresh token exchanged at the token endpoint (`identitytoken` in a docker config).
    public var identityToken: String?
    /// A bearer token sent to the registry as is.
    public var registryToken: String?

    public init(username: String? = nil, password: String? = nil, identityToken: String? = nil, registryToken: String? = nil) {
        self.username = username
        self.password = password
        self.identityToken = identityToken
        self.registryToken = registryToken
    }

    /// `Basic base64(user:password)` when both are set.
    public var basicAuthorization: String? {
        guard let username, let password else { return nil }
        return "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }
}
