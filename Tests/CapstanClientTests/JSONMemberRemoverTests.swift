import CapstanAPI
@testable import CapstanClient
import Testing

@Suite("Removing a JSON member by scanning bytes")
struct JSONMemberRemoverTests {
    static let managed = JSONMemberRemover(path: ["object", "metadata", "managedFields"])

    func strip(_ text: String, _ remover: JSONMemberRemover = managed) throws -> JSONValue {
        try JSONValue.parse(Array(remover.removing(from: Array(text.utf8)).utf8String.utf8))
    }

    @Test(arguments: [
        // middle, first, last and only member; whitespace around
        (#"{"type":"ADDED","object":{"metadata":{"name":"a","managedFields":[{"f":{"x":1}}],"uid":"u"}}}"#,
         #"{"type":"ADDED","object":{"metadata":{"name":"a","uid":"u"}}}"#),
        (#"{"object":{"metadata":{"managedFields":[],"name":"a"}}}"#, #"{"object":{"metadata":{"name":"a"}}}"#),
        (#"{"object":{"metadata":{"name":"a" , "managedFields" : [ {"a":"]}"} ] }}}"#, #"{"object":{"metadata":{"name":"a"}}}"#),
        (#"{"object":{"metadata":{"managedFields":[{"m":"x"}]}}}"#, #"{"object":{"metadata":{}}}"#),
        // keys of the same name elsewhere stay; strings with brackets, quotes and escapes are skipped whole
        (#"{"spec":{"metadata":{"managedFields":1}},"object":{"kind":"P\"}{","spec":{"managedFields":[]},"metadata":{"managedFields":[2],"n":1}}}"#,
         #"{"spec":{"metadata":{"managedFields":1}},"object":{"kind":"P\"}{","spec":{"managedFields":[]},"metadata":{"n":1}}}"#),
        // nothing to remove: unchanged
        (#"{"object":{"metadata":{"name":"a"}}}"#, #"{"object":{"metadata":{"name":"a"}}}"#),
        (#"{"object":{}}"#, #"{"object":{}}"#),
    ])
    func removesExactlyTheMember(input: String, expected: String) throws {
        #expect(try strip(input) == (try JSONValue.parse(Array(expected.utf8))))
    }

    @Test func malformedInputComesBackUnchanged() {
        for text in [#"{"object":{"metadata":{"managedFields":[1,2"#, #"{"object":"#, #"[1,2]"#, "", #"{"object":{"metadata":{"a" 1}}}"#] {
            let bytes = Array(text.utf8)
            #expect(Self.managed.removing(from: bytes) == bytes)
        }
    }

    @Test func aTypedWatchFrameDecodesWithoutManagedFields() throws {
        let frame = Array(#"{"type":"MODIFIED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"d","managedFields":[{"manager":"m","operation":"Update","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{}}}],"resourceVersion":"7"},"spec":{"containers":[{"name":"c","image":"i"}]}}}"#.utf8)
        let stripped = try WatchEventDecoder<CoreV1.Pod>.typed(strippingManagedFields: true).decode(frame)
        let kept = try WatchEventDecoder<CoreV1.Pod>.typed.decode(frame)
        guard case .modified(let pod)? = stripped, case .modified(let full)? = kept else {
            Issue.record("expected MODIFIED events")
            return
        }
        #expect(pod.metadata?.managedFields == nil)
        #expect(pod.metadata?.resourceVersion == "7")
        #expect(pod.spec?.containers.first?.name == "c")
        #expect(full.metadata?.managedFields?.first?.manager == "m")
    }

    @Test func aRawWatchFrameParsesWithoutManagedFields() throws {
        let frame = Array(#"{"type":"ADDED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","managedFields":[{"manager":"m"}],"resourceVersion":"7"},"spec":{"nodeName":"n"}}}"#.utf8)
        guard case .added(let pod)? = try WatchEventDecoder<JSONValue>.raw(strippingManagedFields: true).decode(frame),
              case .added(let full)? = try WatchEventDecoder<JSONValue>.raw.decode(frame) else {
            Issue.record("expected ADDED events")
            return
        }
        #expect(pod["metadata"] == .object(["name": .string("p"), "resourceVersion": .string("7")]))
        #expect(pod["spec"]?["nodeName"] == .string("n"))
        #expect(full["metadata"]?["managedFields"]?.arrayValue?.first?["manager"] == .string("m"))
    }
}

private extension Array where Element == UInt8 {
    var utf8String: String { String(decoding: self, as: UTF8.self) }
}
