@testable import CapstanAPIServer
import Testing

@Suite("Certificate identity cache")
struct CertificateIdentityCacheTests {
    @Test func resolvesEachCertificateOnceAndStaysBounded() {
        let cache = CertificateIdentityCache(capacity: 2)
        var resolved = 0
        func user(_ der: [UInt8]) -> UserInfo? {
            cache.user(for: der) { der in
                resolved += 1
                return der.first == 0 ? nil : UserInfo(name: "u\(der[0])", groups: ["system:authenticated"])
            }
        }
        #expect(user([1, 9]) == UserInfo(name: "u1", groups: ["system:authenticated"]))
        #expect(user([1, 9])?.name == "u1")
        #expect(resolved == 1)
        #expect(user([0]) == nil)  // not a valid certificate: not cached
        #expect(user([0]) == nil)
        #expect(resolved == 3)
        _ = user([2])
        _ = user([3])  // full at 2: starts over
        #expect(cache.count <= 2)
        #expect(user([3])?.name == "u3")
    }
}
