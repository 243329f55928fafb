import CapstanAPI
import Testing
@testable import CapstanTables

@Suite("Core and cluster printers")
struct CorePrinterTests {
    struct ServiceCase: Sendable, CustomTestStringConvertible {
        var name: String
        var service: String
        var expected: [JSONValue]
        var testDescription: String { name }
    }

    static func service(_ spec: String, status: String = "{}") -> String {
        #"{"metadata":{"name":"svc","creationTimestamp":"\#(ago(hour))"},"spec":\#(spec),"status":\#(status)}"#
    }

    static let serviceCases: [ServiceCase] = [
        ServiceCase(name: "ClusterIP", service: service(#"""
            {"type":"ClusterIP","clusterIP":"10.96.0.10","clusterIPs":["10.96.0.10"],"selector":{"k8s-app":"kube-dns"},
             "ports":[{"name":"dns","port":53,"protocol":"UDP"},{"name":"dns-tcp","port":53,"protocol":"TCP"}]}
            """#), expected: ["svc", "ClusterIP", "10.96.0.10", "<none>", "53/UDP,53/TCP", "60m", "k8s-app=kube-dns"]),
        ServiceCase(name: "NodePort", service: service(#"""
            {"type":"NodePort","clusterIPs":["10.96.1.2"],"selector":{"tier":"fe","app":"web"},
             "ports":[{"port":80,"nodePort":30080,"protocol":"TCP"},{"port":443,"protocol":"TCP"}]}
            """#), expected: ["svc", "NodePort", "10.96.1.2", "<none>", "80:30080/TCP,443/TCP", "60m", "app=web,tier=fe"]),
        ServiceCase(name: "NodePort with external IPs", service: service(#"""
            {"type":"NodePort","clusterIP":"10.96.1.2","externalIPs":["1.2.3.4","5.6.7.8"],"ports":[{"port":80,"nodePort":30080}]}
            """#), expected: ["svc", "NodePort", "10.96.1.2", "1.2.3.4,5.6.7.8", "80:30080/TCP", "60m", "<none>"]),
        ServiceCase(name: "LoadBalancer pending", service: service(#"""
            {"type":"LoadBalancer","clusterIP":"10.96.3.3","ports":[{"port":80,"nodePort":31000,"protocol":"TCP"}]}
            """#), expected: ["svc", "LoadBalancer", "10.96.3.3", "<pending>", "80:31000/TCP", "60m", "<none>"]),
        ServiceCase(name: "LoadBalancer with ingress", service: service(#"""
            {"type":"LoadBalancer","clusterIP":"10.96.3.3","externalIPs":["9.9.9.9"],"ports":[{"port":80,"nodePort":31000}]}
            """#, status: #"{"loadBalancer":{"ingress":[{"ip":"203.0.113.9"},{"hostname":"lb.example.com"},{"ip":"203.0.113.9"}]}}"#),
            expected: ["svc", "LoadBalancer", "10.96.3.3", "203.0.113.9,lb.example.com,9.9.9.9", "80:31000/TCP", "60m", "<none>"]),
        ServiceCase(name: "ExternalName", service: service(#"{"type":"ExternalName","externalName":"db.example.com"}"#),
                    expected: ["svc", "ExternalName", "<none>", "db.example.com", "<none>", "60m", "<none>"]),
        ServiceCase(name: "headless", service: service(#"{"clusterIP":"None","clusterIPs":["None"],"ports":[{"port":5432}]}"#),
                    expected: ["svc", "ClusterIP", "None", "<none>", "5432/TCP", "60m", "<none>"]),
    ]

    @Test(arguments: serviceCases)
    func service(_ c: ServiceCase) {
        #expect(cells("", "services", c.service) == c.expected)
    }

    @Test func serviceColumns() {
        #expect(columnNames("", "services") == ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"])
        #expect(TablePrinter.columns(group: "", resource: "services").map(\.priority) == [0, 0, 0, 0, 0, 0, 1])
    }

    static func node(labels: String = "{}", unschedulable: Bool = false, conditions: String) -> String {
        #"""
        {"metadata":{"name":"n1","labels":\#(labels),"creationTimestamp":"\#(ago(20 * day))"},"spec":{"unschedulable":\#(unschedulable)},
         "status":{"conditions":\#(conditions),
                   "addresses":[{"type":"Hostname","address":"n1"},{"type":"InternalIP","address":"192.168.1.10"}],
                   "nodeInfo":{"kubeletVersion":"v1.33.1","osImage":"Debian GNU/Linux 12 (bookworm)","kernelVersion":"6.1.0-18-amd64",
                               "containerRuntimeVersion":"containerd://1.7.13"}}}
        """#
    }

    @Test func nodes() {
        #expect(columnNames("", "nodes") == ["Name", "Status", "Roles", "Age", "Version", "Internal-IP", "External-IP",
                                              "OS-Image", "Kernel-Version", "Container-Runtime"])
        let ready = #"[{"type":"MemoryPressure","status":"False"},{"type":"Ready","status":"True"}]"#
        let row = cells("", "nodes", Self.node(labels: #"{"node-role.kubernetes.io/control-plane":"","node-role.kubernetes.io/etcd":"true","kubernetes.io/role":"master"}"#, conditions: ready))
        #expect(row == ["n1", "Ready", "control-plane,etcd,master", "20d", "v1.33.1", "192.168.1.10", "<none>",
                        "Debian GNU/Linux 12 (bookworm)", "6.1.0-18-amd64", "containerd://1.7.13"])
        let cordoned = cells("", "nodes", Self.node(unschedulable: true, conditions: ready))
        #expect(Array(cordoned[1...2]) == ["Ready,SchedulingDisabled", "<none>"])
        let notReady = cells("", "nodes", Self.node(conditions: #"[{"type":"Ready","status":"Unknown"}]"#))
        #expect(notReady[1] == "NotReady")
        let unknown = cells("", "nodes", Self.node(unschedulable: true, conditions: "[]"))
        #expect(unknown[1] == "Unknown,SchedulingDisabled")
        let bare = cells("", "nodes", #"{"metadata":{"name":"n"}}"#)
        #expect(bare == ["n", "Unknown", "<none>", "<unknown>", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"])
    }

    @Test func namespacesConfigMapsSecretsServiceAccounts() {
        #expect(cells("", "namespaces", #"{"metadata":{"name":"default","creationTimestamp":"\#(ago(5))"},"status":{"phase":"Active"}}"#)
            == ["default", "Active", "5s"])
        #expect(cells("", "configmaps", #"{"metadata":{"name":"cm"},"data":{"a":"1","b":"2"},"binaryData":{"c":"AA=="}}"#)
            == ["cm", 3, "<unknown>"])
        #expect(cells("", "secrets", #"{"metadata":{"name":"s"},"type":"kubernetes.io/tls","data":{"tls.crt":"","tls.key":""}}"#)
            == ["s", "kubernetes.io/tls", 2, "<unknown>"])
        #expect(cells("", "serviceaccounts", #"{"metadata":{"name":"default"}}"#) == ["default", 0, "<unknown>"])
        #expect(columnNames("", "secrets") == ["Name", "Type", "Data", "Age"])
    }

    @Test func coreEvent() {
        #expect(columnNames("", "events") == ["Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message",
                                               "First Seen", "Count", "Name"])
        let row = cells("", "events", #"""
            {"apiVersion":"v1","kind":"Event","metadata":{"name":"web.17a","namespace":"default"},
             "involvedObject":{"kind":"Pod","name":"web","fieldPath":"spec.containers{app}"},
             "reason":"BackOff","message":"Back-off restarting failed container\n","type":"Warning",
             "source":{"component":"kubelet","host":"n1"},"firstTimestamp":"\#(ago(hour))","lastTimestamp":"\#(ago(30))","count":12}
            """#)
        #expect(row == ["30s", "Warning", "BackOff", "pod/web", "spec.containers{app}", "kubelet, n1",
                        "Back-off restarting failed container", "60m", 12, "web.17a"])
    }

    @Test func eventsAPIEventWithSeries() {
        let row = cells("events.k8s.io", "events", #"""
            {"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"e"},
             "regarding":{"kind":"Node","name":"n1"},"reason":"Starting","note":"Starting kubelet.","type":"Normal",
             "eventTime":"2024-05-01T11:50:00.123456Z","reportingController":"kubelet","reportingInstance":"n1",
             "series":{"count":4,"lastObservedTime":"2024-05-01T11:59:00.000000Z"}}
            """#)
        #expect(row == ["60s", "Normal", "Starting", "node/n1", "", "kubelet, n1", "Starting kubelet.", "9m59s", 4, "e"])
    }

    @Test func eventWithoutTimestamps() {
        let row = cells("", "events", #"{"metadata":{"name":"e"},"involvedObject":{"kind":"Namespace"}}"#)
        #expect(row == ["<unknown>", "", "", "namespace", "", "", "", "<unknown>", 1, "e"])
    }

    @Test func endpoints() {
        let row = cells("", "endpoints", #"""
            {"metadata":{"name":"web"},"subsets":[
              {"addresses":[{"ip":"10.0.0.1"},{"ip":"10.0.0.2"}],"ports":[{"port":80},{"port":443}]},
              {"addresses":[{"ip":"fd00::1"}],"ports":[{"port":8080}]}]}
            """#)
        #expect(row[1] == "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 2 more...")
        #expect(cells("", "endpoints", #"{"metadata":{"name":"e"}}"#)[1] == "<none>")
        #expect(cells("", "endpoints", #"{"metadata":{"name":"e"},"subsets":[{"addresses":[{"ip":"fd00::1"}],"ports":[{"port":80}]}]}"#)[1] == "[fd00::1]:80")
        #expect(cells("", "endpoints", #"{"metadata":{"name":"e"},"subsets":[{"addresses":[{"ip":"10.1.1.1"}]}]}"#)[1] == "10.1.1.1")
    }

    @Test func endpointSlices() {
        #expect(columnNames("discovery.k8s.io", "endpointslices") == ["Name", "AddressType", "Ports", "Endpoints", "Age"])
        let row = cells("discovery.k8s.io", "endpointslices", #"""
            {"metadata":{"name":"web-abc"},"addressType":"IPv4","ports":[{"name":"http","port":80},{"name":"named"},{}],
             "endpoints":[{"addresses":["10.0.0.1"]},{"addresses":["10.0.0.2","10.0.0.3","10.0.0.4"]}]}
            """#)
        #expect(row == ["web-abc", "IPv4", "80,named,*", "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...", "<unknown>"])
        #expect(cells("discovery.k8s.io", "endpointslices", #"{"metadata":{"name":"e"},"addressType":"IPv6"}"#)
            == ["e", "IPv6", "<unset>", "<unset>", "<unknown>"])
    }

    @Test func persistentVolumesAndClaims() {
        let pv = cells("", "persistentvolumes", #"""
            {"metadata":{"name":"pv1","creationTimestamp":"\#(ago(day))"},
             "spec":{"capacity":{"storage":"10Gi"},"accessModes":["ReadWriteMany","ReadWriteOnce"],"persistentVolumeReclaimPolicy":"Retain",
                     "claimRef":{"namespace":"default","name":"data"},"storageClassName":"standard","volumeMode":"Filesystem"},
             "status":{"phase":"Bound"}}
            """#)
        #expect(pv == ["pv1", "10Gi", "RWO,RWX", "Retain", "Bound", "default/data", "standard", "<unset>", "", "24h", "Filesystem"])
        let bound = cells("", "persistentvolumeclaims", #"""
            {"metadata":{"name":"data","creationTimestamp":"\#(ago(day))"},
             "spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}},"volumeName":"pv1","storageClassName":"standard"},
             "status":{"phase":"Bound","accessModes":["ReadWriteOnce"],"capacity":{"storage":"1024Mi"}}}
            """#)
        #expect(bound == ["data", "Bound", "pv1", "1Gi", "RWO", "standard", "<unset>", "24h", "<unset>"])
        let pending = cells("", "persistentvolumeclaims", #"""
            {"metadata":{"name":"d2","deletionTimestamp":"\#(ago(1))"},"spec":{"resources":{"requests":{"storage":"1Gi"}}},"status":{"phase":"Pending"}}
            """#)
        #expect(pending == ["d2", "Terminating", "", "", "", "", "<unset>", "<unknown>", "<unset>"])
    }

    @Test func storageClass() {
        let row = cells("storage.k8s.io", "storageclasses", #"""
            {"metadata":{"name":"standard","annotations":{"storageclass.kubernetes.io/is-default-class":"true"}},
             "provisioner":"rancher.io/local-path","volumeBindingMode":"WaitForFirstConsumer"}
            """#)
        #expect(row == ["standard (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", false, "<unknown>"])
    }

    @Test func resourceQuota() {
        let row = cells("", "resourcequotas", #"""
            {"metadata":{"name":"q"},"status":{"hard":{"pods":"10","requests.cpu":"2","limits.memory":"2Gi","limits.cpu":"4"},
                                                "used":{"pods":"3","requests.cpu":"500m","limits.memory":"512Mi"}}}
            """#)
        #expect(row == ["q", "pods: 3/10, requests.cpu: 500m/2", "limits.cpu: 0/4, limits.memory: 512Mi/2Gi", "<unknown>"])
    }

    @Test func rbacAndCoordination() {
        #expect(columnNames("rbac.authorization.k8s.io", "rolebindings") == ["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"])
        let binding = cells("rbac.authorization.k8s.io", "clusterrolebindings", #"""
            {"metadata":{"name":"b"},"roleRef":{"kind":"ClusterRole","name":"view"},
             "subjects":[{"kind":"User","name":"alice"},{"kind":"User","name":"bob"},{"kind":"Group","name":"devs"},
                         {"kind":"ServiceAccount","namespace":"ci","name":"runner"}]}
            """#)
        #expect(binding == ["b", "ClusterRole/view", "<unknown>", "alice, bob", "devs", "ci/runner"])
        #expect(cells("coordination.k8s.io", "leases", #"{"metadata":{"name":"n1"},"spec":{"holderIdentity":"n1"}}"#) == ["n1", "n1", "<unknown>"])
        #expect(cells("scheduling.k8s.io", "priorityclasses", #"{"metadata":{"name":"system-node-critical"},"value":2000001000,"preemptionPolicy":"PreemptLowerPriority"}"#)
            == ["system-node-critical", 2000001000, false, "<unknown>", "PreemptLowerPriority"])
    }

    @Test func ingress() {
        #expect(columnNames("networking.k8s.io", "ingresses") == ["Name", "Class", "Hosts", "Address", "Ports", "Age"])
        let row = cells("networking.k8s.io", "ingresses", #"""
            {"metadata":{"name":"web"},"spec":{"ingressClassName":"nginx","tls":[{"hosts":["a.example.com"]}],
              "rules":[{"host":"a.example.com"},{"host":"b.example.com"},{},{"host":"c.example.com"},{"host":"d.example.com"}]},
             "status":{"loadBalancer":{"ingress":[{"ip":"192.168.49.2"}]}}}
            """#)
        #expect(row == ["web", "nginx", "a.example.com,b.example.com,c.example.com + 2 more...", "192.168.49.2", "80, 443", "<unknown>"])
        #expect(cells("networking.k8s.io", "ingresses", #"{"metadata":{"name":"x"},"spec":{"rules":[{}]}}"#)
            == ["x", "<none>", "*", "", "80", "<unknown>"])
    }

    @Test func miscellaneous() {
        #expect(cells("networking.k8s.io", "networkpolicies", #"{"metadata":{"name":"deny"},"spec":{"podSelector":{}}}"#) == ["deny", "<none>", "<unknown>"])
        #expect(cells("admissionregistration.k8s.io", "validatingwebhookconfigurations", #"{"metadata":{"name":"w"},"webhooks":[{},{}]}"#) == ["w", 2, "<unknown>"])
        #expect(cells("certificates.k8s.io", "certificatesigningrequests", #"""
            {"metadata":{"name":"csr-1"},"spec":{"signerName":"kubernetes.io/kube-apiserver-client","username":"alice","expirationSeconds":86400},
             "status":{"conditions":[{"type":"Approved","status":"True"}],"certificate":"LS0t"}}
            """#) == ["csr-1", "<unknown>", "kubernetes.io/kube-apiserver-client", "alice", "24h", "Approved,Issued"])
        #expect(cells("apiregistration.k8s.io", "apiservices", #"""
            {"metadata":{"name":"v1beta1.metrics.k8s.io"},"spec":{"service":{"namespace":"kube-system","name":"metrics-server"}},
             "status":{"conditions":[{"type":"Available","status":"False","reason":"MissingEndpoints"}]}}
            """#) == ["v1beta1.metrics.k8s.io", "kube-system/metrics-server", "False (MissingEndpoints)", "<unknown>"])
        #expect(cells("apiregistration.k8s.io", "apiservices", #"{"metadata":{"name":"v1."},"status":{"conditions":[{"type":"Available","status":"True"}]}}"#)
            == ["v1.", "Local", "True", "<unknown>"])
        #expect(cells("storage.k8s.io", "csidrivers", #"{"metadata":{"name":"d"},"spec":{}}"#)
            == ["d", true, false, false, "<unset>", false, "<none>", "<unknown>"])
        #expect(cells("networking.k8s.io", "ipaddresses", #"{"metadata":{"name":"10.96.0.1"},"spec":{"parentRef":{"resource":"services","namespace":"default","name":"kubernetes"}}}"#)
            == ["10.96.0.1", "services/default/kubernetes"])
    }

    @Test func defaultTableForResourcesWithoutPrinter() {
        for (group, resource) in [("rbac.authorization.k8s.io", "roles"), ("rbac.authorization.k8s.io", "clusterroles"),
                                  ("", "limitranges"), ("apiextensions.k8s.io", "customresourcedefinitions"),
                                  ("example.com", "widgets")] {
            #expect(TablePrinter.builtIn(group: group, resource: resource) == nil)
            let columns = TablePrinter.columns(group: group, resource: resource)
            #expect(columns.map(\.name) == ["Name", "Created At"])
            #expect(columns.map(\.type) == ["string", "date"])
            #expect(columns[0].format == "name")
        }
        #expect(cells("rbac.authorization.k8s.io", "roles", #"{"metadata":{"name":"admin","creationTimestamp":"2024-04-30T10:00:00+02:00"}}"#)
            == ["admin", "2024-04-30T08:00:00Z"])
        #expect(cells("", "limitranges", #"{"metadata":{"name":"lr"}}"#) == ["lr", "0001-01-01T00:00:00Z"])
    }
}
