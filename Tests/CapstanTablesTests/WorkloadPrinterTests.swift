import CapstanAPI
import Testing
@testable import CapstanTables

@Suite("Workload printers")
struct WorkloadPrinterTests {
    static let template = #"{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"nginx","image":"nginx:1.25"},{"name":"sidecar","image":"busybox"}]}}"#

    @Test func deployment() {
        #expect(columnNames("apps", "deployments") == ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"])
        let row = cells("apps", "deployments", #"""
            {"metadata":{"name":"web","creationTimestamp":"\#(ago(3 * day + 4 * hour))"},
             "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web","tier":"fe"}},"template":\#(Self.template)},
             "status":{"replicas":3,"readyReplicas":2,"updatedReplicas":3,"availableReplicas":2}}
            """#)
        #expect(row == ["web", "2/3", 3, 2, "3d4h", "nginx,sidecar", "nginx:1.25,busybox", "app=web,tier=fe"])
    }

    @Test func deploymentWithoutStatus() {
        let row = cells("apps", "deployments", #"{"metadata":{"name":"new"},"spec":{"template":{}}}"#)
        #expect(row == ["new", "0/1", 0, 0, "<unknown>", "", "", ""])
    }

    @Test func selectorExpressions() {
        let row = cells("apps", "deployments", #"""
            {"metadata":{"name":"d"},"spec":{"replicas":0,"selector":{"matchLabels":{"b":"2"},
             "matchExpressions":[{"key":"env","operator":"In","values":["prod","dev"]},
                                 {"key":"a","operator":"Exists"},{"key":"gone","operator":"DoesNotExist"},
                                 {"key":"tier","operator":"NotIn","values":["db"]}]}}}
            """#)
        #expect(row[7] == "a,b=2,env in (dev,prod),!gone,tier notin (db)")
        let bad = cells("apps", "deployments", #"{"metadata":{"name":"d"},"spec":{"selector":{"matchExpressions":[{"key":"a","operator":"Near"}]}}}"#)
        #expect(bad[7] == "<invalid>")
    }

    @Test func replicaSetAndReplicationController() {
        #expect(columnNames("apps", "replicasets") == ["Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"])
        let rs = cells("apps", "replicasets", #"""
            {"metadata":{"name":"web-7d9f","creationTimestamp":"\#(ago(90))"},
             "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},"template":\#(Self.template)},
             "status":{"replicas":3,"readyReplicas":1}}
            """#)
        #expect(rs == ["web-7d9f", 3, 3, 1, "90s", "nginx,sidecar", "nginx:1.25,busybox", "app=web"])
        let empty = cells("apps", "replicasets", #"{"metadata":{"name":"x"},"spec":{"replicas":0}}"#)
        #expect(empty[7] == "<none>")
        let rc = cells("", "replicationcontrollers", #"""
            {"metadata":{"name":"rc"},"spec":{"replicas":2,"selector":{"app":"web"},"template":\#(Self.template)},"status":{"replicas":2,"readyReplicas":2}}
            """#)
        #expect(rc == ["rc", 2, 2, 2, "<unknown>", "nginx,sidecar", "nginx:1.25,busybox", "app=web"])
    }

    @Test func statefulSet() {
        #expect(columnNames("apps", "statefulsets") == ["Name", "Ready", "Age", "Containers", "Images"])
        let row = cells("apps", "statefulsets", #"""
            {"metadata":{"name":"db","creationTimestamp":"\#(ago(45 * day))"},"spec":{"replicas":3,"template":\#(Self.template)},"status":{"readyReplicas":3}}
            """#)
        #expect(row == ["db", "3/3", "45d", "nginx,sidecar", "nginx:1.25,busybox"])
    }

    @Test func daemonSet() {
        #expect(columnNames("apps", "daemonsets") == ["Name", "Desired", "Current", "Ready", "Up-to-date", "Available",
                                                       "Node Selector", "Age", "Containers", "Images", "Selector"])
        let row = cells("apps", "daemonsets", #"""
            {"metadata":{"name":"kube-proxy","creationTimestamp":"\#(ago(10 * day))"},
             "spec":{"selector":{"matchLabels":{"k8s-app":"kube-proxy"}},
                     "template":{"spec":{"nodeSelector":{"kubernetes.io/os":"linux"},"containers":[{"name":"kube-proxy","image":"registry.k8s.io/kube-proxy:v1.33.0"}]}}},
             "status":{"desiredNumberScheduled":3,"currentNumberScheduled":3,"numberReady":2,"updatedNumberScheduled":3,"numberAvailable":2}}
            """#)
        #expect(row == ["kube-proxy", 3, 3, 2, 3, 2, "kubernetes.io/os=linux", "10d", "kube-proxy",
                        "registry.k8s.io/kube-proxy:v1.33.0", "k8s-app=kube-proxy"])
        let noSelector = cells("apps", "daemonsets", #"{"metadata":{"name":"d"}}"#)
        #expect(noSelector[6] == "<none>")
    }

    struct JobCase: Sendable, CustomTestStringConvertible {
        var name: String
        var job: String
        var status: String
        var completions: String
        var duration: String
        var testDescription: String { name }
    }

    static func job(spec: String, status: String, deleted: Bool = false) -> String {
        let deletion = deleted ? #","deletionTimestamp":"\#(ago(1))""# : ""
        return #"{"metadata":{"name":"j","creationTimestamp":"\#(ago(hour))"\#(deletion)},"spec":\#(spec),"status":\#(status)}"#
    }

    static let jobCases: [JobCase] = [
        JobCase(name: "running", job: job(spec: #"{"completions":1,"parallelism":1}"#,
                                          status: #"{"startTime":"\#(ago(200))","active":1}"#),
                status: "Running", completions: "0/1", duration: "3m20s"),
        JobCase(name: "complete", job: job(spec: #"{"completions":3,"parallelism":1}"#, status: #"""
            {"startTime":"\#(ago(hour))","completionTime":"\#(ago(hour - 75))","succeeded":3,
             "conditions":[{"type":"SuccessCriteriaMet","status":"True"},{"type":"Complete","status":"True"}]}
            """#), status: "Complete", completions: "3/3", duration: "75s"),
        JobCase(name: "failed", job: job(spec: #"{"completions":1}"#, status: #"""
            {"startTime":"\#(ago(600))","conditions":[{"type":"FailureTarget","status":"True"},{"type":"Failed","status":"True"}]}
            """#), status: "Failed", completions: "0/1", duration: "10m"),
        JobCase(name: "failure target", job: job(spec: #"{"completions":1}"#, status: #"""
            {"startTime":"\#(ago(600))","conditions":[{"type":"FailureTarget","status":"True"}]}
            """#), status: "FailureTarget", completions: "0/1", duration: "10m"),
        JobCase(name: "suspended", job: job(spec: #"{"completions":1,"suspend":true}"#, status: #"""
            {"conditions":[{"type":"Suspended","status":"True"}]}
            """#), status: "Suspended", completions: "0/1", duration: ""),
        JobCase(name: "terminating", job: job(spec: #"{"completions":1}"#, status: #"{}"#, deleted: true),
                status: "Terminating", completions: "0/1", duration: ""),
        JobCase(name: "work queue", job: job(spec: #"{"parallelism":4}"#, status: #"{"succeeded":1}"#),
                status: "Running", completions: "1/1 of 4", duration: ""),
        JobCase(name: "no completions", job: job(spec: #"{}"#, status: #"{}"#),
                status: "Running", completions: "0/1", duration: ""),
    ]

    @Test(arguments: jobCases)
    func job(_ c: JobCase) {
        let row = cells("batch", "jobs", c.job)
        #expect(row.count == 8)
        #expect(Array(row[1...4]) == [.string(c.status), .string(c.completions), .string(c.duration), "60m"])
    }

    @Test func jobColumns() {
        #expect(columnNames("batch", "jobs") == ["Name", "Status", "Completions", "Duration", "Age", "Containers", "Images", "Selector"])
    }

    @Test func cronJob() {
        #expect(columnNames("batch", "cronjobs") == ["Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule",
                                                      "Age", "Containers", "Images", "Selector"])
        let row = cells("batch", "cronjobs", #"""
            {"metadata":{"name":"backup","creationTimestamp":"\#(ago(2 * day))"},
             "spec":{"schedule":"*/5 * * * *","suspend":false,"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"b","image":"busybox"}]}}}}},
             "status":{"active":[{"name":"backup-1"}],"lastScheduleTime":"\#(ago(4 * minute))"}}
            """#)
        #expect(row == ["backup", "*/5 * * * *", "<none>", "False", 1, "4m", "2d", "b", "busybox", "<none>"])
        let bare = cells("batch", "cronjobs", #"{"metadata":{"name":"c"},"spec":{"schedule":"@daily","timeZone":"Etc/UTC"}}"#)
        #expect(Array(bare[1...5]) == ["@daily", "Etc/UTC", "<unset>", 0, "<none>"])
    }

    @Test func horizontalPodAutoscalerV2() {
        #expect(columnNames("autoscaling", "horizontalpodautoscalers") == ["Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"])
        let row = cells("autoscaling", "horizontalpodautoscalers", #"""
            {"metadata":{"name":"web"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"web"},"minReplicas":2,"maxReplicas":10,
              "metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":80}}},
                         {"type":"Resource","resource":{"name":"memory","target":{"type":"AverageValue","averageValue":"512Mi"}}},
                         {"type":"Pods","pods":{"metric":{"name":"qps"},"target":{"type":"AverageValue","averageValue":"1k"}}}]},
             "status":{"currentReplicas":3,"currentMetrics":[{"type":"Resource","resource":{"name":"cpu","current":{"averageUtilization":45}}}]}}
            """#)
        #expect(row == ["web", "Deployment/web", "cpu: 45%/80%, memory: <unknown>/512Mi + 1 more...", "2", 10, 3, "<unknown>"])
    }

    @Test func horizontalPodAutoscalerV1() {
        let row = cells("autoscaling", "horizontalpodautoscalers", #"""
            {"apiVersion":"autoscaling/v1","metadata":{"name":"web"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"web"},
             "maxReplicas":5,"targetCPUUtilizationPercentage":50},"status":{"currentReplicas":1,"currentCPUUtilizationPercentage":12}}
            """#)
        #expect(Array(row[1...5]) == ["Deployment/web", "cpu: 12%/50%", "<unset>", 5, 1])
        let none = cells("autoscaling", "horizontalpodautoscalers", #"{"metadata":{"name":"x"},"spec":{"maxReplicas":1}}"#)
        #expect(none[2] == "<none>")
    }

    @Test func podDisruptionBudget() {
        #expect(columnNames("policy", "poddisruptionbudgets") == ["Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"])
        #expect(cells("policy", "poddisruptionbudgets", #"{"metadata":{"name":"a"},"spec":{"minAvailable":2},"status":{"disruptionsAllowed":1}}"#)
            == ["a", "2", "N/A", 1, "<unknown>"])
        #expect(cells("policy", "poddisruptionbudgets", #"{"metadata":{"name":"b"},"spec":{"maxUnavailable":"25%"}}"#)
            == ["b", "N/A", "25%", 0, "<unknown>"])
    }

    @Test func controllerRevision() {
        let row = cells("apps", "controllerrevisions", #"""
            {"metadata":{"name":"fluentd-5d4b","creationTimestamp":"\#(ago(300))",
              "ownerReferences":[{"apiVersion":"apps/v1","kind":"DaemonSet","name":"fluentd","controller":true}]},"revision":2}
            """#)
        #expect(row == ["fluentd-5d4b", "daemonset.apps/fluentd", 2, "5m"])
        #expect(cells("apps", "controllerrevisions", #"{"metadata":{"name":"x"}}"#) == ["x", "<none>", 0, "<unknown>"])
    }

    @Test func podTemplate() {
        #expect(columnNames("", "podtemplates") == ["Name", "Containers", "Images", "Pod Labels"])
        #expect(cells("", "podtemplates", #"{"metadata":{"name":"t"},"template":\#(Self.template)}"#)
            == ["t", "nginx,sidecar", "nginx:1.25,busybox", "app=web"])
    }
}
