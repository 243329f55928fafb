import CapstanAPI
import CapstanAPIMachinery
import Testing

@Suite("Field selectors")
struct FieldSelectorTests {
    static let canonical: [(String, String)] = [
        ("", ""),
        (",", ""),
        ("metadata.name=x", "metadata.name=x"),
        ("metadata.name==x", "metadata.name=x"),
        ("status.phase!=Running", "status.phase!=Running"),
        ("status.phase!=Running,metadata.name=x", "metadata.name=x,status.phase!=Running"),
        ("b=1,a=2", "a=2,b=1"),
        (",a=b,", "a=b"),
        ("a=", "a="),
        ("a!=", "a!="),
        ("a=b\\,c", "a=b\\,c"),
        ("a=b\\=c", "a=b\\=c"),
        ("a=b\\\\c", "a=b\\\\c"),
        ("a!b=c", "a!b=c"),
        ("a\\,b=c", "a\\,b=c"),
        ("spec.nodeName=node-1,metadata.namespace=default", "metadata.namespace=default,spec.nodeName=node-1"),
        ("x=é😀", "x=é😀"),
    ]

    @Test(arguments: canonical)
    func parsesToCanonicalForm(input: String, expected: String) throws {
        let s = try FieldSelector(parsing: input)
        #expect(s.description == expected)
        #expect(try FieldSelector(parsing: s.description) == s)
    }

    @Test func unescapesValues() throws {
        let s = try FieldSelector(parsing: #"a=b\,c,d=e\=f,g=h\\i,j!=k"#)
        #expect(s.requirements.map(\.field) == ["a", "d", "g", "j"])
        #expect(s.requirements.map(\.value) == ["b,c", "e=f", #"h\i"#, "k"])
        #expect(s.requirements.map(\.equals) == [true, true, true, false])
        #expect(FieldSelector.escapeValue(#"a,b=c\d"#) == #"a\,b\=c\\d"#)
        #expect(try FieldSelector.unescapeValue(FieldSelector.escapeValue(#"\,=\\"#)) == #"\,=\\"#)
    }

    @Test func keepsSpacesAsWritten() throws {
        let s = try FieldSelector(parsing: "a = b")
        #expect(s.requirements == [.init(field: "a ", equals: true, value: " b")])
    }

    static let errors: [(String, String)] = [
        ("a", "invalid selector: 'a'; can't understand 'a'"),
        ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
        ("a<b", "invalid selector: 'a<b'; can't understand 'a<b'"),
        ("a=b=c", "invalid field selector: unescaped character in value: 61"),
        ("a==b,c", "invalid selector: 'a==b,c'; can't understand 'c'"),
        ("a=b\\,c,d=x,y", "invalid selector: 'a=b\\,c,d=x,y'; can't understand 'y'"),
        ("a=b\\x", "invalid field selector: invalid escape sequence: \\x"),
        ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
        ("a=x,b=c=d", "invalid field selector: unescaped character in value: 61"),
    ]

    @Test(arguments: errors)
    func reportsParseErrors(input: String, message: String) {
        #expect(throws: SelectorError(message)) { try FieldSelector(parsing: input) }
    }

    @Test func matchesFieldSets() throws {
        let fields = ["metadata.name": "x", "status.phase": "Running"]
        #expect(try FieldSelector(parsing: "metadata.name=x").matches(fields))
        #expect(try !FieldSelector(parsing: "metadata.name=y").matches(fields))
        #expect(try FieldSelector(parsing: "status.phase!=Pending,metadata.name=x").matches(fields))
        #expect(try !FieldSelector(parsing: "status.phase!=Running").matches(fields))
        // A missing field reads as the empty string.
        #expect(try FieldSelector(parsing: "spec.nodeName=").matches(fields))
        #expect(try !FieldSelector(parsing: "spec.nodeName!=").matches(fields))
        #expect(FieldSelector.everything.matches([:]))
        #expect(try FieldSelector(parsing: "a=1").matches(lookup: { $0 == "a" ? "1" : nil }))
    }

    @Test func requiresExactMatch() throws {
        let s = try FieldSelector(parsing: "spec.nodeName=n1,status.phase!=Failed")
        #expect(s.requiresExactMatch("spec.nodeName") == "n1")
        #expect(s.requiresExactMatch("status.phase") == nil)
        #expect(s.requiresExactMatch("metadata.name") == nil)
    }

    // MARK: Per-resource fields

    static let pod = json("""
    {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","namespace":"prod"},
     "spec":{"nodeName":"node-a","restartPolicy":"Always","schedulerName":"default-scheduler","serviceAccountName":"default","hostNetwork":true},
     "status":{"phase":"Running","podIP":"10.0.0.9","podIPs":[{"ip":"10.0.0.7"},{"ip":"fd00::7"}],"nominatedNodeName":"node-b"}}
    """)

    @Test func podFields() {
        let fields = selectableFields(group: "", resource: "pods", object: Self.pod)
        #expect(fields == [
            "metadata.name": "web-1",
            "metadata.namespace": "prod",
            "spec.nodeName": "node-a",
            "spec.restartPolicy": "Always",
            "spec.schedulerName": "default-scheduler",
            "spec.serviceAccountName": "default",
            "spec.hostNetwork": "true",
            "status.phase": "Running",
            "status.podIP": "10.0.0.7",
            "status.nominatedNodeName": "node-b",
        ])
        let bare = selectableFields(group: "", resource: "pods", object: json(#"{"metadata":{"name":"p"},"status":{"podIP":"1.2.3.4"}}"#))
        #expect(bare["spec.hostNetwork"] == "false")
        #expect(bare["spec.nodeName"] == "")
        #expect(bare["status.podIP"] == "1.2.3.4")
    }

    @Test func podMatcher() throws {
        let pods = SelectableFields.forResource(GroupResource(resource: "pods"))
        #expect(try pods.matcher(for: FieldSelector(parsing: "spec.nodeName=node-a,status.phase!=Failed")).matches(Self.pod))
        #expect(try !pods.matcher(for: FieldSelector(parsing: "spec.nodeName=node-b")).matches(Self.pod))
        #expect(try pods.matcher(for: FieldSelector(parsing: "spec.hostNetwork=true")).matches(Self.pod))
        #expect(try pods.matcher(for: FieldSelector(parsing: "status.podIP=10.0.0.7")).matches(Self.pod))
        #expect(try pods.matcher(for: FieldSelector(parsing: "metadata.namespace=prod,metadata.name=web-1")).matches(Self.pod))
        // The legacy label is converted.
        let legacy = try pods.matcher(for: FieldSelector(parsing: "spec.host=node-a"))
        #expect(legacy.selector.description == "spec.nodeName=node-a")
        #expect(legacy.matches(Self.pod))
        // status.podIPs is accepted but never filled: it always reads "".
        #expect(try pods.matcher(for: FieldSelector(parsing: "status.podIPs=")).matches(Self.pod))
        #expect(try !pods.matcher(for: FieldSelector(parsing: "status.podIPs=10.0.0.7")).matches(Self.pod))
        #expect(try pods.matcher(for: .everything).matches(.null))
    }

    static let unsupported: [(String, String, String, String)] = [
        ("", "pods", "foo=bar", "field label not supported: foo"),
        ("", "pods", "metadata.labels=x", "field label not supported: metadata.labels"),
        ("", "nodes", "metadata.namespace=x", "field label not supported: metadata.namespace"),
        ("", "namespaces", "metadata.namespace=", "field label not supported: metadata.namespace"),
        ("", "secrets", "data=x", "field label not supported: data"),
        ("", "services", "spec.ports=1", "field label not supported: spec.ports"),
        ("", "events", "regarding.kind=Pod", "field label not supported: regarding.kind"),
        ("events.k8s.io", "events", "involvedObject.kind=Pod", "field label not supported: involvedObject.kind"),
        ("apps", "replicasets", "status.replicas=0", "\"status.replicas\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""),
        ("apps", "deployments", "spec.replicas=1", "\"spec.replicas\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""),
        ("", "configmaps", "data.x=1", "\"data.x\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""),
        ("batch", "jobs", "status.active=1", "field label \"status.active\" not supported for Job"),
        ("certificates.k8s.io", "certificatesigningrequests", "spec.username=a", "field label not supported: spec.username"),
    ]

    @Test(arguments: unsupported)
    func refusesUnsupportedLabels(group: String, resource: String, selector: String, message: String) throws {
        let fields = SelectableFields.forResource(GroupResource(group: group, resource: resource))
        let s = try FieldSelector(parsing: selector)
        #expect(throws: SelectorError(message)) { try fields.matcher(for: s) }
        do {
            _ = try fields.convert(s)
        } catch {
            #expect(error.apiError.code == 400)
            #expect(error.apiError.statusJSON()["message"] == .string(message))
        }
    }

    static let supported: [(String, String, [String])] = [
        ("", "pods", ["metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                      "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs",
                      "status.nominatedNodeName", "spec.host"]),
        ("", "nodes", ["metadata.name", "spec.unschedulable"]),
        ("", "namespaces", ["status.phase", "metadata.name"]),
        ("", "secrets", ["type", "metadata.namespace", "metadata.name"]),
        ("", "services", ["metadata.namespace", "metadata.name", "spec.clusterIP", "spec.type"]),
        ("", "replicationcontrollers", ["metadata.name", "metadata.namespace", "status.replicas"]),
        ("", "events", ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                        "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                        "reason", "reportingComponent", "source", "type", "metadata.namespace", "metadata.name"]),
        ("batch", "jobs", ["metadata.name", "metadata.namespace", "status.successful"]),
        ("certificates.k8s.io", "certificatesigningrequests", ["metadata.name", "spec.signerName"]),
        ("apps", "deployments", ["metadata.name", "metadata.namespace"]),
    ]

    @Test(arguments: supported)
    func listsSupportedLabels(group: String, resource: String, labels: [String]) throws {
        let fields = SelectableFields.forResource(GroupResource(group: group, resource: resource))
        #expect(fields.supportedLabels == labels)
        for label in labels {
            _ = try fields.matcher(for: FieldSelector(parsing: "\(label)=x"))
        }
    }

    @Test func otherKindsFields() {
        let node = json(#"{"metadata":{"name":"n1"},"spec":{"unschedulable":true}}"#)
        #expect(selectableFields(group: "", resource: "nodes", object: node) == ["metadata.name": "n1", "spec.unschedulable": "true"])
        #expect(selectableFields(group: "", resource: "nodes", object: json(#"{"metadata":{"name":"n2"}}"#))["spec.unschedulable"] == "false")

        let ns = json(#"{"metadata":{"name":"kube-system"},"status":{"phase":"Active"}}"#)
        #expect(selectableFields(group: "", resource: "namespaces", object: ns) == ["metadata.name": "kube-system", "status.phase": "Active", "name": "kube-system"])

        let secret = json(#"{"metadata":{"name":"s","namespace":"d"},"type":"kubernetes.io/tls"}"#)
        #expect(selectableFields(group: "", resource: "secrets", object: secret)["type"] == "kubernetes.io/tls")

        let svc = json(#"{"metadata":{"name":"s","namespace":"d"},"spec":{"clusterIP":"10.96.0.1","type":"ClusterIP"}}"#)
        #expect(selectableFields(group: "", resource: "services", object: svc)["spec.clusterIP"] == "10.96.0.1")
        #expect(selectableFields(group: "", resource: "services", object: svc)["spec.type"] == "ClusterIP")

        let rc = json(#"{"metadata":{"name":"r","namespace":"d"},"status":{"replicas":3}}"#)
        #expect(selectableFields(group: "", resource: "replicationcontrollers", object: rc)["status.replicas"] == "3")
        let rs = json(#"{"metadata":{"name":"r","namespace":"d"}}"#)
        #expect(selectableFields(group: "apps", resource: "replicasets", object: rs)["status.replicas"] == "0")

        let job = json(#"{"metadata":{"name":"j","namespace":"d"},"status":{"succeeded":2}}"#)
        #expect(selectableFields(group: "batch", resource: "jobs", object: job)["status.successful"] == "2")

        let csr = json(#"{"metadata":{"name":"c"},"spec":{"signerName":"kubernetes.io/kubelet-serving"}}"#)
        #expect(selectableFields(group: "certificates.k8s.io", resource: "certificatesigningrequests", object: csr)
            == ["metadata.name": "c", "spec.signerName": "kubernetes.io/kubelet-serving"])

        let cm = json(#"{"metadata":{"name":"c","namespace":"d"}}"#)
        #expect(selectableFields(group: "", resource: "configmaps", object: cm) == ["metadata.name": "c", "metadata.namespace": "d"])
        #expect(selectableFields(group: "rbac.authorization.k8s.io", resource: "clusterroles", namespaced: false, object: cm) == ["metadata.name": "c"])
    }

    @Test func coreEvents() throws {
        let event = json("""
        {"metadata":{"name":"e1","namespace":"d"},"involvedObject":{"kind":"Pod","namespace":"d","name":"web-1","uid":"u1",
         "apiVersion":"v1","resourceVersion":"42","fieldPath":"spec.containers{app}"},"reason":"Pulled","type":"Normal",
         "reportingComponent":"kubelet","source":{"component":""}}
        """)
        let fields = selectableFields(group: "", resource: "events", object: event)
        #expect(fields["involvedObject.kind"] == "Pod")
        #expect(fields["involvedObject.name"] == "web-1")
        #expect(fields["involvedObject.uid"] == "u1")
        #expect(fields["involvedObject.resourceVersion"] == "42")
        #expect(fields["involvedObject.fieldPath"] == "spec.containers{app}")
        #expect(fields["reason"] == "Pulled")
        #expect(fields["type"] == "Normal")
        #expect(fields["reportingComponent"] == "kubelet")
        // The source falls back to the reporting component when the source component is empty.
        #expect(fields["source"] == "kubelet")
        let events = SelectableFields.forResource(GroupResource(resource: "events"))
        let m = try events.matcher(for: FieldSelector(parsing: "involvedObject.kind=Pod,involvedObject.name=web-1,type!=Warning"))
        #expect(m.matches(event))
    }

    @Test func eventsAPIGroupConvertsItsLabels() throws {
        let event = json("""
        {"metadata":{"name":"e1","namespace":"d"},"regarding":{"kind":"Node","name":"n1"},"reason":"Rebooted",
         "reportingController":"kubelet","type":"Warning"}
        """)
        let events = SelectableFields.forResource(GroupResource(group: "events.k8s.io", resource: "events"))
        let m = try events.matcher(for: FieldSelector(parsing: "regarding.kind=Node,reportingController=kubelet,source=kubelet"))
        #expect(m.selector.description == "involvedObject.kind=Node,reportingComponent=kubelet,source=kubelet")
        #expect(m.matches(event))
        #expect(events.fields(of: event)["involvedObject.name"] == "n1")
    }

    @Test func customResourceSelectableFields() throws {
        let widgets = SelectableFields.custom(GroupResource(group: "example.com", resource: "widgets"), namespaced: true,
                                              jsonPaths: [".spec.color", ".spec.size", ".spec.enabled"])
        #expect(widgets.supportedLabels == ["metadata.name", "metadata.namespace", "spec.color", "spec.size", "spec.enabled"])
        let w = json(#"{"metadata":{"name":"w","namespace":"d"},"spec":{"color":"red","size":3,"enabled":false}}"#)
        #expect(widgets.fields(of: w) == ["metadata.name": "w", "metadata.namespace": "d", "spec.color": "red", "spec.size": "3", "spec.enabled": "false"])
        #expect(try widgets.matcher(for: FieldSelector(parsing: "spec.color=red,spec.size=3")).matches(w))
        #expect(try !widgets.matcher(for: FieldSelector(parsing: "spec.enabled=true")).matches(w))
        // A field missing from the object reads "".
        #expect(try widgets.matcher(for: FieldSelector(parsing: "spec.color=")).matches(json(#"{"metadata":{"name":"x"}}"#)))
        #expect(throws: SelectorError("field label not supported: spec.shape")) {
            try widgets.matcher(for: FieldSelector(parsing: "spec.shape=round"))
        }
    }

    @Test func matcherOnManyObjects() throws {
        let pods = SelectableFields.forResource(GroupResource(resource: "pods"))
        let m = try pods.matcher(for: FieldSelector(parsing: "spec.nodeName=node-7,status.phase=Running"))
        let labels = try LabelSelector(parsing: "app in (web,api),tier!=db")
        var objects: [JSONValue] = []
        for i in 0..<2_000 {
            objects.append(.object([
                "metadata": .object(["name": .string("p\(i)"), "namespace": .string("d"),
                                     "labels": .object(["app": .string(i % 3 == 0 ? "web" : "batch"), "tier": .string("fe")])]),
                "spec": .object(["nodeName": .string("node-\(i % 10)")]),
                "status": .object(["phase": .string(i % 4 == 3 ? "Running" : "Pending")]),
            ]))
        }
        let selected = objects.filter { m.matches($0) && labels.matches(labelsOf: $0) }
        let expected = (0..<2_000).filter { $0 % 10 == 7 && $0 % 4 == 3 && $0 % 3 == 0 }
        #expect(!expected.isEmpty)
        #expect(selected.count == expected.count)
    }
}
