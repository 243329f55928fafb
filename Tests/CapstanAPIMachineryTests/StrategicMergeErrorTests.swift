import CapstanAPI
import CapstanAPIMachinery
import Testing

/// A patch that must be refused: the Status code and a piece of the message naming the problem.
struct SMPFailure: CustomTestStringConvertible, Sendable {
    let name: String
    let definition: String
    let original: String
    let patch: String
    let code: Int
    let message: String

    init(_ name: String, _ definition: String = Kinds.pod, original: String = "{}", patch: String, code: Int = 400, _ message: String) {
        self.name = name
        self.definition = definition
        self.original = original
        self.patch = patch
        self.code = code
        self.message = message
    }

    var testDescription: String { name }
}

@Suite("Strategic merge patch: refused patches")
struct StrategicMergeErrorTests {
    static let twoContainers = #"{"spec":{"containers":[{"name":"a","image":"x"},{"name":"b","image":"y"}]}}"#

    static let failures: [SMPFailure] = [
        SMPFailure("a list is not a patch", patch: "[]", "json: cannot unmarshal array into Go value of type map[string]interface {}"),
        SMPFailure("a string is not a patch", patch: #""x""#, "cannot unmarshal string"),
        SMPFailure("null is not a patch", patch: "null", "cannot unmarshal null"),
        SMPFailure("an unknown $patch value", original: twoContainers, patch: #"{"spec":{"$patch":"remove"}}"#, "unknown patch type: \"remove\" in map"),
        SMPFailure("a $patch value that is no string", original: #"{"spec":{"securityContext":{}}}"#,
                   patch: #"{"spec":{"securityContext":{"$patch":1}}}"#, "unknown patch type: 1"),
        SMPFailure("an unknown $patch value in a value taken whole", patch: #"{"spec":{"affinity":{"$patch":"rplace"}}}"#, "unknown patch type: \"rplace\""),
        SMPFailure("$patch replace in a list item that also holds fields", original: twoContainers,
                   patch: #"{"spec":{"containers":[{"name":"a","image":"z","$patch":"replace"}]}}"#, "conflicting directives"),
        SMPFailure("an unknown $patch value in a list item", original: twoContainers,
                   patch: #"{"spec":{"containers":[{"name":"a","$patch":"purge"}]}}"#, "unknown patch type: \"purge\""),
        SMPFailure("$patch delete without the merge key", original: twoContainers,
                   patch: #"{"spec":{"containers":[{"$patch":"delete"}]}}"#, "does not contain declared merge key: name"),
        SMPFailure("a patch item without the merge key", original: twoContainers,
                   patch: #"{"spec":{"containers":[{"image":"z"}]}}"#, "does not contain declared merge key: name (at spec.containers)"),
        SMPFailure("a patch item without the merge key, deeper", original: #"{"spec":{"containers":[{"name":"a","env":[{"name":"E"}]}]}}"#,
                   patch: #"{"spec":{"containers":[{"name":"a","env":[{"value":"1"}]}]}}"#,
                   "does not contain declared merge key: name (at spec.containers[name=\"a\"].env)"),
        SMPFailure("$retainKeys that is no list", Kinds.deployment, original: #"{"spec":{"strategy":{"type":"Recreate"}}}"#,
                   patch: #"{"spec":{"strategy":{"$retainKeys":"type"}}}"#, "invalid patch format of retainKeys"),
        SMPFailure("$retainKeys that leaves out a field the patch sets", Kinds.deployment, original: #"{"spec":{"strategy":{"type":"Recreate"}}}"#,
                   patch: #"{"spec":{"strategy":{"$retainKeys":["type"],"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}}"#,
                   "invalid patch format of retainKeys: rollingUpdate is in the patch but not in $retainKeys"),
        SMPFailure("$setElementOrder that is no list", original: twoContainers,
                   patch: #"{"spec":{"$setElementOrder/containers":{"name":"a"}}}"#, "invalid patch format of setElementOrder list"),
        SMPFailure("$setElementOrder in another order than the patch list", original: twoContainers,
                   patch: #"{"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"b"}],"containers":[{"name":"b"},{"name":"a"}]}}"#,
                   "doesn't match $setElementOrder list"),
        SMPFailure("$setElementOrder missing an item of the patch list", original: twoContainers,
                   patch: #"{"spec":{"$setElementOrder/containers":[{"name":"a"}],"containers":[{"name":"c"}]}}"#, "doesn't match"),
        SMPFailure("$setElementOrder items without the merge key", original: twoContainers,
                   patch: #"{"spec":{"$setElementOrder/containers":["a","b"]}}"#, "does not contain declared merge key: name"),
        SMPFailure("$setElementOrder next to a patch value that is no list", original: twoContainers,
                   patch: #"{"spec":{"$setElementOrder/containers":[{"name":"a"}],"containers":null}}"#, "must be a list"),
        SMPFailure("a misspelt $setElementOrder key", original: twoContainers,
                   patch: #"{"spec":{"$setElementOrders/containers":[{"name":"a"}]}}"#, "invalid patch format of setElementOrder list: $setElementOrders/containers"),
        SMPFailure("$deleteFromPrimitiveList that is no list", Kinds.deployment, original: #"{"metadata":{"finalizers":["a"]}}"#,
                   patch: #"{"metadata":{"$deleteFromPrimitiveList/finalizers":"a"}}"#, "invalid patch format of primitive list"),
        SMPFailure("$deleteFromPrimitiveList without a field", Kinds.deployment, original: #"{"metadata":{"finalizers":["a"]}}"#,
                   patch: #"{"metadata":{"$deleteFromPrimitiveList":["a"]}}"#, "invalid patch format of primitive list"),
        SMPFailure("$deleteFromPrimitiveList on a list of objects", original: twoContainers,
                   patch: #"{"spec":{"$deleteFromPrimitiveList/containers":[{"name":"a"}]}}"#, "applies to lists of primitives"),
        SMPFailure("a merging list mixing element types", Kinds.deployment, original: #"{"metadata":{"finalizers":["a"]}}"#,
                   patch: #"{"metadata":{"finalizers":[1]}}"#, "list element types are not identical"),
        SMPFailure("containers given as strings", original: twoContainers,
                   patch: #"{"spec":{"containers":["a"]}}"#, "list element types are not identical"),
        SMPFailure("a merging list of lists", Kinds.deployment, original: #"{"metadata":{"finalizers":[["a"]]}}"#,
                   patch: #"{"metadata":{"finalizers":[["b"]]}}"#, code: 422, "lists of lists are not supported"),
        SMPFailure("an original item without the merge key", original: #"{"spec":{"containers":[{"image":"x"}]}}"#,
                   patch: #"{"spec":{"containers":[{"name":"a"}]}}"#, code: 422, "does not contain declared merge key: name"),
    ]

    @Test(arguments: failures)
    func refuses(_ f: SMPFailure) {
        do {
            let result = try StrategicMergePatch.apply(json(f.patch), to: json(f.original), definition: f.definition)
            Issue.record("\(f.name): applied, giving \(result)")
        } catch {
            #expect(error.message.contains(f.message), "\(f.name): \(error.message)")
            let status = error.apiError
            #expect(status.code == f.code, "\(f.name): \(status.code) \(error.message)")
            if f.code == 400 {
                #expect(error.isMalformed)
                #expect(status == .badRequest(error.message))
            } else {
                #expect(status.reason == .invalid)
                #expect(status.message == "the server rejected our request due to an error in our request")
            }
        }
    }

    @Test func nestingIsBounded() throws {
        func nested(_ depth: Int) -> JSONValue {
            var v = JSONValue.int(1)
            for _ in 0..<depth { v = .object(["x": v]) }
            return v
        }
        let limit = StrategicMergePatch.maximumDepth
        // At the limit, against an original as deep: merges.
        let merged = try StrategicMergePatch.apply(nested(limit), to: nested(limit), schema: .unstructured)
        #expect(merged == nested(limit))
        // Deeper: refused, whether it merges into the original or lands whole.
        for original in [nested(limit + 1), json("{}")] {
            do {
                _ = try StrategicMergePatch.apply(nested(limit + 1), to: original, schema: .unstructured)
                Issue.record("a patch \(limit + 1) levels deep was applied")
            } catch {
                #expect(error.apiError.code == 400)
                #expect(error.message.hasPrefix("the patch nests deeper than \(limit) levels"))
            }
        }
        // Lists count as levels too.
        var deepList = JSONValue.int(1)
        for _ in 0..<(limit + 1) { deepList = .array([deepList]) }
        #expect(throws: PatchError.self) {
            try StrategicMergePatch.apply(.object(["x": deepList]), to: json("{}"), schema: .unstructured)
        }
        // As deep as the JSON parser allows: refused quickly, without exhausting the stack.
        let text = String(repeating: #"{"a":"#, count: JSONValue.maximumDepth - 1) + "1" + String(repeating: "}", count: JSONValue.maximumDepth - 1)
        let parsed = try JSONValue.parse(text)
        #expect(throws: PatchError.self) { try StrategicMergePatch.apply(parsed, to: parsed, schema: .unstructured) }
    }
}
