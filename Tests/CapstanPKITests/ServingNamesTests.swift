import CapstanPKI
import Testing

@Suite struct ServingNamesTests {
    @Test func normalizesAndDeduplicates() throws {
        let names = try ServingNames(
            dnsNames: ["Localhost", "localhost", " api.Example.com ", "10.0.0.1", "[fd00::1]"],
            ipAddresses: ["0:0:0:0:0:0:0:1", "::1", "10.0.0.1"]
        )
        #expect(names.dnsNames == ["localhost", "api.example.com"])
        #expect(names.ipAddresses == ["10.0.0.1", "fd00::1", "::1"])
    }

    @Test func standardSetLeavesOutUnspecifiedAddresses() throws {
        let names = try ServingNames.standard(hostName: "Box", extraDNSNames: ["0.0.0.0"], extraIPAddresses: ["::", "10.43.0.1"])
        #expect(names.dnsNames == ServingNames.kubernetesDNSNames + ["box"])
        #expect(names.ipAddresses == ["127.0.0.1", "::1", "10.43.0.1"])
    }

    @Test(arguments: ["", "-bad.example", "a..b", "spaces here", String(repeating: "a", count: 64) + ".com", "ünï.com"])
    func rejectsInvalidDNSNames(name: String) {
        #expect(throws: PKIError.self) { try ServingNames(dnsNames: [name]) }
    }

    @Test(arguments: ["1.2.3", "256.1.1.1", "fd00:::1", "example.com", ""])
    func rejectsInvalidIPAddresses(address: String) {
        #expect(throws: PKIError.self) { try ServingNames(ipAddresses: [address]) }
    }

    @Test func acceptsWildcardsAndUnderscores() throws {
        let names = try ServingNames(dnsNames: ["*.apps.example.com", "my_host"])
        #expect(names.dnsNames == ["*.apps.example.com", "my_host"])
    }

    @Test func subsetAndMissing() throws {
        let small = try ServingNames(dnsNames: ["a.example"], ipAddresses: ["10.0.0.1"])
        let big = try ServingNames(dnsNames: ["a.example", "b.example"], ipAddresses: ["10.0.0.1", "::1"])
        #expect(small.isSubset(of: big))
        #expect(!big.isSubset(of: small))
        #expect(big.missing(from: small) == ["b.example", "::1"])
    }

    @Test func currentHostNameIsLowercase() {
        if let host = ServingNames.currentHostName() {
            #expect(host == host.lowercased())
            #expect(!host.isEmpty)
        }
    }
}
