import CapstanAPI
import Testing
@testable import CapstanTables

@Suite("Pod printer")
struct PodPrinterTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var pod: String
        var ready: String
        var status: String
        var restarts: String
        var testDescription: String { name }
    }

    static func pod(spec: String = #"{"containers":[{"name":"app","image":"nginx"}]}"#, status: String, deleted: Bool = false) -> String {
        let deletion = deleted ? #","deletionTimestamp":"\#(ago(5))""# : ""
        return #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"default","creationTimestamp":"\#(ago(10 * minute))"\#(deletion)},"spec":\#(spec),"status":\#(status)}"#
    }

    static let twoContainers = #"{"containers":[{"name":"a","image":"a"},{"name":"b","image":"b"}]}"#
    static let twoInits = #"{"initContainers":[{"name":"i1","image":"busybox"},{"name":"i2","image":"busybox"}],"containers":[{"name":"app","image":"nginx"}]}"#

    static let cases: [Case] = [
        Case(name: "running 2/2", pod: pod(spec: twoContainers, status: #"""
            {"phase":"Running","conditions":[{"type":"Ready","status":"True"}],"containerStatuses":[
              {"name":"a","ready":true,"restartCount":0,"state":{"running":{"startedAt":"\#(ago(600))"}}},
              {"name":"b","ready":true,"restartCount":0,"state":{"running":{"startedAt":"\#(ago(600))"}}}]}
            """#), ready: "2/2", status: "Running", restarts: "0"),
        Case(name: "running 1/2", pod: pod(spec: twoContainers, status: #"""
            {"phase":"Running","containerStatuses":[
              {"name":"a","ready":true,"restartCount":0,"state":{"running":{}}},
              {"name":"b","ready":false,"restartCount":0,"state":{"running":{}}}]}
            """#), ready: "1/2", status: "Running", restarts: "0"),
        Case(name: "CrashLoopBackOff with restarts", pod: pod(status: #"""
            {"phase":"Running","containerStatuses":[{"name":"app","ready":false,"restartCount":5,
              "state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 5m0s"}},
              "lastState":{"terminated":{"exitCode":1,"reason":"Error","finishedAt":"\#(ago(2 * minute))"}}}]}
            """#), ready: "0/1", status: "CrashLoopBackOff", restarts: "5 (2m ago)"),
        Case(name: "restarted then running", pod: pod(status: #"""
            {"phase":"Running","containerStatuses":[{"name":"app","ready":true,"restartCount":3,
              "state":{"running":{}},"lastState":{"terminated":{"exitCode":137,"reason":"OOMKilled","finishedAt":"\#(ago(5 * minute))"}}}]}
            """#), ready: "1/1", status: "Running", restarts: "3 (5m ago)"),
        Case(name: "Completed", pod: pod(status: #"""
            {"phase":"Succeeded","containerStatuses":[{"name":"app","ready":false,"restartCount":0,
              "state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]}
            """#), ready: "0/1", status: "Completed", restarts: "0"),
        Case(name: "Error", pod: pod(status: #"""
            {"phase":"Failed","containerStatuses":[{"name":"app","ready":false,"restartCount":0,
              "state":{"terminated":{"exitCode":1,"reason":"Error"}}}]}
            """#), ready: "0/1", status: "Error", restarts: "0"),
        Case(name: "OOMKilled", pod: pod(status: #"""
            {"phase":"Running","containerStatuses":[{"name":"app","ready":false,"restartCount":0,
              "state":{"terminated":{"exitCode":137,"reason":"OOMKilled"}}}]}
            """#), ready: "0/1", status: "OOMKilled", restarts: "0"),
        Case(name: "exit code without reason", pod: pod(status: #"""
            {"phase":"Running","containerStatuses":[{"name":"app","state":{"terminated":{"exitCode":2}}}]}
            """#), ready: "0/1", status: "ExitCode:2", restarts: "0"),
        Case(name: "signal without reason", pod: pod(status: #"""
            {"phase":"Running","containerStatuses":[{"name":"app","state":{"terminated":{"exitCode":137,"signal":9}}}]}
            """#), ready: "0/1", status: "Signal:9", restarts: "0"),
        Case(name: "Pending", pod: pod(status: #"{"phase":"Pending"}"#), ready: "0/1", status: "Pending", restarts: "0"),
        Case(name: "ContainerCreating", pod: pod(status: #"""
            {"phase":"Pending","containerStatuses":[{"name":"app","ready":false,"restartCount":0,
              "state":{"waiting":{"reason":"ContainerCreating"}}}]}
            """#), ready: "0/1", status: "ContainerCreating", restarts: "0"),
        Case(name: "ImagePullBackOff", pod: pod(status: #"""
            {"phase":"Pending","containerStatuses":[{"name":"app","state":{"waiting":{"reason":"ImagePullBackOff"}}}]}
            """#), ready: "0/1", status: "ImagePullBackOff", restarts: "0"),
        Case(name: "Init:0/2", pod: pod(spec: twoInits, status: #"""
            {"phase":"Pending","initContainerStatuses":[
              {"name":"i1","ready":false,"restartCount":0,"state":{"running":{}}},
              {"name":"i2","ready":false,"restartCount":0,"state":{"waiting":{"reason":"PodInitializing"}}}],
             "containerStatuses":[{"name":"app","state":{"waiting":{"reason":"PodInitializing"}}}]}
            """#), ready: "0/1", status: "Init:0/2", restarts: "0"),
        Case(name: "Init:1/2", pod: pod(spec: twoInits, status: #"""
            {"phase":"Pending","initContainerStatuses":[
              {"name":"i1","state":{"terminated":{"exitCode":0,"reason":"Completed"}}},
              {"name":"i2","state":{"running":{}}}],
             "containerStatuses":[{"name":"app","state":{"waiting":{"reason":"PodInitializing"}}}]}
            """#), ready: "0/1", status: "Init:1/2", restarts: "0"),
        Case(name: "Init:CrashLoopBackOff counts init restarts", pod: pod(spec: twoInits, status: #"""
            {"phase":"Pending","initContainerStatuses":[
              {"name":"i1","restartCount":4,"state":{"waiting":{"reason":"CrashLoopBackOff"}},
               "lastState":{"terminated":{"exitCode":1,"finishedAt":"\#(ago(30))"}}},
              {"name":"i2","state":{"waiting":{"reason":"PodInitializing"}}}],
             "containerStatuses":[{"name":"app","state":{"waiting":{"reason":"PodInitializing"}}}]}
            """#), ready: "0/1", status: "Init:CrashLoopBackOff", restarts: "4 (30s ago)"),
        Case(name: "Init:Error", pod: pod(spec: twoInits, status: #"""
            {"phase":"Failed","initContainerStatuses":[{"name":"i1","state":{"terminated":{"exitCode":1,"reason":"Error"}}}]}
            """#), ready: "0/1", status: "Init:Error", restarts: "0"),
        Case(name: "Init:ExitCode", pod: pod(spec: twoInits, status: #"""
            {"phase":"Pending","initContainerStatuses":[{"name":"i1","state":{"terminated":{"exitCode":3}}}]}
            """#), ready: "0/1", status: "Init:ExitCode:3", restarts: "0"),
        Case(name: "PodInitializing after inits", pod: pod(spec: twoInits, status: #"""
            {"phase":"Pending","conditions":[{"type":"Initialized","status":"True"}],"initContainerStatuses":[
              {"name":"i1","state":{"terminated":{"exitCode":0,"reason":"Completed"}}},
              {"name":"i2","state":{"terminated":{"exitCode":0,"reason":"Completed"}}}],
             "containerStatuses":[{"name":"app","state":{"waiting":{"reason":"PodInitializing"}}}]}
            """#), ready: "0/1", status: "PodInitializing", restarts: "0"),
        Case(name: "Terminating", pod: pod(status: #"""
            {"phase":"Running","containerStatuses":[{"name":"app","ready":true,"state":{"running":{}}}]}
            """#, deleted: true), ready: "1/1", status: "Terminating", restarts: "0"),
        Case(name: "deleted but succeeded stays Completed", pod: pod(status: #"""
            {"phase":"Succeeded","containerStatuses":[{"name":"app","state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]}
            """#, deleted: true), ready: "0/1", status: "Completed", restarts: "0"),
        Case(name: "NodeLost", pod: pod(status: #"""
            {"phase":"Running","reason":"NodeLost","containerStatuses":[{"name":"app","ready":true,"state":{"running":{}}}]}
            """#), ready: "1/1", status: "NodeLost", restarts: "0"),
        Case(name: "NodeLost and deleted is Unknown", pod: pod(status: #"""
            {"phase":"Running","reason":"NodeLost","containerStatuses":[{"name":"app","ready":true,"state":{"running":{}}}]}
            """#, deleted: true), ready: "1/1", status: "Unknown", restarts: "0"),
        Case(name: "Evicted", pod: pod(status: #"{"phase":"Failed","reason":"Evicted","message":"low on memory"}"#),
             ready: "0/1", status: "Evicted", restarts: "0"),
        Case(name: "SchedulingGated", pod: pod(status: #"""
            {"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"SchedulingGated"}]}
            """#), ready: "0/1", status: "SchedulingGated", restarts: "0"),
        Case(name: "completed container next to a running one, pod ready", pod: pod(spec: twoContainers, status: #"""
            {"phase":"Running","conditions":[{"type":"Ready","status":"True"}],"containerStatuses":[
              {"name":"a","state":{"terminated":{"exitCode":0,"reason":"Completed"}}},
              {"name":"b","ready":true,"state":{"running":{}}}]}
            """#), ready: "1/2", status: "Running", restarts: "0"),
        Case(name: "completed container next to a running one, pod not ready", pod: pod(spec: twoContainers, status: #"""
            {"phase":"Running","containerStatuses":[
              {"name":"a","state":{"terminated":{"exitCode":0,"reason":"Completed"}}},
              {"name":"b","ready":true,"state":{"running":{}}}]}
            """#), ready: "1/2", status: "NotReady", restarts: "0"),
        Case(name: "sidecar init container counts as a container", pod: pod(
            spec: #"{"initContainers":[{"name":"proxy","image":"envoy","restartPolicy":"Always"}],"containers":[{"name":"app","image":"nginx"}]}"#,
            status: #"""
            {"phase":"Running","conditions":[{"type":"Initialized","status":"True"},{"type":"Ready","status":"True"}],
             "initContainerStatuses":[{"name":"proxy","ready":true,"started":true,"restartCount":1,"state":{"running":{}},
               "lastState":{"terminated":{"exitCode":1,"finishedAt":"\#(ago(hour))"}}}],
             "containerStatuses":[{"name":"app","ready":true,"state":{"running":{}}}]}
            """#), ready: "2/2", status: "Running", restarts: "1 (60m ago)"),
        Case(name: "no status at all", pod: #"{"metadata":{"name":"p"}}"#, ready: "0/0", status: "", restarts: "0"),
    ]

    @Test(arguments: cases)
    func status(_ c: Case) {
        let row = cells("", "pods", c.pod)
        #expect(row.count == 9)
        #expect(row[0] == "p")
        #expect(row[1] == .string(c.ready))
        #expect(row[2] == .string(c.status))
        #expect(row[3] == .string(c.restarts))
    }

    @Test func columns() {
        #expect(columnNames("", "pods") == ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"])
        let defs = TablePrinter.columns(group: "", resource: "pods")
        #expect(defs.map(\.priority) == [0, 0, 0, 0, 0, 1, 1, 1, 1])
        #expect(defs[0].format == "name")
        #expect(defs.allSatisfy { $0.type == "string" })
    }

    @Test func wideCells() {
        let row = cells("", "pods", #"""
            {"metadata":{"name":"web-1","creationTimestamp":"\#(ago(3 * day + 4 * hour))"},
             "spec":{"nodeName":"node-a","containers":[{"name":"app"}],
                     "readinessGates":[{"conditionType":"example.com/lb"},{"conditionType":"example.com/dns"}]},
             "status":{"phase":"Running","podIP":"10.244.0.7","podIPs":[{"ip":"10.244.0.7"},{"ip":"fd00::7"}],
                       "nominatedNodeName":"node-b",
                       "conditions":[{"type":"example.com/lb","status":"True"},{"type":"example.com/dns","status":"False"}],
                       "containerStatuses":[{"name":"app","ready":true,"state":{"running":{}}}]}}
            """#)
        #expect(row == ["web-1", "1/1", "Running", "0", "3d4h", "10.244.0.7", "node-a", "node-b", "1/2"].map(JSONValue.string))
    }

    @Test func wideCellsDefaultToNone() {
        let row = cells("", "pods", Self.pod(status: #"{"phase":"Pending"}"#))
        #expect(Array(row[4...]) == ["10m", "<none>", "<none>", "<none>", "<none>"].map(JSONValue.string))
    }

    @Test func finishedPodsCarryACompletedRowCondition() {
        let printer = TablePrinter.forResource(group: "", resource: "pods")
        let succeeded = printer.row(for: json(Self.pod(status: #"{"phase":"Succeeded"}"#)), now: now)
        #expect(succeeded.conditions == [TableRowCondition(type: "Completed", status: "True", reason: "Succeeded",
                                                           message: "The pod has completed successfully.")])
        let failed = printer.row(for: json(Self.pod(status: #"{"phase":"Failed"}"#)), now: now)
        #expect(failed.conditions.map(\.reason) == ["Failed"])
        let running = printer.row(for: json(Self.pod(status: #"{"phase":"Running"}"#)), now: now)
        #expect(running.conditions.isEmpty)
    }
}
