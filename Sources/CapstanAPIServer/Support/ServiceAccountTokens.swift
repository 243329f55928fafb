import CapstanAPI
import CapstanPKI
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Service account tokens: JWTs (ES256) naming `system:serviceaccount:<namespace>:<name>`, issued
/// by TokenRequest (`kubectl create token`) and accepted by the authenticator until they expire.
public struct ServiceAccountTokens: Sendable {
    let signer: ServiceAccountTokenSigner
    public static let issuer = "https://kubernetes.default.svc.cluster.local"

    public init(signer: ServiceAccountTokenSigner) { self.signer = signer }

    /// A token for the service account, valid from `now` for `seconds`.
    public func issue(namespace: String, name: String, uid: String, audiences: [String], now: Int64, seconds: Int64) -> String {
        let header = JSONValue.object(["alg": .string("ES256"), "typ": .string("JWT")])
        let claims = JSONValue.object([
            "iss": .string(Self.issuer),
            "sub": .string("system:serviceaccount:\(namespace):\(name)"),
            "aud": .array(audiences.map(JSONValue.string)),
            "iat": .int(now), "nbf": .int(now), "exp": .int(now + seconds),
            "kubernetes.io": .object([
                "namespace": .string(namespace),
                "serviceaccount": .object(["name": .string(name), "uid": .string(uid)]),
            ]),
        ])
        let input = Self.base64URL(header.serialized()) + "." + Self.base64URL(claims.serialized())
        return input + "." + Self.base64URL(signer.signature(for: Array(input.utf8)))
    }

    /// The service account a valid, unexpired token names.
    public func user(forToken token: String, now: Int64) -> UserInfo? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let signature = Self.decodeBase64URL(parts[2]), let payload = Self.decodeBase64URL(parts[1]),
              signer.isValidSignature(signature, for: Array(parts[0].utf8) + [UInt8(ascii: ".")] + Array(parts[1].utf8)),
              case .object(let claims)? = try? JSONValue.parse(payload),
              claims["iss"] == .string(Self.issuer), case .int(let exp)? = claims["exp"], exp > now,
              let info = claims["kubernetes.io"], let namespace = info["namespace"]?.stringValue,
              let name = info["serviceaccount"]?["name"]?.stringValue
        else { return nil }
        return UserInfo(name: "system:serviceaccount:\(namespace):\(name)",
                        uid: info["serviceaccount"]?["uid"]?.stringValue ?? "",
                        groups: ["system:serviceaccounts", "system:serviceaccounts:\(namespace)", "system:authenticated"])
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: Substring) -> [UInt8]? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).map(Array.init)
    }
}
