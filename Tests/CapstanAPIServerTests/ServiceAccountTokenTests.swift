import CapstanAPIServer
import CapstanPKI
import Testing

@Suite("Service account tokens")
struct ServiceAccountTokenTests {
    let tokens = ServiceAccountTokens(signer: ServiceAccountTokenSigner())

    @Test func issuedTokensNameTheServiceAccountUntilTheyExpire() throws {
        let token = tokens.issue(namespace: "ns", name: "sa", uid: "u-1", audiences: ["api"], now: 1_000, seconds: 600)
        let user = try #require(tokens.user(forToken: token, now: 1_599))
        #expect(user.name == "system:serviceaccount:ns:sa" && user.uid == "u-1")
        #expect(user.groups == ["system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"])
        #expect(tokens.user(forToken: token, now: 1_600) == nil, "expired")
    }

    @Test func forgedAndMalformedTokensAreRejected() {
        let token = tokens.issue(namespace: "ns", name: "sa", uid: "u", audiences: [], now: 0, seconds: 3600)
        let other = ServiceAccountTokens(signer: ServiceAccountTokenSigner())
        #expect(other.user(forToken: token, now: 1) == nil, "another key")
        let parts = token.split(separator: ".").map(String.init)
        let forgedClaims = ServiceAccountTokens(signer: ServiceAccountTokenSigner())
            .issue(namespace: "kube-system", name: "admin", uid: "x", audiences: [], now: 0, seconds: 3600)
            .split(separator: ".").map(String.init)
        #expect(tokens.user(forToken: [parts[0], forgedClaims[1], parts[2]].joined(separator: "."), now: 1) == nil)
        for bad in ["", "a.b", "a.b.c", "...", parts[0] + "." + parts[1] + ".", String(repeating: "x", count: 5000)] {
            #expect(tokens.user(forToken: bad, now: 1) == nil)
        }
    }
}
