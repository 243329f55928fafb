import CapstanAPI
import Foundation
import Testing

@Suite("JSONValue byte parser and serializer")
struct JSONBytesTests {
    @Test func parsesEveryKind() throws {
        let v = try JSONValue.parse(#" {"a":[1,-2.5,1e3,"x\n\u00e9\ud83d\ude00",true,false,null,{}], "b":{"c":[]}, "big": 123456789012345678901} "#)
        #expect(v["a"]?.arrayValue?[0] == .int(1))
        #expect(v["a"]?.arrayValue?[1] == .double(-2.5))
        #expect(v["a"]?.arrayValue?[2] == .double(1000))
        #expect(v["a"]?.arrayValue?[3] == .string("x\né😀"))
        #expect(v["a"]?.arrayValue?[6] == .null)
        #expect(v["b"]?["c"] == .array([]))
        #expect(v["big"] == .double(123456789012345678901))
    }

    @Test func serializesWithKubernetesKeyOrder() throws {
        let v = try JSONValue.parse(#"{"status":{},"spec":{"b":1,"a":2},"metadata":{"name":"x"},"kind":"Pod","apiVersion":"v1","action":"y"}"#)
        #expect(v.description == #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"action":"y","spec":{"a":2,"b":1},"status":{}}"#)
    }

    @Test func escapesRoundTrip() throws {
        let s = "quote\" backslash\\ tab\t nul\u{0} ctl\u{1f} é 😀 </script>"
        let bytes = JSONValue.string(s).serialized()
        #expect(try JSONValue.parse(bytes) == .string(s))
        // Foundation agrees on what the bytes mean.
        #expect(try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) as? String == s)
    }

    @Test func agreesWithCodableOnFixtures() throws {
        for name in ["pod", "deployment", "service", "statefulset", "crd", "rbac"] {
            let data = try Fixtures.data(name)
            let fast = try JSONValue.parse(Array(data))
            let viaCodable = try KubeJSON.decode(JSONValue.self, from: data)
            #expect(fast == viaCodable, "\(name)")
            #expect(try JSONValue.parse(fast.serialized()) == fast)
        }
    }

    @Test func recordsDuplicateKeys() throws {
        var dups: [String] = []
        let v = try withUnsafeMutablePointer(to: &dups) { p in
            try JSONValue.parse(Array(#"{"a":1,"a":2,"m":{"x":[{"k":1,"k":2}]}}"#.utf8), duplicateKeys: p)
        }
        #expect(v["a"] == .int(2))
        #expect(dups == ["a", "m.x[0].k"])
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\"}", "{\"a\":}", "tru", "01", "1.", "-", "\"abc", "\"\\x\"",
                      "{\"a\":1}x", "[\"\u{01}\"]", "nul", "{,}", "1e", "\"\\u12\""])
    func rejectsMalformed(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func refusesDeepNesting() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
        let ok = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(try JSONValue.parse(ok).arrayValue?.count == 1)
    }

    @Test func randomBytesNeverCrash() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("{}[]\",:0123456789-+.eEtrufalsn \\u\"abc".utf8)
        for _ in 0..<5000 {
            let n = Int.random(in: 0..<40, using: &rng)
            let bytes = (0..<n).map { _ in alphabet.randomElement(using: &rng)! }
            if let v = try? JSONValue.parse(bytes) {
                // Whatever parses serializes to something that parses to the same value.
                #expect((try? JSONValue.parse(v.serialized())) == v)
            }
        }
    }
}
