import CapstanAPI
import CapstanAPIMachinery
import Foundation
import Testing

@Suite("Validation helpers")
struct ValidationTests {
    static let dns1123LabelHint = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    static let dns1123SubdomainHint = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    static let dns1035Hint = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"

    @Test(arguments: ["a", "abc", "a-b", "a--b", "0", "123-abc", String(repeating: "a", count: 63)])
    func validDNS1123Labels(name: String) {
        #expect(NameValidation.dns1123Label(name).isEmpty)
    }

    @Test func invalidDNS1123Labels() {
        #expect(NameValidation.dns1123Label("") == [Self.dns1123LabelHint])
        #expect(NameValidation.dns1123Label("A") == [Self.dns1123LabelHint])
        #expect(NameValidation.dns1123Label("-a") == [Self.dns1123LabelHint])
        #expect(NameValidation.dns1123Label("a-") == [Self.dns1123LabelHint])
        #expect(NameValidation.dns1123Label("a_b") == [Self.dns1123LabelHint])
        #expect(NameValidation.dns1123Label("a.b") == ["must not contain dots"])
        #expect(NameValidation.dns1123Label(String(repeating: "a", count: 64)) == ["must be no more than 63 characters"])
        #expect(NameValidation.dns1123Label(String(repeating: "A", count: 64)) == ["must be no more than 63 characters", Self.dns1123LabelHint])
    }

    @Test(arguments: ["a", "a.b", "a-b.c-d", "example.com", "0.0", String(repeating: "a", count: 253)])
    func validDNS1123Subdomains(name: String) {
        #expect(NameValidation.dns1123Subdomain(name).isEmpty)
    }

    @Test(arguments: ["", ".", "a.", ".a", "a..b", "A", "a_b", "a.-b", "é", "a b"])
    func invalidDNS1123Subdomains(name: String) {
        #expect(NameValidation.dns1123Subdomain(name) == [Self.dns1123SubdomainHint])
    }

    @Test func longSubdomain() {
        #expect(NameValidation.dns1123Subdomain(String(repeating: "a", count: 254)) == ["must be no more than 253 characters"])
    }

    @Test func dns1035Labels() {
        #expect(NameValidation.dns1035Label("my-svc").isEmpty)
        #expect(NameValidation.dns1035Label("a1").isEmpty)
        #expect(NameValidation.dns1035Label("1a") == [Self.dns1035Hint])
        #expect(NameValidation.dns1035Label("a.b") == [Self.dns1035Hint])
        #expect(NameValidation.dns1035Label("") == [Self.dns1035Hint])
        #expect(NameValidation.dns1035Label(String(repeating: "a", count: 64)) == ["must be no more than 63 characters"])
    }

    @Test func qualifiedNames() {
        for ok in ["a", "A", "a.b", "a-b_c.D", "example.com/App", "k8s.io/x", "a/" + String(repeating: "b", count: 63), "9"] {
            #expect(NameValidation.qualifiedName(ok).isEmpty, "\(ok)")
        }
        #expect(NameValidation.qualifiedName("") == ["name part must be non-empty", "name part " + qualifiedNameHint])
        #expect(NameValidation.qualifiedName("a/") == ["name part must be non-empty", "name part " + qualifiedNameHint])
        #expect(NameValidation.qualifiedName("/a") == ["prefix part must be non-empty"])
        #expect(NameValidation.qualifiedName("_a") == ["name part " + qualifiedNameHint])
        #expect(NameValidation.qualifiedName("A_b/c") == ["prefix part " + Self.dns1123SubdomainHint])
        #expect(NameValidation.qualifiedName(String(repeating: "x", count: 64)) == ["name part must be no more than 63 characters"])
        #expect(NameValidation.qualifiedName("a/b/c").count == 1)
    }

    @Test func labelValues() {
        for ok in ["", "a", "A-b_c.9", String(repeating: "v", count: 63)] {
            #expect(NameValidation.labelValue(ok).isEmpty, "\(ok)")
            #expect(NameValidation.isValidLabelValue(ok))
        }
        #expect(NameValidation.labelValue("-a") == [labelValueHint])
        #expect(NameValidation.labelValue("a b") == [labelValueHint])
        #expect(NameValidation.labelValue(String(repeating: "v", count: 64)) == ["must be no more than 63 characters"])
        #expect(!NameValidation.isValidLabelValue(String(repeating: "v", count: 64)))
    }

    @Test func pathSegments() {
        #expect(NameValidation.pathSegmentName("system:admin").isEmpty)
        #expect(NameValidation.pathSegmentName(".") == ["may not be '.'"])
        #expect(NameValidation.pathSegmentName("..") == ["may not be '..'"])
        #expect(NameValidation.pathSegmentName("a/b%c") == ["may not contain '/'", "may not contain '%'"])
        #expect(NameValidator.pathSegment.validate("..", prefix: true).isEmpty)
    }

    @Test func generateNamePrefixesMayEndInADash() {
        #expect(NameValidator.dns1123Subdomain.validate("web-", prefix: true).isEmpty)
        #expect(NameValidator.dns1123Subdomain.validate("web--", prefix: true).isEmpty)
        #expect(NameValidator.dns1123Subdomain.validate("web-", prefix: false) == [Self.dns1123SubdomainHint])
        #expect(NameValidator.dns1123Label.validate("a-", prefix: true).isEmpty)
        #expect(NameValidator.dns1035Label.validate("svc-", prefix: true).isEmpty)
        #expect(NameValidator.dns1123Subdomain.validate("Web-", prefix: true) == [Self.dns1123SubdomainHint])
    }

    // MARK: Metadata

    @Test func annotations() {
        #expect(MetadataValidation.validateAnnotations(["Example.com/Key": "v", "kubectl.kubernetes.io/last-applied-configuration": "{}"]).isEmpty)
        #expect(MetadataValidation.validateAnnotations(["a b": "v"]).map(\.description)
            == ["metadata.annotations: Invalid value: \"a b\": name part " + qualifiedNameHint])
        let key = "k"
        let atLimit = [key: String(repeating: "x", count: MetadataValidation.totalAnnotationSizeLimit - key.utf8.count)]
        #expect(MetadataValidation.validateAnnotations(atLimit).isEmpty)
        let over = [key: String(repeating: "x", count: MetadataValidation.totalAnnotationSizeLimit)]
        #expect(MetadataValidation.validateAnnotations(over).map(\.description) == ["metadata.annotations: Too long: may not be more than 262144 bytes"])
        #expect(MetadataValidation.validateAnnotations(over).first?.type == .tooLong)
    }

    @Test func labels() {
        let errs = MetadataValidation.validateLabels(["ok": "fine", "Bad Key": "v", "k": "bad value"])
        #expect(errs.map(\.description) == [
            "metadata.labels: Invalid value: \"Bad Key\": name part " + qualifiedNameHint,
            "metadata.labels: Invalid value: \"bad value\": " + labelValueHint,
        ])
    }

    @Test func objectMeta() {
        let ok = json(#"{"name":"web","namespace":"default","labels":{"app":"web"},"annotations":{"a":"b"},"finalizers":["example.com/f"]}"#)
        #expect(MetadataValidation.validateObjectMeta(ok, namespaced: true).isEmpty)

        #expect(MetadataValidation.validateObjectMeta(json("{}"), namespaced: true).map(\.description) == [
            "metadata.name: Required value: name or generateName is required",
            "metadata.namespace: Required value",
        ])
        #expect(MetadataValidation.validateObjectMeta(json(#"{"name":"n1","namespace":"x"}"#), namespaced: false).map(\.description)
            == ["metadata.namespace: Forbidden: not allowed on this type"])
        #expect(MetadataValidation.validateObjectMeta(json(#"{"name":"Web","namespace":"a.b"}"#), namespaced: true).map(\.description) == [
            "metadata.name: Invalid value: \"Web\": " + Self.dns1123SubdomainHint,
            "metadata.namespace: Invalid value: \"a.b\": must not contain dots",
        ])
        #expect(MetadataValidation.validateObjectMeta(json(#"{"name":"1svc","namespace":"d"}"#), namespaced: true, nameValidator: .dns1035Label)
            .map(\.description) == ["metadata.name: Invalid value: \"1svc\": " + Self.dns1035Hint])
        #expect(MetadataValidation.validateObjectMeta(json(#"{"generateName":"Web-","name":"web-x1b2c"}"#), namespaced: false).map(\.description)
            == ["metadata.generateName: Invalid value: \"Web-\": " + Self.dns1123SubdomainHint])
        #expect(MetadataValidation.validateObjectMeta(json(#"{"name":"n","generation":-1}"#), namespaced: false).map(\.description)
            == ["metadata.generation: Invalid value: -1: must be greater than or equal to 0"])
        #expect(MetadataValidation.validateObjectMeta(json(#"{"name":"n","finalizers":["orphan","foregroundDeletion","bad finalizer"]}"#), namespaced: false).map(\.description) == [
            "metadata.finalizers: Invalid value: \"bad finalizer\": name part " + qualifiedNameHint,
            "metadata.finalizers: Invalid value: [\"orphan\",\"foregroundDeletion\",\"bad finalizer\"]: finalizer orphan and foregroundDeletion cannot be both set",
        ])
    }

    @Test func ownerReferences() {
        let refs = json("""
        [{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"rs1","uid":"u1","controller":true},
         {"apiVersion":"apps/","kind":"","name":"","uid":""},
         {"apiVersion":"apps/v1","kind":"ReplicaSet","name":"rs2","uid":"u2","controller":true},
         {"apiVersion":"v1","kind":"Event","name":"e","uid":"u3"}]
        """)
        let errs = MetadataValidation.validateOwnerReferences(refs.arrayValue ?? []).map(\.description)
        #expect(errs.count == 6)
        #expect(errs[0] == "metadata.ownerReferences.apiVersion: Invalid value: \"apps/\": version must not be empty")
        #expect(errs[1] == "metadata.ownerReferences.kind: Invalid value: \"\": must not be empty")
        #expect(errs[2] == "metadata.ownerReferences.name: Invalid value: \"\": must not be empty")
        #expect(errs[3] == "metadata.ownerReferences.uid: Invalid value: \"\": must not be empty")
        #expect(errs[4].hasPrefix("metadata.ownerReferences: Invalid value: [{"))
        #expect(errs[4].hasSuffix(": Only one reference can have Controller set to true. Found \"true\" in references for ReplicaSet/rs1 and ReplicaSet/rs2"))
        #expect(errs[5] == #"metadata.ownerReferences: Invalid value: {"apiVersion":"v1","kind":"Event","name":"e","uid":"u3"}: /v1, Kind=Event is disallowed from being an owner"#)
    }

    // MARK: Field errors

    @Test func badValuesAreRenderedAsKubernetesDoes() {
        #expect(FieldError.invalid("f", value: "a\u{1}b\"c\\", "d").description == #"f: Invalid value: "a\x01b\"c\\": d"#)
        #expect(FieldError.invalid("f", value: "tab\tnl\n\u{7f}", "d").description == #"f: Invalid value: "tab\tnl\n\x7f": d"#)
        #expect(FieldError.invalid("f", value: "é😀\u{a0}\u{200b}", "d").description == #"f: Invalid value: "é😀\u00a0\u200b": d"#)
        #expect(FieldError.invalid("f", value: json(#"{"b":[1,2.5,true,null],"a":"<&>"}"#), "d").description
            == #"f: Invalid value: {"a":"\u003c\u0026\u003e","b":[1,2.5,true,null]}: d"#)
        #expect(FieldError.invalid("f", value: .int(3), "d").description == "f: Invalid value: 3: d")
        #expect(FieldError.invalid("f", value: .bool(false), "").description == "f: Invalid value: false")
        #expect(FieldError.notFound("f", value: "x").description == #"f: Not found: "x""#)
        #expect(FieldError.tooMany("f", actual: 12, max: 10).description == "f: Too many: 12: must have at most 10 items")
        #expect(FieldError.internalError("f", "oops").description == "f: Internal error: oops")
        #expect(FieldError.immutable("spec.selector", value: json(#"{"matchLabels":{"a":"b"}}"#)).description
            == #"spec.selector: Invalid value: {"matchLabels":{"a":"b"}}: field is immutable"#)
        #expect(FieldError.required("f", "detail").description == "f: Required value: detail")
        #expect(FieldError.tooLong("f", maxLength: 1).description == "f: Too long: may not be more than 1 byte")
    }

    @Test func fieldPaths() {
        let p = FieldPath.root.child("spec").child("containers").index(2).child("env").key("HOME")
        #expect(p.description == "spec.containers[2].env[HOME]")
        #expect(FieldPath("metadata").child("labels").description == "metadata.labels")
    }

    // MARK: generateName and resourceVersion

    @Test func generatesNames() {
        var rng = SeededGenerator(seed: 42)
        let a = NameGenerator.generateName(base: "web-", using: &rng)
        #expect(a.hasPrefix("web-"))
        #expect(a.utf8.count == 9)
        #expect(a.utf8.suffix(5).allSatisfy { NameGenerator.alphabet.contains($0) })
        var again = SeededGenerator(seed: 42)
        #expect(NameGenerator.generateName(base: "web-", using: &again) == a)
        #expect(NameGenerator.generateName(base: "web-", using: &again) != a)

        let long = NameGenerator.generateName(base: String(repeating: "p", count: 80), using: &rng)
        #expect(long.utf8.count == 63)
        #expect(long.hasPrefix(String(repeating: "p", count: 58)))
        #expect(NameValidation.dns1123Label(long).isEmpty)
        #expect(NameGenerator.generateName(base: "").utf8.count == 5)
    }

    /// Hands out the words it was given, in order.
    struct FixedWords: RandomNumberGenerator {
        var words: [UInt64]
        mutating func next() -> UInt64 { words.removeFirst() }
    }

    @Test func uidsAreVersion4UUIDsInLowerCase() throws {
        // The version nibble (4) and the variant bits (10) replace what the generator gave.
        var all = FixedWords(words: [0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210])
        #expect(ObjectUID.random(using: &all) == "01234567-89ab-4def-bedc-ba9876543210")
        var ones = FixedWords(words: [.max, .max])
        #expect(ObjectUID.random(using: &ones) == "ffffffff-ffff-4fff-bfff-ffffffffffff")
        var zeros = FixedWords(words: [0, 0])
        #expect(ObjectUID.random(using: &zeros) == "00000000-0000-4000-8000-000000000000")

        var seen = Set<String>()
        for _ in 0..<2_000 {
            let uid = ObjectUID.random()
            let parsed = try #require(UUID(uuidString: uid))
            #expect(parsed.uuidString.lowercased() == uid)
            let bytes = Array(uid.utf8)
            #expect(bytes[14] == UInt8(ascii: "4"))
            #expect([UInt8(ascii: "8"), UInt8(ascii: "9"), UInt8(ascii: "a"), UInt8(ascii: "b")].contains(bytes[19]))
            seen.insert(uid)
        }
        #expect(seen.count == 2_000)
    }

    @Test func resourceVersions() throws {
        #expect(try ResourceVersion.parse("") == 0)
        #expect(try ResourceVersion.parse("0") == 0)
        #expect(try ResourceVersion.parse("12345") == 12345)
        #expect(try ResourceVersion.parse("18446744073709551615") == UInt64.max)
        #expect(throws: FieldError.invalid("resourceVersion", value: "abc", "strconv.ParseUint: parsing \"abc\": invalid syntax")) {
            try ResourceVersion.parse("abc")
        }
        #expect(throws: FieldError.invalid("resourceVersion", value: "-1", "strconv.ParseUint: parsing \"-1\": invalid syntax")) {
            try ResourceVersion.parse("-1")
        }
        #expect(throws: FieldError.invalid("resourceVersion", value: "18446744073709551616", "strconv.ParseUint: parsing \"18446744073709551616\": value out of range")) {
            try ResourceVersion.parse("18446744073709551616")
        }
        do {
            _ = try ResourceVersion.parse("x1")
        } catch {
            #expect(ResourceVersion.badRequest(error).message
                == "invalid resource version: resourceVersion: Invalid value: \"x1\": strconv.ParseUint: parsing \"x1\": invalid syntax")
        }
    }
}
