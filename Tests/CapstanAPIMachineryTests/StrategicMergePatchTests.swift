import CapstanAPI
import CapstanAPIMachinery
import Testing

/// Definitions the tables patch.
enum Kinds {
    static let pod = "io.k8s.api.core.v1.Pod"
    static let deployment = "io.k8s.api.apps.v1.Deployment"
    static let namespace = "io.k8s.api.core.v1.Namespace"
    static let service = "io.k8s.api.core.v1.Service"
    static let podDisruptionBudget = "io.k8s.api.policy.v1.PodDisruptionBudget"
    static let controllerRevision = "io.k8s.api.apps.v1.ControllerRevision"
}

/// One table row: the patch, the object it applies to, and what Kubernetes holds afterwards.
struct SMPCase: CustomTestStringConvertible, Sendable {
    let name: String
    let definition: String
    let original: String
    let patch: String
    let expected: String

    init(_ name: String, _ definition: String, original: String, patch: String, expected: String) {
        self.name = name
        self.definition = definition
        self.original = original
        self.patch = patch
        self.expected = expected
    }

    var testDescription: String { name }

    func run() throws {
        let result = try StrategicMergePatch.apply(json(patch), to: json(original), definition: definition)
        #expect(result == json(expected), "\(name)\n got: \(result)")
    }
}

@Suite("Strategic merge patch: objects and null")
struct StrategicMergeObjectTests {
    static let cases: [SMPCase] = [
        SMPCase("labels merge; null deletes a label", Kinds.deployment,
                original: #"{"metadata":{"name":"web","labels":{"app":"web","tier":"frontend"}}}"#,
                patch: #"{"metadata":{"labels":{"tier":null,"env":"prod"}}}"#,
                expected: #"{"metadata":{"name":"web","labels":{"app":"web","env":"prod"}}}"#),
        SMPCase("null deletes a nested field", Kinds.deployment,
                original: #"{"spec":{"replicas":3,"paused":true}}"#,
                patch: #"{"spec":{"paused":null}}"#,
                expected: #"{"spec":{"replicas":3}}"#),
        SMPCase("null for a field that is not there changes nothing", Kinds.deployment,
                original: #"{"spec":{"replicas":3}}"#,
                patch: #"{"spec":{"minReadySeconds":null},"status":null}"#,
                expected: #"{"spec":{"replicas":3}}"#),
        SMPCase("a new subtree loses its null members", Kinds.deployment,
                original: #"{"metadata":{"name":"web"}}"#,
                patch: #"{"metadata":{"annotations":{"a":"1","b":null}},"spec":{"template":{"spec":{"nodeSelector":{"x":null}}}}}"#,
                expected: #"{"metadata":{"name":"web","annotations":{"a":"1"}},"spec":{"template":{"spec":{"nodeSelector":{}}}}}"#),
        SMPCase("nulls already in the original stay", Kinds.deployment,
                original: #"{"metadata":{"name":"web","labels":{"a":null}}}"#,
                patch: #"{"metadata":{"annotations":{"n":"1"}}}"#,
                expected: #"{"metadata":{"name":"web","labels":{"a":null},"annotations":{"n":"1"}}}"#),
        SMPCase("scalars replace, values of another type replace", Kinds.deployment,
                original: #"{"spec":{"replicas":3,"revisionHistoryLimit":"x","selector":"bad"}}"#,
                patch: #"{"spec":{"replicas":5,"revisionHistoryLimit":10,"selector":{"matchLabels":{"app":"web"}}}}"#,
                expected: #"{"spec":{"replicas":5,"revisionHistoryLimit":10,"selector":{"matchLabels":{"app":"web"}}}}"#),
        SMPCase("an empty patch changes nothing", Kinds.pod,
                original: #"{"metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"x"}]}}"#,
                patch: #"{}"#,
                expected: #"{"metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"x"}]}}"#),
        SMPCase("nested merge through the pod template of a deployment", Kinds.deployment,
                original: #"""
                {"metadata":{"name":"web"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
                 "template":{"metadata":{"labels":{"app":"web"}},
                  "spec":{"containers":[{"name":"web","image":"nginx:1.25","ports":[{"containerPort":80}]}],"restartPolicy":"Always"}}}}
                """#,
                patch: #"""
                {"spec":{"replicas":3,"template":{"metadata":{"annotations":{"rollout":"2"}},
                 "spec":{"containers":[{"name":"web","image":"nginx:1.26"}]}}}}
                """#,
                expected: #"""
                {"metadata":{"name":"web"},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},
                 "template":{"metadata":{"labels":{"app":"web"},"annotations":{"rollout":"2"}},
                  "spec":{"containers":[{"name":"web","image":"nginx:1.26","ports":[{"containerPort":80}]}],"restartPolicy":"Always"}}}}
                """#),
        SMPCase("a map of quantities merges; null drops a resource", Kinds.pod,
                original: #"{"spec":{"containers":[{"name":"a","resources":{"limits":{"cpu":"1","memory":"1Gi"},"requests":{"cpu":"100m"}}}]}}"#,
                patch: #"{"spec":{"containers":[{"name":"a","resources":{"limits":{"memory":null,"cpu":"2"}}}]}}"#,
                expected: #"{"spec":{"containers":[{"name":"a","resources":{"limits":{"cpu":"2"},"requests":{"cpu":"100m"}}}]}}"#),
        SMPCase("a field with strategy replace (PodDisruptionBudget selector) is replaced whole", Kinds.podDisruptionBudget,
                original: #"{"spec":{"minAvailable":1,"selector":{"matchLabels":{"a":"1","b":"2"}}}}"#,
                patch: #"{"spec":{"selector":{"matchLabels":{"c":"3"}}}}"#,
                expected: #"{"spec":{"minAvailable":1,"selector":{"matchLabels":{"c":"3"}}}}"#),
    ]

    @Test(arguments: cases)
    func apply(_ c: SMPCase) throws { try c.run() }
}

@Suite("Strategic merge patch: lists by patch strategy")
struct StrategicMergeListTests {
    static let twoContainers = #"""
    {"spec":{"containers":[{"name":"web","image":"nginx:1","ports":[{"containerPort":80}]},{"name":"log","image":"busybox"}]}}
    """#

    static let cases: [SMPCase] = [
        // containers: merge by name
        SMPCase("containers: a patch item merges into the item with its name", Kinds.pod,
                original: twoContainers,
                patch: #"{"spec":{"containers":[{"name":"web","image":"nginx:2"}]}}"#,
                expected: #"{"spec":{"containers":[{"name":"web","image":"nginx:2","ports":[{"containerPort":80}]},{"name":"log","image":"busybox"}]}}"#),
        SMPCase("containers: patching the second item keeps the order", Kinds.pod,
                original: twoContainers,
                patch: #"{"spec":{"containers":[{"name":"log","image":"busybox:2"}]}}"#,
                expected: #"{"spec":{"containers":[{"name":"web","image":"nginx:1","ports":[{"containerPort":80}]},{"name":"log","image":"busybox:2"}]}}"#),
        SMPCase("containers: a new item comes first, as in the kubectl patch documentation", Kinds.pod,
                original: twoContainers,
                patch: #"{"spec":{"containers":[{"name":"sidecar","image":"envoy"}]}}"#,
                expected: #"{"spec":{"containers":[{"name":"sidecar","image":"envoy"},{"name":"web","image":"nginx:1","ports":[{"containerPort":80}]},{"name":"log","image":"busybox"}]}}"#),
        SMPCase("containers: patch items keep the patch order among themselves", Kinds.pod,
                original: twoContainers,
                patch: #"{"spec":{"containers":[{"name":"log","image":"b2"},{"name":"web","image":"n2"}]}}"#,
                expected: #"{"spec":{"containers":[{"name":"log","image":"b2"},{"name":"web","image":"n2","ports":[{"containerPort":80}]}]}}"#),
        SMPCase("containers: $patch delete removes the item with that name", Kinds.pod,
                original: twoContainers,
                patch: #"{"spec":{"containers":[{"name":"log","$patch":"delete"}]}}"#,
                expected: #"{"spec":{"containers":[{"name":"web","image":"nginx:1","ports":[{"containerPort":80}]}]}}"#),
        SMPCase("containers: deleting a name that is not there changes nothing", Kinds.pod,
                original: twoContainers,
                patch: #"{"spec":{"containers":[{"name":"nope","$patch":"delete"}]}}"#,
                expected: twoContainers),
        SMPCase("containers: a {$patch: replace} item replaces the list with the other items", Kinds.pod,
                original: twoContainers,
                patch: #"{"spec":{"containers":[{"name":"only","image":"x","env":[{"name":"A","value":null}]},{"$patch":"replace"}]}}"#,
                expected: #"{"spec":{"containers":[{"name":"only","image":"x","env":[{"name":"A"}]}]}}"#),
        SMPCase("containers: an explicit $patch merge item merges as usual", Kinds.pod,
                original: twoContainers,
                patch: #"{"spec":{"containers":[{"name":"log","image":"b2","$patch":"merge"}]}}"#,
                expected: #"{"spec":{"containers":[{"name":"web","image":"nginx:1","ports":[{"containerPort":80}]},{"name":"log","image":"b2"}]}}"#),
        SMPCase("containers: delete and add in one patch", Kinds.pod,
                original: twoContainers,
                patch: #"{"spec":{"containers":[{"name":"log2","image":"fluent"},{"name":"log","$patch":"delete"}]}}"#,
                expected: #"{"spec":{"containers":[{"name":"log2","image":"fluent"},{"name":"web","image":"nginx:1","ports":[{"containerPort":80}]}]}}"#),
        SMPCase("containers: into a pod without the list, the patch list lands cleaned", Kinds.pod,
                original: #"{"spec":{}}"#,
                patch: #"{"spec":{"initContainers":[{"name":"x","$patch":"delete"},{"name":"y","image":"i","command":null}]}}"#,
                expected: #"{"spec":{"initContainers":[{"name":"y","image":"i"}]}}"#),

        // env: merge by name, nested in a container
        SMPCase("env: merge by name inside a container", Kinds.pod,
                original: #"{"spec":{"containers":[{"name":"web","env":[{"name":"A","value":"1"},{"name":"C","value":"3"}]}]}}"#,
                patch: #"{"spec":{"containers":[{"name":"web","env":[{"name":"C","value":"30"},{"name":"B","value":"2"},{"name":"A","$patch":"delete"}]}]}}"#,
                expected: #"{"spec":{"containers":[{"name":"web","env":[{"name":"C","value":"30"},{"name":"B","value":"2"}]}]}}"#),
        SMPCase("env: value switched to valueFrom", Kinds.pod,
                original: #"{"spec":{"containers":[{"name":"web","env":[{"name":"A","value":"1"}]}]}}"#,
                patch: #"{"spec":{"containers":[{"name":"web","env":[{"name":"A","value":null,"valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}]}]}}"#,
                expected: #"{"spec":{"containers":[{"name":"web","env":[{"name":"A","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}]}]}}"#),

        // ports: merge by containerPort (a number)
        SMPCase("ports: merge by containerPort", Kinds.pod,
                original: #"{"spec":{"containers":[{"name":"web","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443}]}]}}"#,
                patch: #"{"spec":{"containers":[{"name":"web","ports":[{"containerPort":443,"name":"https"},{"containerPort":8080}]}]}}"#,
                expected: #"{"spec":{"containers":[{"name":"web","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"name":"https"},{"containerPort":8080}]}]}}"#),
        SMPCase("service ports: merge by port", Kinds.service,
                original: #"{"spec":{"ports":[{"port":80,"targetPort":8080},{"port":443,"targetPort":8443}]}}"#,
                patch: #"{"spec":{"ports":[{"port":80,"targetPort":9090},{"port":443,"$patch":"delete"}]}}"#,
                expected: #"{"spec":{"ports":[{"port":80,"targetPort":9090}]}}"#),

        // volumes: merge by name, with retainKeys inside an item
        SMPCase("volumes: merge by name; $retainKeys switches the volume source", Kinds.pod,
                original: #"{"spec":{"volumes":[{"name":"cfg","configMap":{"name":"a"}},{"name":"data","emptyDir":{}}]}}"#,
                patch: #"{"spec":{"volumes":[{"name":"cfg","$retainKeys":["name","secret"],"secret":{"secretName":"s"}}]}}"#,
                expected: #"{"spec":{"volumes":[{"name":"cfg","secret":{"secretName":"s"}},{"name":"data","emptyDir":{}}]}}"#),
        SMPCase("volumes: without $retainKeys both sources stay (kubectl patch, not apply)", Kinds.pod,
                original: #"{"spec":{"volumes":[{"name":"cfg","configMap":{"name":"a"}}]}}"#,
                patch: #"{"spec":{"volumes":[{"name":"cfg","secret":{"secretName":"s"}}]}}"#,
                expected: #"{"spec":{"volumes":[{"name":"cfg","configMap":{"name":"a"},"secret":{"secretName":"s"}}]}}"#),

        // no strategy: replaced
        SMPCase("tolerations have no merge key: the list is replaced", Kinds.pod,
                original: #"{"spec":{"tolerations":[{"key":"dedicated","value":"test-team","effect":"NoSchedule"}]}}"#,
                patch: #"{"spec":{"tolerations":[{"key":"disktype","value":"ssd","effect":"NoSchedule"}]}}"#,
                expected: #"{"spec":{"tolerations":[{"key":"disktype","value":"ssd","effect":"NoSchedule"}]}}"#),
        SMPCase("args are atomic: replaced", Kinds.pod,
                original: #"{"spec":{"containers":[{"name":"a","args":["-a","-b"],"command":["run"]}]}}"#,
                patch: #"{"spec":{"containers":[{"name":"a","args":["-c"]}]}}"#,
                expected: #"{"spec":{"containers":[{"name":"a","args":["-c"],"command":["run"]}]}}"#),
        SMPCase("namespace spec.finalizers have no strategy: replaced", Kinds.namespace,
                original: #"{"spec":{"finalizers":["kubernetes"]}}"#,
                patch: #"{"spec":{"finalizers":["example.com/x"]}}"#,
                expected: #"{"spec":{"finalizers":["example.com/x"]}}"#),

        // primitive lists with strategy merge: a union
        SMPCase("metadata.finalizers (strategy merge) form a union: new values first", Kinds.deployment,
                original: #"{"metadata":{"finalizers":["a","b"]}}"#,
                patch: #"{"metadata":{"finalizers":["c","a"]}}"#,
                expected: #"{"metadata":{"finalizers":["c","a","b"]}}"#),
        SMPCase("a union keeps each value once", Kinds.deployment,
                original: #"{"metadata":{"finalizers":["a","a","b"]}}"#,
                patch: #"{"metadata":{"finalizers":["b","b"]}}"#,
                expected: #"{"metadata":{"finalizers":["a","b"]}}"#),
        SMPCase("an empty patch list leaves a merging list alone", Kinds.deployment,
                original: #"{"metadata":{"finalizers":["a"]},"spec":{"template":{"spec":{"containers":[{"name":"x"}]}}}}"#,
                patch: #"{"metadata":{"finalizers":[]},"spec":{"template":{"spec":{"containers":[]}}}}"#,
                expected: #"{"metadata":{"finalizers":["a"]},"spec":{"template":{"spec":{"containers":[{"name":"x"}]}}}}"#),
    ]

    @Test(arguments: cases)
    func apply(_ c: SMPCase) throws { try c.run() }
}

@Suite("Strategic merge patch: directives")
struct StrategicMergeDirectiveTests {
    static let cases: [SMPCase] = [
        // $patch on objects
        SMPCase("$patch replace on an object keeps only the patch", Kinds.pod,
                original: #"{"spec":{"securityContext":{"runAsUser":1000,"fsGroup":2000}}}"#,
                patch: #"{"spec":{"securityContext":{"$patch":"replace","runAsNonRoot":true,"runAsGroup":null}}}"#,
                expected: #"{"spec":{"securityContext":{"runAsNonRoot":true}}}"#),
        SMPCase("$patch delete on an object empties it", Kinds.pod,
                original: #"{"spec":{"affinity":{"nodeAffinity":{"x":1}},"hostname":"h"}}"#,
                patch: #"{"spec":{"affinity":{"$patch":"delete"}}}"#,
                expected: #"{"spec":{"affinity":{},"hostname":"h"}}"#),
        SMPCase("$patch merge on an object is the default, stated", Kinds.pod,
                original: #"{"spec":{"securityContext":{"runAsUser":1000}}}"#,
                patch: #"{"spec":{"securityContext":{"$patch":"merge","fsGroup":2000}}}"#,
                expected: #"{"spec":{"securityContext":{"runAsUser":1000,"fsGroup":2000}}}"#),
        SMPCase("an object with a $patch directive where there was none is dropped, as in kube-apiserver", Kinds.pod,
                original: #"{"spec":{"hostname":"h"}}"#,
                patch: #"{"spec":{"affinity":{"$patch":"replace","nodeAffinity":{}}}}"#,
                expected: #"{"spec":{"hostname":"h"}}"#),

        // $deleteFromPrimitiveList
        SMPCase("$deleteFromPrimitiveList removes values", Kinds.deployment,
                original: #"{"metadata":{"finalizers":["a","b","c","b"]}}"#,
                patch: #"{"metadata":{"$deleteFromPrimitiveList/finalizers":["b","zzz"]}}"#,
                expected: #"{"metadata":{"finalizers":["a","c"]}}"#),
        SMPCase("$deleteFromPrimitiveList on a missing list adds nothing", Kinds.deployment,
                original: #"{"metadata":{"name":"d"}}"#,
                patch: #"{"metadata":{"$deleteFromPrimitiveList/finalizers":["b"]}}"#,
                expected: #"{"metadata":{"name":"d"}}"#),
        SMPCase("$deleteFromPrimitiveList also works on a list without strategy", Kinds.namespace,
                original: #"{"spec":{"finalizers":["kubernetes","x"]}}"#,
                patch: #"{"spec":{"$deleteFromPrimitiveList/finalizers":["x"]}}"#,
                expected: #"{"spec":{"finalizers":["kubernetes"]}}"#),
        SMPCase("$deleteFromPrimitiveList applies after the additions to the same list", Kinds.deployment,
                original: #"{"metadata":{"finalizers":["a","b"]}}"#,
                patch: #"{"metadata":{"finalizers":["d"],"$deleteFromPrimitiveList/finalizers":["a"]}}"#,
                expected: #"{"metadata":{"finalizers":["d","b"]}}"#),

        // $setElementOrder
        SMPCase("$setElementOrder alone reorders containers", Kinds.pod,
                original: #"{"spec":{"containers":[{"name":"a"},{"name":"b"},{"name":"c"}]}}"#,
                patch: #"{"spec":{"$setElementOrder/containers":[{"name":"c"},{"name":"a"},{"name":"b"}]}}"#,
                expected: #"{"spec":{"containers":[{"name":"c"},{"name":"a"},{"name":"b"}]}}"#),
        SMPCase("$setElementOrder places a new container where the file has it", Kinds.pod,
                original: #"{"spec":{"containers":[{"name":"a","image":"1"},{"name":"b","image":"2"}]}}"#,
                patch: #"{"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"n"},{"name":"b"}],"containers":[{"name":"n","image":"3"}]}}"#,
                expected: #"{"spec":{"containers":[{"name":"a","image":"1"},{"name":"n","image":"3"},{"name":"b","image":"2"}]}}"#),
        SMPCase("$setElementOrder keeps a server-only container (injected sidecar) as kube-apiserver does", Kinds.pod,
                original: #"{"spec":{"containers":[{"name":"app"},{"name":"old"},{"name":"istio-proxy"}]}}"#,
                patch: #"{"spec":{"$setElementOrder/containers":[{"name":"app"},{"name":"new"}],"containers":[{"name":"new","image":"n"},{"name":"old","$patch":"delete"}]}}"#,
                expected: #"{"spec":{"containers":[{"name":"app"},{"name":"istio-proxy"},{"name":"new","image":"n"}]}}"#),
        SMPCase("$setElementOrder: a server-only item goes before a patch item that followed it", Kinds.pod,
                original: #"{"spec":{"containers":[{"name":"a"},{"name":"s"},{"name":"b"}]}}"#,
                patch: #"{"spec":{"$setElementOrder/containers":[{"name":"b"},{"name":"a"}]}}"#,
                expected: #"{"spec":{"containers":[{"name":"s"},{"name":"b"},{"name":"a"}]}}"#),
        SMPCase("$setElementOrder on a primitive list", Kinds.deployment,
                original: #"{"metadata":{"finalizers":["a","b"]}}"#,
                patch: #"{"metadata":{"$setElementOrder/finalizers":["b","a","c"],"finalizers":["c"]}}"#,
                expected: #"{"metadata":{"finalizers":["b","a","c"]}}"#),
        SMPCase("$setElementOrder for a list that is nowhere does nothing", Kinds.pod,
                original: #"{"spec":{"hostname":"h"}}"#,
                patch: #"{"spec":{"$setElementOrder/initContainers":[{"name":"a"}]}}"#,
                expected: #"{"spec":{"hostname":"h"}}"#),

        // $retainKeys
        SMPCase("$retainKeys: Deployment strategy RollingUpdate -> Recreate drops rollingUpdate", Kinds.deployment,
                original: #"{"spec":{"replicas":1,"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"}}}}"#,
                patch: #"{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}}"#,
                expected: #"{"spec":{"replicas":1,"strategy":{"type":"Recreate"}}}"#),
        SMPCase("$retainKeys with the explicit null kubectl may send", Kinds.deployment,
                original: #"{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}}"#,
                patch: #"{"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":null,"type":"Recreate"}}}"#,
                expected: #"{"spec":{"strategy":{"type":"Recreate"}}}"#),
        SMPCase("$retainKeys: Recreate -> RollingUpdate with parameters", Kinds.deployment,
                original: #"{"spec":{"strategy":{"type":"Recreate"}}}"#,
                patch: #"{"spec":{"strategy":{"$retainKeys":["rollingUpdate","type"],"type":"RollingUpdate","rollingUpdate":{"maxSurge":2}}}}"#,
                expected: #"{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":2}}}}"#),
        SMPCase("without $retainKeys (kubectl patch) rollingUpdate stays", Kinds.deployment,
                original: #"{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}}"#,
                patch: #"{"spec":{"strategy":{"type":"Recreate"}}}"#,
                expected: #"{"spec":{"strategy":{"type":"Recreate","rollingUpdate":{"maxSurge":1}}}}"#),
    ]

    @Test(arguments: cases)
    func apply(_ c: SMPCase) throws { try c.run() }
}

@Suite("Strategic merge patch: what kubectl apply sends")
struct StrategicMergeApplyTests {
    static let live = #"""
    {"apiVersion":"apps/v1","kind":"Deployment",
     "metadata":{"name":"web","namespace":"default","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}","deployment.kubernetes.io/revision":"1"}},
     "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
      "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"}},
      "template":{"metadata":{"labels":{"app":"web"}},"spec":{
       "containers":[{"name":"web","image":"nginx:1.25","imagePullPolicy":"IfNotPresent",
         "env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],
         "ports":[{"containerPort":80,"protocol":"TCP"}],"resources":{"limits":{"cpu":"1"}}}],
       "restartPolicy":"Always","terminationGracePeriodSeconds":30}}}}
    """#

    static let cases: [SMPCase] = [
        SMPCase("re-apply after changing the image and removing an env var from the file", Kinds.deployment,
                original: live,
                patch: #"""
                {"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"v\":2}"}},
                 "spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"}],
                  "containers":[{"$setElementOrder/env":[{"name":"A"}],"env":[{"$patch":"delete","name":"B"}],"image":"nginx:1.26","name":"web"}]}}}}
                """#,
                expected: #"""
                {"apiVersion":"apps/v1","kind":"Deployment",
                 "metadata":{"name":"web","namespace":"default","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"v\":2}","deployment.kubernetes.io/revision":"1"}},
                 "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
                  "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"}},
                  "template":{"metadata":{"labels":{"app":"web"}},"spec":{
                   "containers":[{"name":"web","image":"nginx:1.26","imagePullPolicy":"IfNotPresent",
                     "env":[{"name":"A","value":"1"}],
                     "ports":[{"containerPort":80,"protocol":"TCP"}],"resources":{"limits":{"cpu":"1"}}}],
                   "restartPolicy":"Always","terminationGracePeriodSeconds":30}}}}
                """#),
        SMPCase("re-apply after removing a field, adding a container and switching to Recreate", Kinds.deployment,
                original: live,
                patch: #"""
                {"spec":{"replicas":null,"strategy":{"$retainKeys":["type"],"type":"Recreate"},
                 "template":{"spec":{"$setElementOrder/containers":[{"name":"web"},{"name":"sidecar"}],
                  "containers":[{"name":"web","resources":null},{"image":"envoy","name":"sidecar"}]}}}}
                """#,
                expected: #"""
                {"apiVersion":"apps/v1","kind":"Deployment",
                 "metadata":{"name":"web","namespace":"default","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}","deployment.kubernetes.io/revision":"1"}},
                 "spec":{"selector":{"matchLabels":{"app":"web"}},
                  "strategy":{"type":"Recreate"},
                  "template":{"metadata":{"labels":{"app":"web"}},"spec":{
                   "containers":[{"name":"web","image":"nginx:1.25","imagePullPolicy":"IfNotPresent",
                     "env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],
                     "ports":[{"containerPort":80,"protocol":"TCP"}]},
                    {"name":"sidecar","image":"envoy"}],
                   "restartPolicy":"Always","terminationGracePeriodSeconds":30}}}}
                """#),
        SMPCase("re-apply after reordering the containers in the file", Kinds.pod,
                original: #"{"spec":{"containers":[{"name":"a","image":"1"},{"name":"b","image":"2"}]}}"#,
                patch: #"{"spec":{"$setElementOrder/containers":[{"name":"b"},{"name":"a"}]}}"#,
                expected: #"{"spec":{"containers":[{"name":"b","image":"2"},{"name":"a","image":"1"}]}}"#),
    ]

    @Test(arguments: cases)
    func apply(_ c: SMPCase) throws { try c.run() }
}

@Suite("Strategic merge patch: fields without patch metadata")
struct StrategicMergeUnstructuredTests {
    @Test func unknownDefinitionBehavesAsJSONMergePatch() throws {
        let original = json(#"{"spec":{"items":[1,2],"m":{"a":1,"b":2},"objs":[{"name":"x","v":1}]}}"#)
        let patch = json(#"{"spec":{"items":[3],"m":{"a":null,"c":3},"objs":[{"name":"x","w":2}]}}"#)
        let expected = json(#"{"spec":{"items":[3],"m":{"b":2,"c":3},"objs":[{"name":"x","w":2}]}}"#)
        let widget = StrategicMergeSchema(definition: "com.example.v1.Widget")
        #expect(!widget.isDescribed)
        #expect(try StrategicMergePatch.apply(patch, to: original, schema: widget) == expected)
        #expect(try StrategicMergePatch.apply(patch, to: original, schema: .unstructured) == expected)
        #expect(try JSONMergePatch.apply(patch, to: original) == expected)
    }

    @Test func directivesStillApplyWithoutMetadata() throws {
        let original = json(#"{"spec":{"m":{"a":1,"b":2},"list":["a","b"]}}"#)
        let patch = json(#"{"spec":{"m":{"$patch":"replace","c":3},"$deleteFromPrimitiveList/list":["a"]}}"#)
        #expect(try StrategicMergePatch.apply(patch, to: original, schema: .unstructured) == json(#"{"spec":{"m":{"c":3},"list":["b"]}}"#))
    }

    @Test func kindsByGroupVersionKind() throws {
        #expect(StrategicMergeSchema(kind: GroupVersionKind(group: "apps", version: "v1", kind: "Deployment"))?.isDescribed == true)
        #expect(StrategicMergeSchema(kind: GroupVersionKind(group: "example.com", version: "v1", kind: "Widget")) == nil)
        let pod = try #require(StrategicMergeSchema(kind: GroupVersionKind(group: "", version: "v1", kind: "Pod")))
        let result = try StrategicMergePatch(json(#"{"spec":{"containers":[{"name":"b"}]}}"#))
            .apply(to: json(#"{"spec":{"containers":[{"name":"a"}]}}"#), schema: pod)
        #expect(result == json(#"{"spec":{"containers":[{"name":"b"},{"name":"a"}]}}"#))
    }

    static let cases: [SMPCase] = [
        SMPCase("an unknown field in a built-in kind: its lists are replaced, its objects merge", Kinds.pod,
                original: #"{"spec":{"containers":[{"name":"a"}],"futureList":[{"name":"x"}],"futureMap":{"a":1}}}"#,
                patch: #"{"spec":{"futureList":[{"name":"y"}],"futureMap":{"b":2}}}"#,
                expected: #"{"spec":{"containers":[{"name":"a"}],"futureList":[{"name":"y"}],"futureMap":{"a":1,"b":2}}}"#),
        SMPCase("a RawExtension merges as free-form JSON", Kinds.controllerRevision,
                original: #"{"revision":1,"data":{"spec":{"template":{"x":1,"list":[1]}}}}"#,
                patch: #"{"data":{"spec":{"template":{"y":2,"list":[2],"x":null}}}}"#,
                expected: #"{"revision":1,"data":{"spec":{"template":{"y":2,"list":[2]}}}}"#),
        SMPCase("field names starting with $ that are no directive are fields", Kinds.pod,
                original: #"{"spec":{"x":{"$ref":"a"}}}"#,
                patch: #"{"spec":{"x":{"$ref":"b","$schema":"s"}}}"#,
                expected: #"{"spec":{"x":{"$ref":"b","$schema":"s"}}}"#),
    ]

    @Test(arguments: cases)
    func apply(_ c: SMPCase) throws { try c.run() }

    @Test func rootDirectives() throws {
        let original = json(#"{"kind":"Pod","spec":{"hostname":"h"}}"#)
        #expect(try StrategicMergePatch.apply(json(#"{"$patch":"delete"}"#), to: original, definition: Kinds.pod) == json("{}"))
        #expect(try StrategicMergePatch.apply(json(#"{"$patch":"replace","kind":"Pod"}"#), to: original, definition: Kinds.pod)
            == json(#"{"kind":"Pod"}"#))
        // An original that is not an object counts as an empty one.
        #expect(try StrategicMergePatch.apply(json(#"{"a":1}"#), to: .null, schema: .unstructured) == json(#"{"a":1}"#))
    }
}
