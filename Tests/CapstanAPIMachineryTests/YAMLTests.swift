import CapstanAPI
import CapstanAPIMachinery
import Testing

@Suite("YAML to JSON")
struct YAMLTests {
    static let cases: [(String, String, String)] = [
        ("block mapping", "a: 1\nb: two\nc: true\nd: null\ne: 1.5\n", #"{"a":1,"b":"two","c":true,"d":null,"e":1.5}"#),
        ("nested", "spec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: web\n",
         #"{"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}}}}"#),
        ("sequence at key indent", "items:\n- a\n- b\n", #"{"items":["a","b"]}"#),
        ("indented sequence of maps", "c:\n  - name: web\n    image: nginx\n  - name: side\n", #"{"c":[{"image":"nginx","name":"web"},{"name":"side"}]}"#),
        ("nested sequences", "- - 1\n  - 2\n- [3, 4]\n", "[[1,2],[3,4]]"),
        ("flow collections", "a: {x: 1, y: [a, 'b c', \"d\"]}\nb: []\nc: {}\n", #"{"a":{"x":1,"y":["a","b c","d"]},"b":[],"c":{}}"#),
        ("multi-line flow", "a: [1,\n  2,\n  3]\n", #"{"a":[1,2,3]}"#),
        ("quoting", "a: 'it''s'\nb: \"tab\\there\\u00e9\"\nc: \"123\"\nd: '#not comment'\n", ##"{"a":"it's","b":"tab\there\u00e9","c":"123","d":"#not comment"}"##),
        ("comments", "# top\na: 1 # trailing\n# between\nb: x#y\n", #"{"a":1,"b":"x#y"}"#),
        ("literal block", "s: |\n  line1\n  line2\n\nt: 1\n", #"{"s":"line1\nline2\n","t":1}"#),
        ("literal strip keep", "a: |-\n  x\n  y\nb: |+\n  z\n\n", #"{"a":"x\ny","b":"z\n\n"}"#),
        ("folded block", "f: >\n  one\n  two\n\n  three\n    indented\n", #"{"f":"one two\nthree\n  indented\n"}"#),
        ("block with indentation indicator", "a: |2\n    x\n  y\n", #"{"a":"  x\ny\n"}"#),
        ("multi-line plain", "a: one\n  two\n  three\n", #"{"a":"one two three"}"#),
        ("multi-line double quoted", "a: \"one\n  two\"\n", #"{"a":"one two"}"#),
        ("core schema", "a: 0x1F\nb: 0o17\nc: -7\nd: 1e3\ne: yes\nf: ~\nh: 1.2.3\ni: 010\nj: -.5\n",
         #"{"a":31,"b":15,"c":-7,"d":1000.0,"e":"yes","f":null,"h":"1.2.3","i":10,"j":-0.5}"#),
        ("tags", "a: !!str 123\nb: !!str true\n", #"{"a":"123","b":"true"}"#),
        ("quoted keys and colons", "\"a b\": 1\n'c:d': 2\nurl: http://x:80/y\n", #"{"a b":1,"c:d":2,"url":"http://x:80/y"}"#),
        ("empty values", "a:\nb: \nc:\n  d:\n", #"{"a":null,"b":null,"c":{"d":null}}"#),
        ("document marker", "---\na: 1\n...\n", #"{"a":1}"#),
        ("scalar document", "hello\n", #""hello""#),
    ]

    @Test(arguments: cases)
    func converts(_ c: (String, String, String)) throws {
        let got = try YAML.parse(c.1)
        let want = try JSONValue.parse(Array(c.2.utf8))
        #expect(got == want, "\(c.0): \(got)")
    }

    @Test func manifestRoundTripsThroughJSON() throws {
        let text = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          labels: {app: web}
          annotations:
            note: |
              multi
              line
        spec:
          replicas: 3
          template:
            spec:
              containers:
              - name: web
                image: "nginx:1.27"
                args: ["--port", "80"]
                ports:
                - containerPort: 80
                  protocol: TCP
        """
        let v = try YAML.parse(text)
        #expect(v["metadata"]?["annotations"]?["note"] == .string("multi\nline\n"))
        #expect(v["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.first?["args"] == .array([.string("--port"), .string("80")]))
        #expect(v["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.first?["ports"]?.arrayValue?.first?["containerPort"] == .int(80))
    }

    @Test func multipleDocuments() throws {
        let docs = try YAML.parseDocuments("a: 1\n---\n# only a comment\n---\nb: 2\n--- {c: 3}\n")
        #expect(docs == [.object(["a": .int(1)]), .object(["b": .int(2)]), .object(["c": .int(3)])])
        #expect(throws: YAMLError.self) { try YAML.parse("a: 1\n---\nb: 2\n") }
    }

    @Test func duplicateKeysAreReported() throws {
        var dups: [String] = []
        let v = try YAML.parse("a: 1\nspec:\n  x: 1\n  x: 2\na: 3\n", duplicateKeys: &dups)
        #expect(v["a"] == .int(3))
        #expect(Set(dups) == ["spec.x", "a"])
    }

    static let bad: [(String, Int, String)] = [
        ("a: 1\n  b: 2\n", 1, "mapping values"),
        ("a:\n  b: 1\n    c: 2\n", 2, "mapping values"),
        ("a: [1, 2\n", 1, "flow sequence"),
        ("a: \"open\n", 1, "quoted scalar"),
        ("a: *ref\n", 1, "aliases"),
        ("a:\n\t- x\n", 2, "tab"),
        ("a: 1\nkey without colon\n", 2, "could not find expected ':'"),
        ("a: \"bad \\q escape\"\n", 1, "escape"),
    ]

    @Test(arguments: bad)
    func rejects(_ c: (String, Int, String)) {
        do {
            let v = try YAML.parse(c.0)
            Issue.record("parsed \(c.0.debugDescription) as \(v)")
        } catch {
            #expect(error.line == c.1, "\(error)")
            #expect(error.message.contains(c.2), "\(error)")
        }
    }

    @Test func infinityAndSpecialFloats() throws {
        #expect(try YAML.parse("a: .inf")["a"] == .double(.infinity))
        #expect(try YAML.parse("a: -.Inf")["a"] == .double(-.infinity))
    }

    /// Random edits of a manifest either parse or fail with a YAMLError; never a crash or a hang.
    @Test func mutatedManifestsNeverCrash() {
        let base = Array("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: "x"   # c
          labels: {a: b, 'c': [1, 2]}
        data:
          k: |-
            line
          - item: 'q''s'
        """.utf8)
        let alphabet = Array(" \n\t:-#[]{},'\"|>!&*?%\\ab1.".utf8)
        var rng = SeededGenerator(seed: 42)
        var parsed = 0
        for _ in 0..<3000 {
            var bytes = base
            for _ in 0..<(1 + rng.below(4)) {
                let i = rng.below(bytes.count)
                switch rng.below(3) {
                case 0: bytes[i] = alphabet[rng.below(alphabet.count)]
                case 1: bytes.insert(alphabet[rng.below(alphabet.count)], at: i)
                default: bytes.remove(at: i)
                }
            }
            if (try? YAML.parse(bytes)) != nil { parsed += 1 }
        }
        #expect(parsed > 0)
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(throws: YAMLError.self) { try YAML.parse("a: " + deep) }
        var block = ""
        for i in 0..<300 { block += String(repeating: " ", count: i) + "k:\n" }
        #expect(throws: YAMLError.self) { try YAML.parse(block) }
    }
}
