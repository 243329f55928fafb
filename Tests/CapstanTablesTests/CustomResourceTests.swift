import CapstanAPI
import Testing
@testable import CapstanTables

@Suite("Custom resource printer columns")
struct CustomResourceTests {
    static let crd = json(#"""
        {"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.example.com"},
         "spec":{"group":"example.com","names":{"plural":"widgets","kind":"Widget"},"scope":"Namespaced",
          "versions":[
           {"name":"v1","served":true,"storage":true,"additionalPrinterColumns":[
             {"name":"Replicas","type":"integer","jsonPath":".spec.replicas"},
             {"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status","description":"Readiness"},
             {"name":"Image","type":"string","priority":1,"jsonPath":".spec.image"},
             {"name":"Ratio","type":"number","jsonPath":".spec.ratio"},
             {"name":"Enabled","type":"boolean","jsonPath":".spec.enabled"},
             {"name":"Tags","type":"string","jsonPath":".spec.tags"},
             {"name":"Started","type":"date","jsonPath":".status.startedAt"},
             {"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}]},
           {"name":"v1beta1","served":true,"storage":false}]}}
        """#)

    @Test func columnsFromTheDefinition() {
        let printer = TablePrinter.customResource(definition: Self.crd, version: "v1")
        let columns = printer.columnDefinitions
        #expect(columns.map(\.name) == ["Name", "Replicas", "Ready", "Image", "Ratio", "Enabled", "Tags", "Started", "Age"])
        #expect(columns.map(\.type) == ["string", "integer", "string", "string", "number", "boolean", "string", "date", "date"])
        #expect(columns.map(\.priority) == [0, 0, 0, 1, 0, 0, 0, 0, 0])
        #expect(columns[0].format == "name")
        #expect(columns[1].description == "Printer column selecting .spec.replicas")
        #expect(columns[2].description == "Readiness")
    }

    @Test func cells() {
        let printer = TablePrinter.customResource(definition: Self.crd, version: "v1")
        let widget = json(#"""
            {"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w1","creationTimestamp":"\#(ago(2 * day))"},
             "spec":{"replicas":3,"image":"nginx","ratio":2,"enabled":true,"tags":["a","<b>"]},
             "status":{"conditions":[{"type":"Synced","status":"True"},{"type":"Ready","status":"False"}],"startedAt":"\#(ago(90))"}}
            """#)
        #expect(printer.row(for: widget, now: now).cells
            == ["w1", 3, "False", "nginx", .double(2), true, #"["a","\u003cb\u003e"]"#, "90s", "2d"])
        let sparse = json(#"{"metadata":{"name":"w2"},"spec":{"replicas":"three","ratio":1.5,"enabled":"yes","tags":7},"status":{"startedAt":"yesterday"}}"#)
        #expect(printer.row(for: sparse, now: now).cells == ["w2", nil, nil, nil, .double(1.5), nil, "7", "<invalid>", nil])
    }

    @Test func defaultAgeColumnWhenTheVersionHasNone() {
        let printer = TablePrinter.customResource(definition: Self.crd, version: "v1beta1")
        #expect(printer.columnDefinitions.map(\.name) == ["Name", "Age"])
        #expect(printer.columnDefinitions.map(\.type) == ["string", "date"])
        let row = printer.row(for: json(#"{"metadata":{"name":"w","creationTimestamp":"\#(ago(7 * minute))"}}"#), now: now)
        #expect(row.cells == ["w", "7m"])
    }

    @Test func invalidPathEndsTheColumns() {
        let printer = TablePrinter.customResource(columns: [
            CustomResourceColumnDefinition(name: "A", type: "string", jsonPath: ".spec.a"),
            CustomResourceColumnDefinition(name: "B", type: "string", jsonPath: ".spec.b["),
            CustomResourceColumnDefinition(name: "C", type: "string", jsonPath: ".spec.c"),
        ])
        #expect(printer.columnDefinitions.map(\.name) == ["Name", "A"])
    }

    @Test func stringColumnRendersScalarsLikeGo() {
        let printer = TablePrinter.customResource(columns: [
            CustomResourceColumnDefinition(name: "N", type: "string", jsonPath: ".n"),
            CustomResourceColumnDefinition(name: "F", type: "string", jsonPath: ".f"),
            CustomResourceColumnDefinition(name: "B", type: "string", jsonPath: ".b"),
            CustomResourceColumnDefinition(name: "Z", type: "string", jsonPath: ".z"),
            CustomResourceColumnDefinition(name: "O", type: "string", jsonPath: ".o"),
            CustomResourceColumnDefinition(name: "I", type: "integer", jsonPath: ".f"),
        ])
        let row = printer.row(for: json(#"{"metadata":{"name":"x"},"n":42,"f":2.75,"b":false,"z":null,"o":{"k":"v"}}"#), now: now)
        #expect(row.cells == ["x", "42", "2.75", "false", "<no value>", #"{"k":"v"}"#, 2])
    }
}
