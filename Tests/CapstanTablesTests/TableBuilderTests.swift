import CapstanAPI
import Testing
@testable import CapstanTables

@Suite("Table documents")
struct TableBuilderTests {
    static let pod = json(#"""
        {"apiVersion":"v1","kind":"Pod",
         "metadata":{"name":"web-1","namespace":"default","uid":"u-1","resourceVersion":"42","labels":{"app":"web"},
                     "creationTimestamp":"\#(ago(5 * minute))"},
         "spec":{"containers":[{"name":"app","image":"nginx"}]},
         "status":{"phase":"Running","containerStatuses":[{"name":"app","ready":true,"restartCount":0,"state":{"running":{}}}]}}
        """#)

    @Test func listTable() {
        let builder = TableBuilder(printer: .forResource(group: "", resource: "pods"))
        let table = builder.list([Self.pod], metadata: TableListMetadata(resourceVersion: "100", continue: "tok", remainingItemCount: 7), now: now)
        #expect(table["kind"] == "Table")
        #expect(table["apiVersion"] == "meta.k8s.io/v1")
        #expect(table["metadata"] == json(#"{"resourceVersion":"100","continue":"tok","remainingItemCount":7}"#))
        let columns = table["columnDefinitions"]?.arrayValue ?? []
        #expect(columns.count == 9)
        #expect(columns.first == json(#"{"name":"Name","type":"string","format":"name","description":"\#(TableColumnDefinition.nameDescription)","priority":0}"#))
        #expect(columns.last?["priority"] == 1)
        let rows = table["rows"]?.arrayValue ?? []
        #expect(rows.count == 1)
        #expect(rows[0]["cells"] == json(#"["web-1","1/1","Running","0","5m","<none>","<none>","<none>","<none>"]"#))
        #expect(rows[0]["conditions"] == nil)
        #expect(rows[0]["object"] == json(#"""
            {"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1",
             "metadata":{"name":"web-1","namespace":"default","uid":"u-1","resourceVersion":"42","labels":{"app":"web"},
                         "creationTimestamp":"\#(ago(5 * minute))"}}
            """#))
    }

    @Test func emptyListHasEmptyRowsAndBareMetadata() {
        let table = TableBuilder(printer: .forResource(group: "apps", resource: "deployments"))
            .list([], metadata: TableListMetadata(resourceVersion: "7"), now: now)
        #expect(table["rows"] == .array([]))
        #expect(table["metadata"] == json(#"{"resourceVersion":"7"}"#))
        #expect(table["columnDefinitions"]?.arrayValue?.count == 8)
        let unversioned = TableBuilder(printer: .default).list([], metadata: TableListMetadata(), now: now)
        #expect(unversioned["metadata"] == .object([:]))
    }

    @Test func includeObjectPolicies() {
        let printer = TablePrinter.forResource(group: "", resource: "pods")
        let none = TableBuilder(printer: printer, includeObject: .none).single(Self.pod, now: now)
        #expect(none["rows"]?.arrayValue?[0]["object"] == .null)
        let whole = TableBuilder(printer: printer, includeObject: .object).single(Self.pod, now: now)
        #expect(whole["rows"]?.arrayValue?[0]["object"] == Self.pod)
        let beta = TableBuilder(printer: printer, apiVersion: TableBuilder.v1beta1).single(Self.pod, now: now)
        #expect(beta["apiVersion"] == "meta.k8s.io/v1beta1")
        #expect(beta["rows"]?.arrayValue?[0]["object"]?["apiVersion"] == "meta.k8s.io/v1beta1")
    }

    @Test func includeObjectQueryValues() {
        #expect(IncludeObjectPolicy(queryValue: nil) == .metadata)
        #expect(IncludeObjectPolicy(queryValue: "") == .metadata)
        #expect(IncludeObjectPolicy(queryValue: "None") == IncludeObjectPolicy.none)
        #expect(IncludeObjectPolicy(queryValue: "Metadata") == .metadata)
        #expect(IncludeObjectPolicy(queryValue: "Object") == .object)
        #expect(IncludeObjectPolicy(queryValue: "object") == nil)
    }

    @Test func singleObjectAndWatchEvents() {
        let builder = TableBuilder(printer: .forResource(group: "", resource: "pods"))
        let first = builder.single(Self.pod, now: now)
        #expect(first["metadata"] == json(#"{"resourceVersion":"42"}"#))
        #expect(first["columnDefinitions"]?.arrayValue?.count == 9)
        #expect(first["rows"]?.arrayValue?.count == 1)
        let later = builder.single(Self.pod, now: now, includeColumnDefinitions: false)
        #expect(later["columnDefinitions"] == .null)
        #expect(later["rows"]?.arrayValue?[0]["cells"]?.arrayValue?.count == 9)
    }

    @Test func rowConditionsAreSerialized() {
        let done = json(#"{"metadata":{"name":"job-pod"},"spec":{"containers":[{"name":"c"}]},"status":{"phase":"Succeeded"}}"#)
        let table = TableBuilder(printer: .forResource(group: "", resource: "pods")).single(done, now: now)
        #expect(table["rows"]?.arrayValue?[0]["conditions"] == json(#"""
            [{"type":"Completed","status":"True","reason":"Succeeded","message":"The pod has completed successfully."}]
            """#))
    }

    @Test func serializesToCompactJSON() throws {
        let table = TableBuilder(printer: .forResource(group: "", resource: "namespaces"), includeObject: .none)
            .list([json(#"{"metadata":{"name":"default","creationTimestamp":"\#(ago(10))"},"status":{"phase":"Active"}}"#)],
                  metadata: TableListMetadata(resourceVersion: "5"), now: now)
        let text = table.description
        #expect(text.hasPrefix(#"{"apiVersion":"meta.k8s.io/v1","kind":"Table","metadata":{"resourceVersion":"5"},"columnDefinitions":["#))
        #expect(text.hasSuffix(#""rows":[{"cells":["default","Active","10s"],"object":null}]}"#))
        #expect(try JSONValue.parse(text) == table)
    }

    @Test func partialObjectMetadataOfObjectWithoutMetadata() {
        #expect(TableBuilder.partialObjectMetadata(of: json("{}")) == json(#"{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{}}"#))
        #expect(TableBuilder.partialObjectMetadata(of: json(#"{"metadata":7}"#))["metadata"] == .object([:]))
    }

    @Test func scaleSubresource() {
        #expect(TablePrinter.scale.columnDefinitions.map(\.name) == ["Name", "Desired", "Available", "Age"])
        #expect(TablePrinter.scale.row(for: json(#"{"kind":"Scale","metadata":{"name":"web"},"spec":{"replicas":3},"status":{"replicas":2}}"#), now: now).cells
            == ["web", 3, 2, "<unknown>"])
    }
}
