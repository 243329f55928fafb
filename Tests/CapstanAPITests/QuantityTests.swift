import CapstanAPI
import Foundation
import Testing

@Suite("Quantity")
struct QuantityTests {
    /// Input -> canonical form, as Kubernetes serializes it.
    static let canonical: [(String, String)] = [
        // The resource documentation's examples.
        ("100m", "100m"), ("0.1", "100m"), ("1", "1"), ("1000m", "1"), ("0.5", "500m"),
        ("128974848", "128974848"), ("129e6", "129e6"), ("129M", "129M"), ("128974848000m", "128974848"),
        ("123Mi", "123Mi"), ("1Gi", "1Gi"), ("64Mi", "64Mi"), ("1e3", "1e3"), ("1E3", "1e3"),
        // Canonical-form rules: integers, exponents a multiple of three, largest binary suffix.
        ("1000", "1k"), ("1500", "1500"), ("1.5", "1500m"), ("1.1m", "1100u"), ("1024Mi", "1Gi"),
        ("1.5Gi", "1536Mi"), ("0.5Gi", "512Mi"), ("0.5Ki", "512"), ("1.1Ki", "1126400m"), ("1Ki", "1Ki"),
        ("1023", "1023"), ("2048", "2048"), ("2048Ki", "2Mi"), ("12e6", "12e6"), ("1.5e3", "1500"),
        ("1e-3", "1e-3"), ("5E", "5E"), ("1000E", "1000E"), ("1Ei", "1Ei"), ("100M", "100M"),
        ("0.000001", "1u"), ("10n", "10n"),
        // Signs and zeros.
        ("0", "0"), ("0Mi", "0"), ("0.0", "0"), ("+1", "1"), ("-100m", "-100m"), ("-1Ki", "-1Ki"),
        ("007", "7"), ("1.", "1"),
        // Amounts finer than a nano round up, away from zero.
        ("0.0000000001", "1n"), ("1.5n", "2n"), ("-1.5n", "-2n"), ("1n", "1n"),
        // Binary amounts are capped at the largest int64.
        ("8Ei", "9223372036854775807"),
    ]

    @Test(arguments: canonical)
    func canonicalForm(_ input: String, _ expected: String) throws {
        let q = try Quantity(parsing: input)
        #expect(q.description == expected, "\(input)")
        // The canonical form parses back to the same value and prints the same.
        let again = try Quantity(parsing: q.description)
        #expect(again == q)
        #expect(again.description == expected)
    }

    static let invalid = ["", "abc", "1.2.3", "1K", "1ki", "1e", "Mi", "--1", "1 Gi", "1e1.5", "1Gb", ".", "+", "1m1",
                          "1e99999999", "1234567890123456789012345678901234567890"]

    @Test(arguments: invalid)
    func rejectsMalformed(_ input: String) {
        #expect(throws: QuantityError.self) { try Quantity(parsing: input) }
    }

    @Test func errorNamesTheInput() {
        do {
            _ = try Quantity(parsing: "12 apples")
            Issue.record("parsed")
        } catch {
            #expect(error.description.contains("\"12 apples\""))
            #expect(error.description.contains("regular expression"))
        }
    }

    @Test func values() throws {
        #expect(try Quantity(parsing: "10Mi").value == 10_485_760)
        #expect(try Quantity(parsing: "100m").milliValue == 100)
        #expect(try Quantity(parsing: "100m").value == 1)  // rounds up
        #expect(try Quantity(parsing: "1.5").value == 2)
        #expect(try Quantity(parsing: "-1.5").value == -2)  // away from zero
        #expect(try Quantity(parsing: "2").milliValue == 2000)
        #expect(try Quantity(parsing: "1n").milliValue == 1)
        #expect(try Quantity(parsing: "1e30").value == Int64.max)  // saturates
        #expect(try Quantity(parsing: "250m").doubleValue == 0.25)
    }

    @Test func comparisonByValue() throws {
        #expect(try Quantity(parsing: "1000m") == Quantity(parsing: "1"))
        #expect(try Quantity(parsing: "1k") == Quantity(parsing: "1e3"))
        #expect(try Quantity(parsing: "1Gi") > Quantity(parsing: "1G"))
        #expect(try Quantity(parsing: "999m") < Quantity(parsing: "1"))
        #expect(try Quantity(parsing: "-1") < Quantity(parsing: "1n"))
        #expect(try Quantity(parsing: "1e20") > Quantity(parsing: "99999999999999999999"))
        #expect(try Quantity(parsing: "-2") < Quantity(parsing: "-1"))
        let set: Set<Quantity> = [try Quantity(parsing: "1"), try Quantity(parsing: "1000m"), try Quantity(parsing: "1e0")]
        #expect(set.count == 1)
        let sorted = try ["1Gi", "500Mi", "2G", "0", "-1"].map(Quantity.init(parsing:)).sorted().map(\.description)
        #expect(sorted == ["-1", "0", "500Mi", "1Gi", "2G"])
    }

    @Test func arithmetic() throws {
        #expect((try Quantity(parsing: "1") + Quantity(parsing: "500m")).description == "1500m")
        #expect((try Quantity(parsing: "1Gi") - Quantity(parsing: "512Mi")).description == "512Mi")
        #expect((try Quantity(parsing: "100m") - Quantity(parsing: "100m")).description == "0")
        #expect((Quantity.zero + (try Quantity(parsing: "1Ki"))).description == "1Ki")  // zero takes the other's format
        var total = Quantity.zero
        for _ in 0..<10 { total += try Quantity(parsing: "100m") }
        #expect(total == Quantity(1))
        #expect(try Quantity(parsing: "250m").multiplied(by: 4) == Quantity(1))
        // Far-apart magnitudes do not overflow; the sum keeps 38 significant digits.
        let big = try Quantity(parsing: "1e30") + Quantity(parsing: "1n")
        #expect(try big == Quantity(parsing: "1e30"))
        let near = try Quantity(parsing: "1e20") + Quantity(parsing: "1n")
        #expect(near.description == "100000000000000000000000000001e-9")  // keeps the exponent format
        #expect(Quantity(milli: 1500).description == "1500m")
    }

    @Test func json() throws {
        struct Holder: Codable { var q: Quantity }
        #expect(try KubeJSON.decode(Holder.self, from: Data(#"{"q":1}"#.utf8)).q.description == "1")
        #expect(try KubeJSON.decode(Holder.self, from: Data(#"{"q":0.5}"#.utf8)).q.description == "500m")
        #expect(try KubeJSON.decode(Holder.self, from: Data(#"{"q":"1.5Gi"}"#.utf8)).q.description == "1536Mi")
        let encoded = try KubeJSON.encode(Holder(q: try Quantity(parsing: "0.5Gi")))
        #expect(String(decoding: encoded, as: UTF8.self) == #"{"q":"512Mi"}"#)
        #expect(throws: APIDecodingError.self) { try KubeJSON.decode(Holder.self, from: Data(#"{"q":true}"#.utf8)) }
    }
}
