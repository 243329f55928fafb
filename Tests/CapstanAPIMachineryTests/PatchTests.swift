import CapstanAPI
import CapstanAPIMachinery
import Testing

@Suite("JSON Patch (RFC 6902)")
struct JSONPatchTests {
    /// (document, patch, expected result) written after the scenarios of RFC 6902 appendix A and
    /// the behaviour kube-apiserver's patch library adds.
    static let applying: [(String, String, String)] = [
        // Adding an object member.
        (#"{"name":"web"}"#, #"[{"op":"add","path":"/image","value":"nginx"}]"#, #"{"name":"web","image":"nginx"}"#),
        // Adding an array element in the middle.
        (#"{"ports":[80,443]}"#, #"[{"op":"add","path":"/ports/1","value":8080}]"#, #"{"ports":[80,8080,443]}"#),
        // Removing an object member.
        (#"{"name":"web","debug":true}"#, #"[{"op":"remove","path":"/debug"}]"#, #"{"name":"web"}"#),
        // Removing an array element.
        (#"{"args":["-a","-b","-c"]}"#, #"[{"op":"remove","path":"/args/1"}]"#, #"{"args":["-a","-c"]}"#),
        // Replacing a value.
        (#"{"replicas":1,"paused":false}"#, #"[{"op":"replace","path":"/replicas","value":3}]"#, #"{"replicas":3,"paused":false}"#),
        // Moving a value between objects.
        (#"{"spec":{"old":{"x":1}},"status":{}}"#, #"[{"op":"move","from":"/spec/old","path":"/status/new"}]"#, #"{"spec":{},"status":{"new":{"x":1}}}"#),
        // Moving an array element.
        (#"{"l":["a","b","c","d"]}"#, #"[{"op":"move","from":"/l/1","path":"/l/3"}]"#, #"{"l":["a","c","d","b"]}"#),
        // A successful test changes nothing.
        (#"{"a":{"b":[1,"x",{"c":null}]}}"#, #"[{"op":"test","path":"/a","value":{"b":[1,"x",{"c":null}]}}]"#, #"{"a":{"b":[1,"x",{"c":null}]}}"#),
        // Adding a nested object.
        (#"{"metadata":{}}"#, #"[{"op":"add","path":"/metadata/labels","value":{"app":"web"}}]"#, #"{"metadata":{"labels":{"app":"web"}}}"#),
        // Unrecognized members of an operation are ignored.
        (#"{"a":1}"#, #"[{"op":"add","path":"/b","value":2,"extra":"ignored"}]"#, #"{"a":1,"b":2}"#),
        // Escapes: ~1 is '/', ~0 is '~', and ~01 is '~1' (not '/').
        (#"{"a/b":1,"m~n":2,"~1":3}"#, #"[{"op":"replace","path":"/a~1b","value":10},{"op":"replace","path":"/m~0n","value":20},{"op":"replace","path":"/~01","value":30}]"#,
         #"{"a/b":10,"m~n":20,"~1":30}"#),
        // Adding a whole array as a value.
        (#"{"l":["a"]}"#, #"[{"op":"add","path":"/l/1","value":["b","c"]}]"#, #"{"l":["a",["b","c"]]}"#),
        // '-' appends.
        (#"{"l":[1]}"#, #"[{"op":"add","path":"/l/-","value":2},{"op":"add","path":"/l/-","value":3}]"#, #"{"l":[1,2,3]}"#),
        // Adding at the end index appends.
        (#"{"l":[1]}"#, #"[{"op":"add","path":"/l/1","value":2}]"#, #"{"l":[1,2]}"#),
        // Adding to an existing member replaces it.
        (#"{"a":1}"#, #"[{"op":"add","path":"/a","value":[1]}]"#, #"{"a":[1]}"#),
        // The empty path is the whole document.
        (#"{"a":1}"#, #"[{"op":"replace","path":"","value":{"b":2}}]"#, #"{"b":2}"#),
        (#"{"a":1}"#, #"[{"op":"add","path":"","value":{"c":3}}]"#, #"{"c":3}"#),
        // The empty key is a key like any other.
        (#"{"":1}"#, #"[{"op":"replace","path":"/","value":2}]"#, #"{"":2}"#),
        // Copy duplicates, leaving the source.
        (#"{"a":{"x":[1]}}"#, #"[{"op":"copy","from":"/a","path":"/b"},{"op":"add","path":"/b/x/-","value":2}]"#, #"{"a":{"x":[1]},"b":{"x":[1,2]}}"#),
        // Copying into a child of the source is allowed.
        (#"{"a":{"x":1}}"#, #"[{"op":"copy","from":"/a","path":"/a/y"}]"#, #"{"a":{"x":1,"y":{"x":1}}}"#),
        // Moving to the same place is a no-op.
        (#"{"a":1}"#, #"[{"op":"move","from":"/a","path":"/a"}]"#, #"{"a":1}"#),
        // Negative indexes count from the end, as in kube-apiserver.
        (#"{"l":[1,2,3]}"#, #"[{"op":"remove","path":"/l/-1"}]"#, #"{"l":[1,2]}"#),
        (#"{"l":[1,2,3]}"#, #"[{"op":"replace","path":"/l/-3","value":0}]"#, #"{"l":[0,2,3]}"#),
        (#"{"l":[1,2]}"#, #"[{"op":"add","path":"/l/-1","value":9}]"#, #"{"l":[1,2,9]}"#),
        // Leading zeros are read as decimal, as in kube-apiserver.
        (#"{"l":[1,2]}"#, #"[{"op":"replace","path":"/l/01","value":5}]"#, #"{"l":[1,5]}"#),
        // Testing a missing location against null succeeds, as in kube-apiserver.
        (#"{"a":1}"#, #"[{"op":"test","path":"/b","value":null}]"#, #"{"a":1}"#),
        // Operations apply in order and see earlier results.
        (#"{"spec":{"containers":[{"name":"a","image":"x:1"}]}}"#,
         #"[{"op":"test","path":"/spec/containers/0/name","value":"a"},{"op":"replace","path":"/spec/containers/0/image","value":"x:2"},{"op":"add","path":"/spec/containers/-","value":{"name":"b"}}]"#,
         #"{"spec":{"containers":[{"name":"a","image":"x:2"},{"name":"b"}]}}"#),
        // An empty or null patch changes nothing.
        (#"{"a":1}"#, "[]", #"{"a":1}"#),
        (#"{"a":1}"#, "null", #"{"a":1}"#),
    ]

    @Test(arguments: applying)
    func applies(document: String, patch: String, expected: String) throws {
        #expect(try JSONPatch.apply(json(patch), to: json(document)) == json(expected))
    }

    /// (document, patch) pairs whose patch must not apply.
    static let failing: [(String, String)] = [
        // Adding below a missing member.
        (#"{"a":1}"#, #"[{"op":"add","path":"/missing/child","value":1}]"#),
        // Removing or replacing what is not there.
        (#"{"a":1}"#, #"[{"op":"remove","path":"/b"}]"#),
        (#"{"a":1}"#, #"[{"op":"replace","path":"/b","value":1}]"#),
        (#"{"l":[1]}"#, #"[{"op":"remove","path":"/l/1"}]"#),
        (#"{"l":[1]}"#, #"[{"op":"remove","path":"/l/-"}]"#),
        (#"{"l":[1]}"#, #"[{"op":"replace","path":"/l/-2","value":0}]"#),
        (#"{"l":[1]}"#, #"[{"op":"add","path":"/l/3","value":0}]"#),
        (#"{"l":[1]}"#, #"[{"op":"add","path":"/l/-3","value":0}]"#),
        (#"{"l":[1]}"#, #"[{"op":"add","path":"/l/x","value":0}]"#),
        (#"{"l":[1]}"#, #"[{"op":"add","path":"/l/1e0","value":0}]"#),
        // Walking through a scalar.
        (#"{"a":"s"}"#, #"[{"op":"add","path":"/a/b","value":1}]"#),
        // Moves and copies from nowhere, or into their own children.
        (#"{"a":1}"#, #"[{"op":"move","from":"/b","path":"/c"}]"#),
        (#"{"a":{"b":1}}"#, #"[{"op":"move","from":"/a","path":"/a/b/c"}]"#),
        (#"{"a":1}"#, #"[{"op":"copy","from":"/b","path":"/c"}]"#),
        (#"{"a":1}"#, #"[{"op":"move","path":"/c"}]"#),
        // Malformed operations.
        (#"{"a":1}"#, #"[{"op":"jump","path":"/a"}]"#),
        (#"{"a":1}"#, #"[{"path":"/a"}]"#),
        (#"{"a":1}"#, #"[{"op":"add","value":1}]"#),
        (#"{"a":1}"#, #"[{"op":"add","path":"a","value":1}]"#),
        (#"{"a":1}"#, #"[{"op":"add","path":"/b"}]"#),
        (#"{"a":1}"#, #"[{"op":"add","path":5,"value":1}]"#),
        (#"{"a":1}"#, #"[null]"#),
        (#"{"a":1}"#, #"[{"op":"remove","path":""}]"#),
        // The whole patch fails when a later operation fails.
        (#"{"a":1}"#, #"[{"op":"add","path":"/b","value":2},{"op":"remove","path":"/zzz"}]"#),
    ]

    @Test(arguments: failing)
    func refuses(document: String, patch: String) throws {
        let p = try JSONPatch(json(patch))
        do {
            _ = try p.apply(to: json(document))
            Issue.record("patch applied: \(patch)")
        } catch {
            #expect(!error.isTestFailure)
            #expect(!error.message.isEmpty)
            let status = error.apiError
            #expect(status.code == 422)
            #expect(status.reason == .invalid)
            #expect(status.message == "the server rejected our request due to an error in our request")
            #expect(status.statusJSON()["details"] == .object([:]))
        }
    }

    static let failingTests: [(String, String)] = [
        (#"{"a":1}"#, #"[{"op":"test","path":"/a","value":2}]"#),
        // Strings and numbers differ.
        (#"{"n":10}"#, #"[{"op":"test","path":"/n","value":"10"}]"#),
        // An integer and a fraction differ as kube-apiserver compares them.
        (#"{"n":1}"#, #"[{"op":"test","path":"/n","value":1.5}]"#),
        (#"{"a":1}"#, #"[{"op":"test","path":"/b","value":1}]"#),
        (#"{"a":1}"#, #"[{"op":"test","path":"/a"}]"#),
        (#"{"a":[1,2]}"#, #"[{"op":"test","path":"/a","value":[2,1]}]"#),
        (#"{"a":{"x":1}}"#, #"[{"op":"test","path":"/a","value":{"x":1,"y":null}}]"#),
    ]

    @Test(arguments: failingTests)
    func testOperationFailures(document: String, patch: String) {
        do {
            _ = try JSONPatch.apply(json(patch), to: json(document))
            Issue.record("test passed: \(patch)")
        } catch {
            #expect(error.isTestFailure)
            #expect(error.apiError.code == 422)
        }
    }

    @Test func errorMessagesNameTheOperation() {
        #expect(throws: PatchError.self) { try JSONPatch.apply(json(#"[{"op":"remove","path":"/x"}]"#), to: json("{}")) }
        do {
            _ = try JSONPatch.apply(json(#"[{"op":"add","path":"/a","value":1},{"op":"replace","path":"/spec/x","value":1}]"#), to: json("{}"))
        } catch {
            #expect(error.message == "operation 1 (replace) at \"/spec/x\": key \"spec\" does not exist")
        }
        do {
            _ = try JSONPatch.apply(json(#"[{"op":"test","path":"/a","value":2}]"#), to: json(#"{"a":1}"#))
        } catch {
            #expect(error.message == "operation 0 (test) at \"/a\": the value differs from the expected one")
        }
    }

    @Test func malformedPatchesAreBadRequests() {
        let cases: [(String, String)] = [
            (#"{"op":"add"}"#, "json: cannot unmarshal object into Go value of type jsonpatch.Patch"),
            (#""add""#, "json: cannot unmarshal string into Go value of type jsonpatch.Patch"),
            ("3", "json: cannot unmarshal number into Go value of type jsonpatch.Patch"),
            (#"["add"]"#, "json: cannot unmarshal string into Go value of type jsonpatch.Operation"),
            (#"[[]]"#, "json: cannot unmarshal array into Go value of type jsonpatch.Operation"),
        ]
        for (patch, message) in cases {
            do {
                _ = try JSONPatch(json(patch))
                Issue.record("accepted \(patch)")
            } catch {
                #expect(error.isMalformed)
                #expect(error.apiError == .badRequest(message))
            }
        }
    }

    @Test func tooManyOperations() throws {
        let op: JSONValue = .object(["op": .string("test"), "path": .string(""), "value": .null])
        _ = try JSONPatch(.array(Array(repeating: op, count: JSONPatch.maximumOperations)))
        do {
            _ = try JSONPatch(.array(Array(repeating: op, count: JSONPatch.maximumOperations + 1)))
            Issue.record("accepted too many operations")
        } catch {
            #expect(error.apiError.code == 413)
            #expect(error.apiError.message == "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001")
        }
    }

    @Test func repeatedCopiesAreBounded() throws {
        // Each copy doubles the document; without a bound this would grow to 2^40 nodes.
        var ops: [JSONValue] = []
        for i in 0..<40 {
            ops.append(.object(["op": .string("copy"), "from": .string("/a"), "path": .string("/a/x\(i)")]))
        }
        do {
            _ = try JSONPatch.apply(.array(ops), to: json(#"{"a":{"v":[1,2,3]}}"#))
            Issue.record("no limit")
        } catch {
            #expect(error.message.hasSuffix("the patch copies more than 1000000 JSON nodes"))
        }
        // A few copies are fine.
        #expect(try JSONPatch.apply(.array(Array(ops.prefix(3))), to: json(#"{"a":{}}"#))
            == json(#"{"a":{"x0":{},"x1":{"x0":{}},"x2":{"x0":{},"x1":{"x0":{}}}}}"#))
    }

    @Test func depthIsBounded() throws {
        var deep: JSONValue = .int(1)
        for _ in 0..<300 { deep = .object(["d": deep]) }
        let doc = try JSONPatch.apply(json(#"[{"op":"add","path":"/a","value":1}]"#), to: .object(["x": deep]))
        #expect(doc["a"] == .int(1))
        // Copying the deep value below itself would reach 600 levels.
        var path = "/x"
        for _ in 0..<299 { path += "/d" }
        let copy: JSONValue = .array([.object(["op": .string("copy"), "from": .string("/x"), "path": .string(path + "/e")])])
        #expect(throws: PatchError.self) { try JSONPatch.apply(copy, to: .object(["x": deep])) }
    }

    @Test func leavesTheInputUntouched() throws {
        let doc = json(#"{"a":{"b":[1,2]}}"#)
        let copy = doc
        _ = try JSONPatch.apply(json(#"[{"op":"add","path":"/a/b/-","value":3}]"#), to: doc)
        _ = try? JSONPatch.apply(json(#"[{"op":"remove","path":"/a/b/0"},{"op":"remove","path":"/nope"}]"#), to: doc)
        #expect(doc == copy)
    }

    @Test func pointers() {
        #expect(JSONPointer("")?.tokens == [])
        #expect(JSONPointer("/")?.tokens == [""])
        #expect(JSONPointer("/a/b")?.tokens == ["a", "b"])
        #expect(JSONPointer("/a~1b/~0c/~01")?.tokens == ["a/b", "~c", "~1"])
        #expect(JSONPointer("//")?.tokens == ["", ""])
        #expect(JSONPointer("a") == nil)
        #expect(JSONPointer("/a~1b/~0c")?.description == "/a~1b/~0c")
        #expect(JSONPointer("/a")!.isProperPrefix(of: JSONPointer("/a/b")!))
        #expect(!JSONPointer("/a")!.isProperPrefix(of: JSONPointer("/a")!))
        #expect(JSONPointer.root.isProperPrefix(of: JSONPointer("/a")!))
    }
}

@Suite("JSON Merge Patch (RFC 7386)")
struct JSONMergePatchTests {
    /// (target, patch, result) following the cases of RFC 7386 appendix A.
    static let cases: [(String, String, String)] = [
        (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
        (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
        (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
        (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
        (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
        (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
        (#"{"e":null}"#, #"{"a":1}"#, #"{"e":null,"a":1}"#),
        (#"[1,2]"#, #"{"a":"b","c":null}"#, #"{"a":"b"}"#),
        (#"{}"#, #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
        (#""text""#, #"{"a":1}"#, #"{"a":1}"#),
        // Deleting what is absent is a no-op; an empty patch changes nothing.
        (#"{"a":1}"#, #"{"z":null}"#, #"{"a":1}"#),
        (#"{"a":{"b":1}}"#, #"{}"#, #"{"a":{"b":1}}"#),
        // Nested merges keep siblings.
        (#"{"metadata":{"name":"x","labels":{"a":"1","b":"2"}},"spec":{"replicas":1}}"#,
         #"{"metadata":{"labels":{"b":null,"c":"3"}},"spec":{"replicas":2}}"#,
         #"{"metadata":{"name":"x","labels":{"a":"1","c":"3"}},"spec":{"replicas":2}}"#),
        // As in kube-apiserver, null members of objects inside lists are dropped; null elements stay.
        (#"{}"#, #"{"a":[{"b":null,"c":1},null]}"#, #"{"a":[{"c":1},null]}"#),
        (#"{"a":{"x":1}}"#, #"{"a":[{"b":null}]}"#, #"{"a":[{}]}"#),
    ]

    @Test(arguments: cases)
    func merges(target: String, patch: String, expected: String) throws {
        #expect(try JSONMergePatch.apply(json(patch), to: json(target)) == json(expected))
    }

    @Test func patchMustBeAnObject() {
        for patch in [#"["c","d"]"#, "null", #""bar""#, "1", "true"] {
            do {
                _ = try JSONMergePatch(json(patch))
                Issue.record("accepted \(patch)")
            } catch {
                #expect(error.isMalformed)
                #expect(error.apiError == .badRequest("Invalid JSON Patch"))
            }
        }
    }

    @Test func leavesTheInputUntouched() throws {
        let target = json(#"{"a":{"b":{"c":1}},"d":[1]}"#)
        let before = target
        let result = try JSONMergePatch.apply(json(#"{"a":{"b":{"c":2,"e":null}},"d":null}"#), to: target)
        #expect(target == before)
        #expect(result == json(#"{"a":{"b":{"c":2}}}"#))
    }
}
