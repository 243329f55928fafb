import CapstanAPI
import CapstanAPIMachinery
import Testing

/// Random inputs through every parser: nothing may crash, and what parses must print and re-parse stably.
@Suite("Malformed input never crashes")
struct FuzzTests {
    /// Characters that exercise the grammars, plus some that are never valid.
    static let pieces: [String] = [
        "a", "b", "x", "app", "in", "notin", "k8s.io/", "0", "9", "-", "_", ".", "/", "=", "==", "!=", "!", ">", "<",
        "(", ")", ",", " ", "\t", "\n", "\\", "\\,", "\\=", "é", "😀", "\u{0}", "\"", "~", "~0", "~1", "%", "metadata.name",
        "spec.nodeName", "status.phase", "Running", "(a,b)", " in ", " notin ", "gt", "lt",
    ]

    static func randomString(_ rng: inout SeededGenerator) -> String {
        let count = rng.below(12)
        var s = ""
        for _ in 0..<count { s += pieces[rng.below(pieces.count)] }
        return s
    }

    @Test func labelSelectors() {
        var rng = SeededGenerator(seed: 1)
        var parsed = 0
        let labels = ["app": "web", "a": "b", "x": "5", "in": ""]
        for _ in 0..<4_000 {
            let input = Self.randomString(&rng)
            guard let s = try? LabelSelector(parsing: input) else { continue }
            parsed += 1
            let again = try? LabelSelector(parsing: s.description)
            #expect(again == s, "\(input.debugDescription) -> \(s.description.debugDescription)")
            #expect(again?.matches(labels) == s.matches(labels))
        }
        #expect(parsed > 100)
    }

    @Test func fieldSelectors() {
        var rng = SeededGenerator(seed: 2)
        var parsed = 0
        let pods = SelectableFields.forResource(GroupResource(resource: "pods"))
        let pod = json(#"{"metadata":{"name":"a","namespace":"b"},"spec":{"nodeName":"x"},"status":{"phase":"Running"}}"#)
        for _ in 0..<4_000 {
            let input = Self.randomString(&rng)
            guard let s = try? FieldSelector(parsing: input) else { continue }
            parsed += 1
            let again = try? FieldSelector(parsing: s.description)
            #expect(again.map { Set($0.requirements) } == Set(s.requirements), "\(input.debugDescription)")
            if let m = try? pods.matcher(for: s) {
                #expect(m.matches(pod) == m.selector.matches(pods.fields(of: pod)))
            }
        }
        #expect(parsed > 100)
    }

    @Test func escapingRoundTrips() throws {
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<2_000 {
            let value = Self.randomString(&rng)
            #expect(try FieldSelector.unescapeValue(FieldSelector.escapeValue(value)) == value)
            let s = try FieldSelector(parsing: "f=" + FieldSelector.escapeValue(value))
            #expect(s.requirements.first?.value == value)
        }
    }

    @Test func validatorsAndPointers() {
        var rng = SeededGenerator(seed: 4)
        for _ in 0..<3_000 {
            let s = Self.randomString(&rng)
            _ = NameValidation.qualifiedName(s)
            _ = NameValidation.labelValue(s)
            _ = NameValidation.dns1123Subdomain(s)
            _ = NameValidation.dns1123Label(s)
            _ = NameValidation.dns1035Label(s)
            _ = NameValidator.dns1123Subdomain.validate(s, prefix: true)
            _ = try? ResourceVersion.parse(s)
            if let p = JSONPointer(s) { #expect(JSONPointer(p.description) == p) }
        }
    }

    static func randomValue(_ rng: inout SeededGenerator, depth: Int) -> JSONValue {
        switch rng.below(depth > 3 ? 4 : 6) {
        case 0: return .null
        case 1: return .int(Int64(rng.below(5) - 1))
        case 2: return .string(["a", "b", "", "-"][rng.below(4)])
        case 3: return .bool(rng.below(2) == 0)
        case 4:
            return .array((0..<rng.below(4)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            var o: [String: JSONValue] = [:]
            for _ in 0..<rng.below(4) { o[["a", "b", "c", ""][rng.below(4)]] = randomValue(&rng, depth: depth + 1) }
            return .object(o)
        }
    }

    static func randomPointer(_ rng: inout SeededGenerator) -> String {
        let tokens = ["a", "b", "c", "0", "1", "-1", "-", "", "~0", "~1", "01", "9"]
        return (0..<rng.below(4)).map { _ in "/" + tokens[rng.below(tokens.count)] }.joined()
    }

    @Test func patches() {
        var rng = SeededGenerator(seed: 5)
        let ops = ["add", "remove", "replace", "move", "copy", "test", "bogus"]
        var applied = 0
        for _ in 0..<3_000 {
            let doc = Self.randomValue(&rng, depth: 0)
            var patch: [JSONValue] = []
            for _ in 0..<rng.below(4) {
                var op: [String: JSONValue] = ["op": .string(ops[rng.below(ops.count)]),
                                               "path": .string(Self.randomPointer(&rng))]
                if rng.below(4) != 0 { op["value"] = Self.randomValue(&rng, depth: 2) }
                if rng.below(2) == 0 { op["from"] = .string(Self.randomPointer(&rng)) }
                patch.append(.object(op))
            }
            if (try? JSONPatch.apply(.array(patch), to: doc)) != nil { applied += 1 }
            let merge = Self.randomValue(&rng, depth: 0)
            if let result = try? JSONMergePatch.apply(merge, to: doc) {
                // Applying a merge patch twice changes nothing more.
                #expect((try? JSONMergePatch.apply(merge, to: result)) == result)
            }
        }
        #expect(applied > 100)
    }
}
