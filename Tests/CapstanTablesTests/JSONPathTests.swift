import CapstanAPI
import Testing
@testable import CapstanTables

@Suite("JSONPath")
struct JSONPathTests {
    static let document = json(#"""
        {"metadata":{"name":"w","labels":{"app.kubernetes.io/name":"web","tier":"fe"}},
         "spec":{"replicas":3,"ratio":0.5,"enabled":true,"tags":["a","b","c","d"],"nothing":null,
                 "containers":[{"name":"app","image":"nginx","ports":[{"containerPort":80}]},
                               {"name":"side","image":"envoy","ports":[{"containerPort":9901},{"containerPort":15000}]}]},
         "status":{"conditions":[{"type":"Synced","status":"True","priority":1},{"type":"Ready","status":"False","priority":5}]}}
        """#)

    static let cases: [(String, [JSONValue])] = [
        (".spec.replicas", [3]),
        ("{.spec.replicas}", [3]),
        ("$.spec.replicas", [3]),
        (".spec.missing", []),
        (".spec.missing.deeper", []),
        (".spec.replicas.deeper", []),
        (".spec.nothing", [.null]),
        (".metadata.labels.app\\.kubernetes\\.io/name", ["web"]),
        (".metadata.labels['app.kubernetes.io/name']", ["web"]),
        (".metadata.labels[\"tier\"]", ["fe"]),
        (".metadata.labels['tier','app.kubernetes.io/name']", ["fe", "web"]),
        (".spec.tags[0]", ["a"]),
        (".spec.tags[-1]", ["d"]),
        (".spec.tags[1:3]", ["b", "c"]),
        (".spec.tags[::2]", ["a", "c"]),
        (".spec.tags[:2]", ["a", "b"]),
        (".spec.tags[0,2]", ["a", "c"]),
        (".spec.tags[*]", ["a", "b", "c", "d"]),
        (".spec.containers[*].name", ["app", "side"]),
        (".spec.containers[*].ports[*].containerPort", [80, 9901, 15000]),
        (".metadata.labels.*", ["web", "fe"]),
        (".status.conditions[?(@.type==\"Ready\")].status", ["False"]),
        (".status.conditions[?(@.type=='Synced')].status", ["True"]),
        (".status.conditions[?(@.type == \"Ready\")].status", ["False"]),
        (".status.conditions[?(@.type!=\"Ready\")].type", ["Synced"]),
        (".status.conditions[?(@.priority>2)].type", ["Ready"]),
        (".status.conditions[?(@.priority<=1)].type", ["Synced"]),
        (".status.conditions[?(@.type==\"Gone\")].status", []),
        (".spec.containers[?(@.image)].name", ["app", "side"]),
        (".spec.containers[?(@.missing)].name", []),
        ("..containerPort", [80, 9901, 15000]),
        (".spec..name", ["app", "side"]),
    ]

    @Test(arguments: cases)
    func evaluates(_ expression: String, _ expected: [JSONValue]) throws {
        #expect(try JSONPath(expression).evaluate(Self.document) == expected)
    }

    @Test(arguments: [".spec.tags[9]", ".spec.tags[-9]", ".spec.replicas[0]", ".spec.replicas[?(@.a)]",
                      ".status.conditions[?(@.priority==\"5\")].type", ".spec.tags[2:1]"])
    func evaluationErrors(_ expression: String) throws {
        let path = try JSONPath(expression)
        #expect(throws: JSONPathError.self) { try path.evaluate(Self.document) }
    }

    @Test(arguments: [".spec.tags[", ".spec.tags[a]", ".status.conditions[?(@.type=~\"x\")]", ".spec.x[?@.a]", ".spec )"])
    func parseErrors(_ expression: String) {
        #expect(throws: JSONPathError.self) { try JSONPath(expression) }
    }

    @Test func goFormatting() {
        #expect(GoFormat.printV(1.5) == "1.5")
        #expect(GoFormat.printV(3) == "3")
        #expect(GoFormat.printV(123456) == "123456")
        #expect(GoFormat.printV(1234567) == "1.234567e+06")
        #expect(GoFormat.printV(1e6) == "1e+06")
        #expect(GoFormat.printV(0.0001) == "0.0001")
        #expect(GoFormat.printV(0.00001) == "1e-05")
        #expect(GoFormat.printV(-2.25) == "-2.25")
        #expect(GoFormat.jsonNumber(1e20) == "100000000000000000000")
        #expect(GoFormat.jsonNumber(1e21) == "1e+21")
        #expect(GoFormat.jsonNumber(1e-7) == "1e-7")
        #expect(GoFormat.jsonNumber(0.5) == "0.5")
        #expect(GoFormat.json(json(#"{"b":[1,2.5,"<&>"],"a":{"z":null,"y":true}}"#)) == #"{"a":{"y":true,"z":null},"b":[1,2.5,"\u003c\u0026\u003e"]}"#)
    }
}
