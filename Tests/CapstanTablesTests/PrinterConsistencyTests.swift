import CapstanAPI
import Testing
@testable import CapstanTables

/// Every printer yields one cell per column and never fails, whatever the object looks like.
@Suite("Printer consistency")
struct PrinterConsistencyTests {
    static let oddObjects: [String] = [
        "{}",
        "null",
        "[]",
        #""just a string""#,
        #"{"metadata":5,"spec":"x","status":[],"subsets":{},"webhooks":"w","data":[1,2]}"#,
        #"{"metadata":{"name":7,"creationTimestamp":"not a time","deletionTimestamp":"2024-01-01T00:00:00Z","labels":[]},"#
            + #""spec":{"replicas":"three","containers":{},"initContainers":[null,5],"selector":{"matchExpressions":[{}]},"ports":[{"port":"x"}]},"#
            + #""status":{"conditions":[null,{}],"containerStatuses":[null,{"state":{"waiting":null}}],"initContainerStatuses":[{"state":{"terminated":{}}}]}}"#,
    ]

    static var allResources: [(String, String)] {
        var keys = TablePrinter.builtIns.keys.map { ($0.group, $0.resource) }
        for r in APISchema.builtIn.resources { keys.append((r.group, r.plural)) }
        return keys
    }

    @Test func everyPrinterMatchesItsColumns() {
        for (group, resource) in Self.allResources {
            let printer = TablePrinter.forResource(group: group, resource: resource)
            #expect(!printer.columnDefinitions.isEmpty)
            for text in Self.oddObjects {
                let row = printer.row(for: json(text), now: now)
                #expect(row.cells.count == printer.columnDefinitions.count, "\(group)/\(resource) with \(text)")
            }
        }
    }

    @Test func everyPrinterHasOneNameColumnAndValidTypes() {
        let types: Set<String> = ["string", "integer", "number", "boolean", "date"]
        for (group, resource) in Self.allResources {
            let columns = TablePrinter.columns(group: group, resource: resource)
            #expect(columns.filter { $0.name == "Name" && $0.format == "name" }.count == 1, "\(group)/\(resource)")
            #expect(columns.allSatisfy { types.contains($0.type) && !$0.description.isEmpty }, "\(group)/\(resource)")
        }
    }

    @Test func everyServedBuiltInListedForKubectlHasAPrinter() {
        let expected = ["pods", "deployments", "replicasets", "statefulsets", "daemonsets", "services", "nodes", "namespaces",
                        "configmaps", "secrets", "serviceaccounts", "events", "endpoints", "endpointslices", "jobs", "cronjobs",
                        "persistentvolumes", "persistentvolumeclaims", "storageclasses", "ingresses", "ingressclasses",
                        "networkpolicies", "leases", "priorityclasses", "poddisruptionbudgets", "horizontalpodautoscalers",
                        "rolebindings", "clusterrolebindings", "resourcequotas", "controllerrevisions", "csidrivers", "csinodes",
                        "runtimeclasses", "certificatesigningrequests", "apiservices", "mutatingwebhookconfigurations",
                        "validatingwebhookconfigurations", "replicationcontrollers", "podtemplates"]
        let withPrinter = Set(TablePrinter.builtIns.keys.map(\.resource))
        for resource in expected {
            #expect(withPrinter.contains(resource), "\(resource)")
        }
        // Every key names a resource the schema serves.
        let served = Set(APISchema.builtIn.resources.map { "\($0.group)/\($0.plural)" })
        for key in TablePrinter.builtIns.keys {
            #expect(served.contains("\(key.group)/\(key.resource)"), "\(key.group)/\(key.resource)")
        }
    }
}
