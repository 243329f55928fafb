import CapstanAPI
import CapstanAPIMachinery
import Testing

/// Random small patches against random small objects: never a crash, only results or 400/422.
@Suite("Strategic merge patch: random input")
struct StrategicMergeFuzzTests {
    /// Keys that hit the schema of a Pod, its lists and the directives.
    static let keys = [
        "spec", "metadata", "containers", "initContainers", "name", "image", "env", "value", "ports", "containerPort",
        "volumes", "secret", "configMap", "tolerations", "args", "finalizers", "labels", "app", "securityContext",
        "$patch", "$retainKeys", "$setElementOrder/containers", "$setElementOrder/finalizers", "$deleteFromPrimitiveList/finalizers",
        "$deleteFromPrimitiveList/args", "$setElementOrder", "x",
    ]
    static let strings = ["a", "b", "web", "replace", "delete", "merge", "name", "spec", ""]

    static func value(_ rng: inout SeededGenerator, depth: Int) -> JSONValue {
        switch rng.below(depth > 3 ? 6 : 10) {
        case 0: return .null
        case 1: return .bool(rng.below(2) == 0)
        case 2: return .int(Int64(rng.below(4)))
        case 3: return .double(1.5)
        case 4, 5: return .string(strings[rng.below(strings.count)])
        case 6, 7: return list(&rng, depth: depth + 1)
        default: return object(&rng, depth: depth + 1)
        }
    }

    static func list(_ rng: inout SeededGenerator, depth: Int) -> JSONValue {
        var items: [JSONValue] = []
        let objects = rng.below(3) != 0
        for _ in 0..<rng.below(4) {
            if objects {
                var o: [String: JSONValue] = [:]
                if rng.below(5) != 0 { o["name"] = .string(strings[rng.below(3)]) }
                if rng.below(4) == 0 { o["containerPort"] = .int(Int64(rng.below(3))) }
                if rng.below(6) == 0 { o["$patch"] = .string(["delete", "replace", "merge", "bogus"][rng.below(4)]) }
                if case .object(let more) = object(&rng, depth: depth + 1) { o.merge(more) { a, _ in a } }
                items.append(.object(o))
            } else {
                items.append(value(&rng, depth: depth + 1))
            }
        }
        return .array(items)
    }

    static func object(_ rng: inout SeededGenerator, depth: Int) -> JSONValue {
        var o: [String: JSONValue] = [:]
        guard depth < 5 else { return .object(o) }
        for _ in 0..<rng.below(4) {
            o[keys[rng.below(keys.count)]] = value(&rng, depth: depth)
        }
        return .object(o)
    }

    @Test(arguments: [Kinds.pod, "unstructured"])
    func neverCrashes(definition: String) {
        let schema = StrategicMergeSchema(definition: definition)
        var rng = SeededGenerator(seed: 42)
        var applied = 0
        var refused = 0
        for _ in 0..<4_000 {
            let original = Self.object(&rng, depth: 0)
            let patch = rng.below(20) == 0 ? Self.value(&rng, depth: 0) : Self.object(&rng, depth: 0)
            do {
                let result = try StrategicMergePatch.apply(patch, to: original, schema: schema)
                guard case .object = result else {
                    Issue.record("not an object: \(result)")
                    continue
                }
                applied += 1
                // An empty patch changes nothing.
                #expect(try StrategicMergePatch.apply(json("{}"), to: result, schema: schema) == result)
            } catch {
                refused += 1
                #expect(!error.message.isEmpty)
                #expect([400, 422].contains(error.apiError.code), "\(error.message)")
            }
        }
        #expect(applied > 1_000)
        #expect(refused > 50)
    }

    /// Merging by key indexes the lists: tens of thousands of items merge at once.
    @Test func largeListsMergeInLinearTime() throws {
        let count = 20_000
        var env: [JSONValue] = []
        var patchEnv: [JSONValue] = []
        for i in 0..<count {
            env.append(.object(["name": .string("V\(i)"), "value": .string("\(i)")]))
            patchEnv.append(.object(["name": .string("V\(i + count / 2)"), "value": .string("new")]))
        }
        let original: JSONValue = .object(["spec": .object(["containers": .array([.object(["name": .string("c"), "env": .array(env)])])])])
        let patch: JSONValue = .object(["spec": .object(["containers": .array([.object(["name": .string("c"), "env": .array(patchEnv)])])])])
        let clock = ContinuousClock()
        var result: JSONValue = .null
        let elapsed = try clock.measure {
            result = try StrategicMergePatch.apply(patch, to: original, definition: Kinds.pod)
        }
        let merged = result["spec"]?["containers"]?.arrayValue?.first?["env"]?.arrayValue ?? []
        #expect(merged.count == count + count / 2)
        #expect(merged.first?["name"] == .string("V0"))
        #expect(merged[count / 2]["value"] == .string("new"))
        #expect(merged.last?["name"] == .string("V\(count + count / 2 - 1)"))
        // Quadratic merging would take minutes here.
        #expect(elapsed < .seconds(20))
    }
}
