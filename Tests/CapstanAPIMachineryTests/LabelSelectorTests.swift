import CapstanAPI
import CapstanAPIMachinery
import Testing

@Suite("Label selectors")
struct LabelSelectorTests {
    // MARK: Parsing to the canonical form

    static let canonical: [(String, String)] = [
        ("", ""),
        ("   ", ""),
        ("app=web", "app=web"),
        ("app = web", "app=web"),
        ("\tapp\n=\rweb ", "app=web"),
        ("app==web", "app==web"),
        ("app!=web", "app!=web"),
        ("tier=frontend,app=web", "app=web,tier=frontend"),
        ("x=a,y=b,z=c", "x=a,y=b,z=c"),
        ("x=,z= ", "x=,z="),
        ("x==", "x=="),
        ("has", "has"),
        ("!missing", "!missing"),
        ("! missing", "!missing"),
        ("z,!y,x", "x,!y,z"),
        ("env in (prod, qa)", "env in (prod,qa)"),
        ("env in (qa,prod)", "env in (prod,qa)"),
        ("env notin (c)", "env notin (c)"),
        ("env in ()", "env in ()"),
        ("env in (,a)", "env in (,a)"),
        ("env notin (a,,b)", "env notin (,a,b)"),
        ("env in (a,)", "env in (,a)"),
        ("env in (a,a)", "env in (a)"),
        ("x in (in),y notin (notin)", "x in (in),y notin (notin)"),
        ("in in (in)", "in in (in)"),
        ("in", "in"),
        ("notin=in", "notin=in"),
        ("x>5", "x>5"),
        ("x<3", "x<3"),
        ("x > 5 , y < 3", "x>5,y<3"),
        ("x>007", "x>007"),
        ("example.com/app=web", "example.com/app=web"),
        ("app.kubernetes.io/name in (nginx)", "app.kubernetes.io/name in (nginx)"),
        ("k=a.b-c_D9", "k=a.b-c_D9"),
        ("environment=production,tier!=frontend", "environment=production,tier!=frontend"),
        ("a=1,a!=2", "a=1,a!=2"),
    ]

    @Test(arguments: canonical)
    func parsesToCanonicalForm(input: String, expected: String) throws {
        let s = try LabelSelector(parsing: input)
        #expect(s.description == expected)
        // The canonical form parses back to the same selector.
        #expect(try LabelSelector(parsing: s.description) == s)
    }

    @Test func requirementsCarryOperatorsAndSortedValues() throws {
        let s = try LabelSelector(parsing: "x in (b,a),!y,z")
        #expect(s.requirements.map(\.key) == ["x", "y", "z"])
        #expect(s.requirements.map(\.operator) == [.in, .doesNotExist, .exists])
        #expect(s.requirements[0].values == ["a", "b"])
        #expect(s.requirements[1].values.isEmpty)
    }

    // MARK: Parse errors, worded as kube-apiserver

    static let errors: [(String, String)] = [
        (",", "found ',', expected: !, identifier, or 'end of string'"),
        ("x=a,", "found '', expected: identifier after ','"),
        ("x,,y", "found ',', expected: identifier after ','"),
        ("x y", "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt"),
        ("x!", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt"),
        ("!x=a", "found '=', expected: ',' or 'end of string'"),
        ("!", "unable to parse requirement: found '', expected: identifier"),
        ("!!x", "unable to parse requirement: found '!', expected: identifier"),
        ("x=a b", "found 'b', expected: ',' or 'end of string'"),
        ("x=a||y=b", "unable to parse requirement: values[0][x]: Invalid value: \"a||y\": " + labelValueHint),
        ("x in a", "unable to parse requirement: found 'a' expected: '('"),
        ("x in (", "unable to parse requirement: found '', expected: ',', ')' or identifier"),
        ("x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"),
        ("x in (a,b", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("x in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier"),
        ("x in (a)c", "found 'c', expected: ',' or 'end of string'"),
        ("x in (a),", "found '', expected: identifier after ','"),
        ("x=(a)", "unable to parse requirement: found '(', expected: identifier"),
        (")", "found ')', expected: !, identifier, or 'end of string'"),
        ("x>a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer"),
        ("x>", "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer"),
        ("x<99999999999999999999", "unable to parse requirement: values[0]: Invalid value: \"99999999999999999999\": for 'Gt', 'Lt' operators, the value must be an integer"),
        ("-x=a", "unable to parse requirement: <nil>: Invalid value: \"-x\": name part " + qualifiedNameHint),
        ("x-=a", "unable to parse requirement: <nil>: Invalid value: \"x-\": name part " + qualifiedNameHint),
        ("/a=b", "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be non-empty"),
        ("a/=b", "unable to parse requirement: <nil>: Invalid value: \"a/\": name part must be non-empty; name part " + qualifiedNameHint),
        ("a/b/c=d", "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name " + qualifiedNameHint
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"),
        ("Example.com/a", "unable to parse requirement: <nil>: Invalid value: \"Example.com/a\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
        (String(repeating: "k", count: 64), "unable to parse requirement: <nil>: Invalid value: \"" + String(repeating: "k", count: 64) + "\": name part must be no more than 63 characters"),
        ("x=-a", "unable to parse requirement: values[0][x]: Invalid value: \"-a\": " + labelValueHint),
        ("x in (ok,b_)", "unable to parse requirement: values[0][x]: Invalid value: \"b_\": " + labelValueHint),
        ("x=" + String(repeating: "v", count: 64), "unable to parse requirement: values[0][x]: Invalid value: \"" + String(repeating: "v", count: 64) + "\": must be no more than 63 characters"),
        ("x>-1a", "unable to parse requirement: [values[0]: Invalid value: \"-1a\": for 'Gt', 'Lt' operators, the value must be an integer, values[0][x]: Invalid value: \"-1a\": " + labelValueHint + "]"),
        ("x=\"a\"", "unable to parse requirement: values[0][x]: Invalid value: \"\\\"a\\\"\": " + labelValueHint),
    ]

    @Test(arguments: errors)
    func reportsParseErrors(input: String, message: String) {
        #expect(throws: SelectorError(message)) { try LabelSelector(parsing: input) }
    }

    @Test func parseErrorIsABadRequest() {
        do {
            _ = try LabelSelector(parsing: "x y")
            Issue.record("expected an error")
        } catch {
            #expect(error.apiError.code == 400)
            #expect(error.apiError.reason == .badRequest)
            #expect(error.apiError.message == error.message)
        }
    }

    @Test func nulByteEndsInputAsInKubernetes() throws {
        #expect(try LabelSelector(parsing: "a=b \u{0}garbage(").description == "a=b")
    }

    // MARK: Matching

    static let labels: [String: String] = ["app": "web", "tier": "frontend", "n": "5", "empty": ""]

    static let matching: [(String, Bool)] = [
        ("", true),
        ("app=web", true),
        ("app==web", true),
        ("app=db", false),
        ("app!=db", true),
        ("app!=web", false),
        ("absent!=x", true),
        ("absent=x", false),
        ("app in (web,db)", true),
        ("app in (db)", false),
        ("absent in (x)", false),
        ("app notin (web)", false),
        ("app notin (db)", true),
        ("absent notin (x)", true),
        ("app", true),
        ("absent", false),
        ("!absent", true),
        ("!app", false),
        ("n>4", true),
        ("n>5", false),
        ("n<6", true),
        ("n<5", false),
        ("app>1", false),
        ("absent<1", false),
        ("app=web,tier=frontend", true),
        ("app=web,tier=backend", false),
        ("empty=", true),
        ("empty", true),
        ("empty in ()", true),
        ("app in ()", false),
        ("empty in (,x)", true),
        ("empty notin ()", false),
        ("!empty", false),
    ]

    @Test(arguments: matching)
    func matchesLabels(selector: String, expected: Bool) throws {
        let s = try LabelSelector(parsing: selector)
        #expect(s.matches(Self.labels) == expected)
        #expect(s.matches(lookup: { Self.labels[$0] }) == expected)
        var jsonLabels: [String: JSONValue] = [:]
        for (k, v) in Self.labels { jsonLabels[k] = .string(v) }
        let object: JSONValue = .object(["metadata": .object(["labels": .object(jsonLabels)])])
        #expect(s.matches(labelsOf: object) == expected)
    }

    @Test func matchesObjectsWithoutLabels() throws {
        let pod = json(#"{"metadata":{"name":"p"}}"#)
        #expect(try LabelSelector(parsing: "!app").matches(labelsOf: pod))
        #expect(try !LabelSelector(parsing: "app").matches(labelsOf: pod))
        #expect(LabelSelector.everything.matches(labelsOf: .null))
        #expect(!LabelSelector.nothing.matches(labelsOf: pod))
        #expect(!LabelSelector.nothing.matches([:]))
        // A label that is not a string counts as absent.
        let odd = json(#"{"metadata":{"labels":{"app":5}}}"#)
        #expect(try LabelSelector(parsing: "!app").matches(labelsOf: odd))
    }

    @Test func longValueListsUseASet() throws {
        let values = (0..<50).map { "v\($0)" }
        let s = try LabelSelector(parsing: "k in (\(values.joined(separator: ",")))")
        #expect(s.matches(["k": "v37"]))
        #expect(!s.matches(["k": "v50"]))
        let notIn = try LabelSelector(parsing: "k notin (\(values.joined(separator: ",")))")
        #expect(!notIn.matches(["k": "v0"]))
        #expect(notIn.matches(["k": "w"]))
    }

    @Test func requiresExactMatch() throws {
        #expect(try LabelSelector(parsing: "a=1,b in (2),c in (3,4),d!=5").requiresExactMatch("a") == "1")
        #expect(try LabelSelector(parsing: "a=1,b in (2)").requiresExactMatch("b") == "2")
        #expect(try LabelSelector(parsing: "c in (3,4)").requiresExactMatch("c") == nil)
        #expect(try LabelSelector(parsing: "d!=5").requiresExactMatch("d") == nil)
        #expect(try LabelSelector(parsing: "a==1").requiresExactMatch("a") == "1")
        #expect(LabelSelector.everything.requiresExactMatch("a") == nil)
    }

    @Test func buildsFromMatchLabels() {
        let s = LabelSelector(matchLabels: ["b": "2", "a": "1"])
        #expect(s.description == "a=1,b=2")
        #expect(s.matches(["a": "1", "b": "2", "c": "3"]))
        #expect(!s.matches(["a": "1"]))
        #expect(LabelSelector(matchLabels: [:]).isEmpty)
    }

    @Test func requirementInitValidates() throws {
        #expect(try LabelRequirement(key: "k", operator: .in, values: ["b", "a"]).description == "k in (a,b)")
        #expect(throws: SelectorError("values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty")) {
            try LabelRequirement(key: "k", operator: .in, values: [])
        }
        #expect(throws: SelectorError("values: Invalid value: [\"a\",\"b\"]: exact-match compatibility requires one single value")) {
            try LabelRequirement(key: "k", operator: .equals, values: ["a", "b"])
        }
        #expect(throws: SelectorError("values: Invalid value: [\"1\",\"2\"]: for 'Gt', 'Lt' operators, exactly one value is required")) {
            try LabelRequirement(key: "k", operator: .greaterThan, values: ["1", "2"])
        }
        #expect(throws: SelectorError("operator: Unsupported value: \"~\": supported values: \"in\", \"notin\", \"=\", \"==\", \"!=\", \"gt\", \"lt\", \"exists\", \"!\"")) {
            try LabelRequirement(key: "k", operator: LabelRequirement.Operator(rawValue: "~"), values: [])
        }
        #expect(throws: SelectorError("key: Invalid value: \"\": name part must be non-empty; name part " + qualifiedNameHint)) {
            try LabelRequirement(key: "", operator: .exists, values: [])
        }
    }

    // MARK: metav1.LabelSelector

    @Test func nullSelectorMatchesNothingAndEmptyMatchesEverything() throws {
        let none = try LabelSelector(json: .null)
        #expect(none.matchesNothing)
        #expect(!none.matches([:]))
        #expect(try LabelSelector(json: nil) == .nothing)
        #expect(try LabelSelector(nil as MetaV1.LabelSelector?) == .nothing)
        let all = try LabelSelector(json: json("{}"))
        #expect(all.isEmpty)
        #expect(all.matches([:]))
        #expect(try LabelSelector(json: json(#"{"matchLabels":{},"matchExpressions":[]}"#)).isEmpty)
    }

    static let fromJSON: [(String, String)] = [
        (#"{"matchLabels":{"app":"web"}}"#, "app=web"),
        (#"{"matchLabels":{"b":"2","a":"1"}}"#, "a=1,b=2"),
        (#"{"matchExpressions":[{"key":"env","operator":"In","values":["qa","prod"]}]}"#, "env in (prod,qa)"),
        (#"{"matchExpressions":[{"key":"env","operator":"NotIn","values":["dev"]}]}"#, "env notin (dev)"),
        (#"{"matchExpressions":[{"key":"gpu","operator":"Exists"}]}"#, "gpu"),
        (#"{"matchExpressions":[{"key":"gpu","operator":"DoesNotExist","values":[]}]}"#, "!gpu"),
        (#"{"matchLabels":{"a":"b"},"matchExpressions":[{"key":"a","operator":"Exists"},{"key":"0","operator":"Exists"}]}"#, "0,a=b,a"),
        (#"{"matchExpressions":[{"key":"env","operator":"In","values":["a","a"]}]}"#, "env in (a,a)"),
    ]

    @Test(arguments: fromJSON)
    func convertsMetaV1LabelSelector(input: String, expected: String) throws {
        let s = try LabelSelector(json: json(input))
        #expect(s.description == expected)
        let typed = try KubeJSON.decode(MetaV1.LabelSelector.self, from: Array(input.utf8))
        #expect(try LabelSelector(typed) == s)
    }

    static let fromJSONErrors: [(String, String)] = [
        (#"{"matchExpressions":[{"key":"a","operator":"Gt","values":["1"]}]}"#, "\"Gt\" is not a valid label selector operator"),
        (#"{"matchExpressions":[{"key":"a","operator":"In"}]}"#, "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"),
        (#"{"matchExpressions":[{"key":"a","operator":"In","values":[]}]}"#, "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"),
        (#"{"matchExpressions":[{"key":"a","operator":"Exists","values":["x"]}]}"#, "values: Invalid value: [\"x\"]: values set must be empty for exists and does not exist"),
        (#"{"matchLabels":{"a b":"c"}}"#, "key: Invalid value: \"a b\": name part " + qualifiedNameHint),
        (#"{"matchLabels":{"a":"c d"}}"#, "values[0][a]: Invalid value: \"c d\": " + labelValueHint),
        (#"{"matchLabels":"app"}"#, "matchLabels must be an object"),
        (#"{"matchExpressions":[{"key":"a"}]}"#, "matchExpressions[0] needs string key and operator"),
        (#"[]"#, "label selector must be an object"),
    ]

    @Test(arguments: fromJSONErrors)
    func reportsMetaV1LabelSelectorErrors(input: String, message: String) {
        #expect(throws: SelectorError(message)) { try LabelSelector(json: json(input)) }
    }

    @Test func formatsLikeKubectl() {
        #expect(LabelSelector.format(nil) == "<none>")
        #expect(LabelSelector.format(MetaV1.LabelSelector()) == "<none>")
        #expect(LabelSelector.format(MetaV1.LabelSelector(matchLabels: ["app": "web", "tier": "fe"])) == "app=web,tier=fe")
        #expect(LabelSelector.format(MetaV1.LabelSelector(matchExpressions: [.init(key: "a", operator: "Nope")])) == "<error>")
    }

    @Test func validatesSelectorsInsideObjects() {
        let sel = MetaV1.LabelSelector(
            matchExpressions: [
                .init(key: "a", operator: "In"),
                .init(key: "b", operator: "Exists", values: ["x"]),
                .init(key: "-c", operator: "Gt", values: ["bad value"]),
            ],
            matchLabels: ["ok": "fine", "k": "-bad"]
        )
        let errs = LabelSelector.validate(sel, path: "spec.selector").map(\.description)
        #expect(errs == [
            "spec.selector.matchLabels: Invalid value: \"-bad\": " + labelValueHint,
            "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
            "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            "spec.selector.matchExpressions[2].operator: Invalid value: \"Gt\": not a valid selector operator",
            "spec.selector.matchExpressions[2].key: Invalid value: \"-c\": name part " + qualifiedNameHint,
            "spec.selector.matchExpressions[2].values[0]: Invalid value: \"bad value\": " + labelValueHint,
        ])
        #expect(LabelSelector.validate(nil, path: "spec.selector").isEmpty)
    }
}
