import CapstanAPI
import Foundation
import Testing

/// The fast decoding path (`JSONValueDecodable`) against Foundation's `JSONDecoder`: the same
/// value for every object both accept, and for anything the fast path is unsure of, the
/// fallback's answer (value or error) unchanged.
@Suite("Fast decoding from parsed JSON")
struct FastDecodingTests {
    /// Both paths on `bytes`: the fast one must succeed and equal Foundation's.
    func same<T: Decodable & Equatable & JSONValueDecodable>(_ type: T.Type, _ bytes: [UInt8]) throws {
        let reference = try KubeJSON.decodeWithFoundation(T.self, from: bytes)
        let fast = try T(json: JSONValue.parse(bytes))
        #expect(fast == reference, "\(T.self) decodes differently on the fast path")
        #expect(try KubeJSON.decode(T.self, from: bytes) == reference)
    }

    @Test func fixturesDecodeAlikeOnBothPaths() throws {
        try same(CoreV1.Pod.self, [UInt8](Fixtures.data("pod")))
        try same(AppsV1.Deployment.self, [UInt8](Fixtures.data("deployment")))
        try same(CoreV1.Service.self, [UInt8](Fixtures.data("service")))
        try same(AppsV1.StatefulSet.self, [UInt8](Fixtures.data("statefulset")))
        guard case .array(let rbac) = try JSONValue.parse([UInt8](Fixtures.data("rbac"))), rbac.count >= 3 else {
            Issue.record("the rbac fixture is not a list of three objects")
            return
        }
        try same(RBACV1.Role.self, rbac[0].serialized())
        try same(RBACV1.ClusterRole.self, rbac[1].serialized())
        try same(RBACV1.RoleBinding.self, rbac[2].serialized())
        // CRD schemas always take the Foundation path; the combined decode still gives its value.
        let crd = [UInt8](try Fixtures.data("crd"))
        #expect(try KubeJSON.decode(APIExtensionsV1.CustomResourceDefinition.self, from: crd)
            == KubeJSON.decodeWithFoundation(APIExtensionsV1.CustomResourceDefinition.self, from: crd))
    }

    @Test func aServedPodWithManagedFieldsAndStatus() throws {
        let pod = #"""
        {"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"default","uid":"u-1",
         "resourceVersion":"42","generation":1,"creationTimestamp":"2026-11-21T10:00:00Z",
         "labels":{"app":"web"},"annotations":{"a":"b"},"ownerReferences":[{"apiVersion":"apps/v1",
         "kind":"ReplicaSet","name":"rs","uid":"u-0","controller":true,"blockOwnerDeletion":true}],
         "managedFields":[{"manager":"kubectl","operation":"Update","apiVersion":"v1",
         "time":"2026-11-21T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:containers":
         {"k:{\"name\":\"c\"}":{".":{},"f:image":{}}}}}}]},
         "spec":{"containers":[{"name":"c","image":"busybox","command":["sh","-c","sleep 1"],
         "ports":[{"containerPort":80,"protocol":"TCP"}],"resources":{"requests":{"cpu":"100m",
         "memory":"64Mi"},"limits":{"cpu":1,"memory":"128Mi"}},"terminationMessagePath":"/dev/termination-log",
         "imagePullPolicy":"IfNotPresent","readinessProbe":{"httpGet":{"port":8080,"path":"/"},"periodSeconds":5}}],
         "restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst",
         "nodeName":"n1","schedulerName":"default-scheduler","priority":0,
         "tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],
         "affinity":{"podAntiAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":100,
         "podAffinityTerm":{"labelSelector":{"matchLabels":{"app":"web"}},"topologyKey":"kubernetes.io/hostname"}}]}}},
         "status":{"phase":"Running","podIP":"10.0.0.5","podIPs":[{"ip":"10.0.0.5"}],"startTime":"2026-11-21T10:00:01Z",
         "conditions":[{"type":"Ready","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-21T10:00:02Z"}],
         "containerStatuses":[{"name":"c","ready":true,"restartCount":0,"image":"busybox","imageID":"sha256:abc",
         "started":true,"state":{"running":{"startedAt":"2026-11-21T10:00:02Z"}}}]}}
        """#
        try same(CoreV1.Pod.self, Array(pod.utf8))
        let list = #"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[\#(pod),\#(pod)]}"#
        try same(CoreV1.PodList.self, Array(list.utf8))
    }

    @Test func requiredListsMissingOrNullAreEmptyOnBothPaths() throws {
        try same(CoreV1.PodSpec.self, Array(#"{}"#.utf8))
        try same(CoreV1.PodSpec.self, Array(#"{"containers":null}"#.utf8))
        try same(MetaV1.Time.self, Array(#"null"#.utf8))
    }

    /// Inputs the fast path hands to `JSONDecoder`: its verdict (value or error) stands.
    @Test func doubtfulInputsGetFoundationsAnswer() throws {
        let cases: [String] = [
            #"{"spec":{"containers":[{"name":"c","ports":[{"containerPort":"80"}]}]}}"#,   // string for an integer
            #"{"spec":{"containers":[{"name":"c","ports":[{"containerPort":8.5}]}]}}"#,    // fraction
            #"{"spec":{"containers":[{"name":"c","ports":[{"containerPort":4294967296}]}]}}"#, // out of Int32
            #"{"spec":{"containers":[{"ports":[{"containerPort":80}]}]}}"#,               // missing required name
            #"{"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":0.5}}}]}}"#, // quantity as a fraction
            #"{"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":"lots"}}}]}}"#, // bad quantity
            #"{"metadata":{"creationTimestamp":"yesterday"}}"#,                             // bad time
            #"{"spec":{"priority":1.0}}"#,
            #"{"metadata":{"labels":{"a":1}}}"#,
        ]
        for text in cases {
            let bytes = Array(text.utf8)
            let reference = Result { () throws(APIDecodingError) in try KubeJSON.decodeWithFoundation(CoreV1.Pod.self, from: bytes) }
            let combined = Result { () throws(APIDecodingError) in try KubeJSON.decode(CoreV1.Pod.self, from: bytes) }
            switch (reference, combined) {
            case (.success(let a), .success(let b)): #expect(a == b, "\(text)")
            case (.failure(let a), .failure(let b)): #expect(a == b, "\(text)")
            default: Issue.record("paths disagree on \(text): \(reference) vs \(combined)")
            }
        }
    }

    @Test func freeFormJSONWithFractionsTakesTheFoundationPath() throws {
        let bytes = Array(#"{"apiVersion":"v1","kind":"Event","metadata":{"name":"e"},"involvedObject":{},"related":null}"#.utf8)
        try same(CoreV1.Event.self, bytes)
        #expect(throws: JSONShapeError.self) { try JSONValue(json: .object(["x": .double(1.5)])) }
        #expect(try JSONValue(json: .object(["x": .int(1)])) == .object(["x": .int(1)]))
    }
}
