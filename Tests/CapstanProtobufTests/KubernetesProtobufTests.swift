import CapstanAPI
@testable import CapstanProtobuf
import Foundation
import Testing

@Suite("Protobuf bodies built from the generated messages")
struct KubernetesProtobufTests {
    typealias B = ProtobufBodies

    @Test func configMapWithBinaryData() throws {
        var cm = K8s_Io_Api_Core_V1_ConfigMap()
        cm.metadata = B.meta(name: "cfg", namespace: "default", labels: ["app": "web"])
        cm.data = ["a": "b", "empty": ""]
        cm.binaryData = ["bin": Data([0, 1, 254, 255])]
        cm.immutable = false
        let decoded = try KubernetesProtobuf.decode(B.body(apiVersion: "v1", kind: "ConfigMap", cm))
        #expect(decoded.apiVersion == "v1")
        #expect(decoded.kind == "ConfigMap")
        #expect(decoded.object == (try json("""
            {"apiVersion":"v1","kind":"ConfigMap",
             "metadata":{"name":"cfg","namespace":"default","creationTimestamp":null,"labels":{"app":"web"}},
             "data":{"a":"b","empty":""},"binaryData":{"bin":"AAH+/w=="},"immutable":false}
            """)))
        let typed = try KubeJSON.decode(CoreV1.ConfigMap.self, from: decoded.object.serialized())
        #expect(typed.metadata?.name == "cfg")
        #expect(typed.data?["a"] == "b")
        #expect(typed.immutable == false)
    }

    @Test func secretWithBinaryData() throws {
        var secret = K8s_Io_Api_Core_V1_Secret()
        secret.metadata = B.meta(name: "s", namespace: "ns")
        secret.data = ["key": Data([0xDE, 0xAD, 0xBE, 0xEF, 0x00]), "user": Data("admin".utf8)]
        secret.type = "Opaque"
        let decoded = try KubernetesProtobuf.decode(B.body(apiVersion: "v1", kind: "Secret", secret))
        #expect(decoded.object == (try json("""
            {"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"ns","creationTimestamp":null},
             "data":{"key":"3q2+7wA=","user":"YWRtaW4="},"type":"Opaque"}
            """)))
        let typed = try KubeJSON.decode(CoreV1.Secret.self, from: decoded.object.serialized())
        #expect(typed.type == "Opaque")
        #expect(typed.data?.count == 2)
    }

    @Test func deploymentKeepsExplicitZeroesAndDropsGoZeroValues() throws {
        var container = K8s_Io_Api_Core_V1_Container()
        container.name = "web"
        container.image = "nginx:1.27"
        container.workingDir = ""
        container.terminationMessagePath = ""
        container.terminationMessagePolicy = ""
        container.imagePullPolicy = ""
        container.stdin = false
        container.stdinOnce = false
        container.tty = false
        container.resources.limits = ["cpu": B.quantity("500m"), "memory": B.quantity("1Gi")]
        container.resources.requests = ["cpu": B.quantity("1000m")]
        var env = K8s_Io_Api_Core_V1_EnvVar()
        env.name = "EMPTY"
        env.value = ""
        container.env = [env]
        var port = K8s_Io_Api_Core_V1_ContainerPort()
        port.name = ""
        port.hostPort = 0
        port.containerPort = 80
        port.protocol = "TCP"
        port.hostIp = ""
        container.ports = [port]
        container.livenessProbe.handler.exec.command = ["true"]
        container.livenessProbe.initialDelaySeconds = 0
        container.livenessProbe.timeoutSeconds = 5
        container.livenessProbe.periodSeconds = 0
        container.livenessProbe.successThreshold = 0
        container.livenessProbe.failureThreshold = 0

        var volume = K8s_Io_Api_Core_V1_Volume()
        volume.name = "config"
        volume.volumeSource.configMap.localObjectReference.name = "cfg"
        volume.volumeSource.configMap.defaultMode = 420

        var d = K8s_Io_Api_Apps_V1_Deployment()
        d.metadata = B.meta(name: "web", namespace: "default", labels: ["app": "web"])
        d.spec.replicas = 0
        d.spec.selector.matchLabels = ["app": "web"]
        d.spec.template.metadata = B.meta(labels: ["app": "web"])
        d.spec.template.spec.containers = [container]
        d.spec.template.spec.volumes = [volume]
        d.spec.template.spec.restartPolicy = ""
        d.spec.template.spec.hostNetwork = false
        d.spec.template.spec.automountServiceAccountToken = false
        d.spec.strategy.type = ""
        d.spec.minReadySeconds = 0
        d.spec.paused = false
        d.status.observedGeneration = 0
        d.status.replicas = 0
        d.status.availableReplicas = 0

        let decoded = try KubernetesProtobuf.decode(B.body(apiVersion: "apps/v1", kind: "Deployment", d))
        #expect(decoded.object == (try json("""
            {"apiVersion":"apps/v1","kind":"Deployment",
             "metadata":{"name":"web","namespace":"default","creationTimestamp":null,"labels":{"app":"web"}},
             "spec":{"replicas":0,"selector":{"matchLabels":{"app":"web"}},
               "template":{"metadata":{"creationTimestamp":null,"labels":{"app":"web"}},
                 "spec":{"volumes":[{"name":"config","configMap":{"name":"cfg","defaultMode":420}}],
                   "containers":[{"name":"web","image":"nginx:1.27",
                     "ports":[{"containerPort":80,"protocol":"TCP"}],
                     "env":[{"name":"EMPTY"}],
                     "resources":{"limits":{"cpu":"500m","memory":"1Gi"},"requests":{"cpu":"1"}},
                     "livenessProbe":{"exec":{"command":["true"]},"timeoutSeconds":5}}],
                   "automountServiceAccountToken":false}},
               "strategy":{}},
             "status":{}}
            """)))
        let typed = try KubeJSON.decode(AppsV1.Deployment.self, from: decoded.object.serialized())
        #expect(typed.spec?.replicas == 0)
        #expect(typed.spec?.template.spec?.containers.first?.livenessProbe?.timeoutSeconds == 5)
        #expect(typed.spec?.template.spec?.volumes?.first?.configMap?.name == "cfg")
    }

    @Test func serviceWithIntAndStringTargetPorts() throws {
        func port(_ name: String, _ number: Int32, _ target: ProtoIntOrString) -> K8s_Io_Api_Core_V1_ServicePort {
            var p = K8s_Io_Api_Core_V1_ServicePort()
            p.name = name
            p.protocol = "TCP"
            p.port = number
            p.targetPort = target
            p.nodePort = 0
            return p
        }
        var svc = K8s_Io_Api_Core_V1_Service()
        svc.metadata = B.meta(name: "web", namespace: "default")
        svc.spec.ports = [port("http", 80, B.intOrString(8080)), port("https", 443, B.intOrString("https"))]
        svc.spec.selector = ["app": "web"]
        svc.spec.clusterIp = ""
        svc.spec.type = "ClusterIP"
        svc.spec.publishNotReadyAddresses = false
        svc.status.loadBalancer = .init()
        let decoded = try KubernetesProtobuf.decode(B.body(apiVersion: "v1", kind: "Service", svc))
        #expect(decoded.object == (try json("""
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default","creationTimestamp":null},
             "spec":{"ports":[{"name":"http","protocol":"TCP","port":80,"targetPort":8080},
                              {"name":"https","protocol":"TCP","port":443,"targetPort":"https"}],
                     "selector":{"app":"web"},"type":"ClusterIP"},
             "status":{"loadBalancer":{}}}
            """)))
        let typed = try KubeJSON.decode(CoreV1.Service.self, from: decoded.object.serialized())
        #expect(typed.spec?.ports?.map(\.targetPort) == [.int(8080), .string("https")])
    }

    @Test func namespace() throws {
        var ns = K8s_Io_Api_Core_V1_Namespace()
        ns.metadata = B.meta(name: "team-a", labels: ["team": "a"])
        ns.spec = .init()
        ns.status.phase = ""
        let decoded = try KubernetesProtobuf.decode(B.body(apiVersion: "v1", kind: "Namespace", ns))
        #expect(decoded.object == (try json("""
            {"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-a","creationTimestamp":null,"labels":{"team":"a"}},
             "spec":{},"status":{}}
            """)))
        _ = try KubeJSON.decode(CoreV1.Namespace.self, from: decoded.object.serialized())
    }

    @Test func jobWithZeroBackoffLimit() throws {
        var job = K8s_Io_Api_Batch_V1_Job()
        job.metadata = B.meta(name: "once", namespace: "default")
        job.spec.backoffLimit = 0
        job.spec.ttlSecondsAfterFinished = 0
        job.spec.suspend = false
        job.spec.template.metadata = B.meta()
        var c = K8s_Io_Api_Core_V1_Container()
        c.name = "main"
        c.image = "busybox"
        c.command = ["echo", "hi"]
        c.resources = .init()
        job.spec.template.spec.containers = [c]
        job.spec.template.spec.restartPolicy = "Never"
        job.status = .init()
        let decoded = try KubernetesProtobuf.decode(B.body(apiVersion: "batch/v1", kind: "Job", job))
        #expect(decoded.object == (try json("""
            {"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"once","namespace":"default","creationTimestamp":null},
             "spec":{"backoffLimit":0,"template":{"metadata":{"creationTimestamp":null},
               "spec":{"containers":[{"name":"main","image":"busybox","command":["echo","hi"],"resources":{}}],
                       "restartPolicy":"Never"}},
               "ttlSecondsAfterFinished":0,"suspend":false},
             "status":{}}
            """)))
        let typed = try KubeJSON.decode(BatchV1.Job.self, from: decoded.object.serialized())
        #expect(typed.spec?.backoffLimit == 0)
    }

    @Test func selfSubjectAccessReview() throws {
        var review = K8s_Io_Api_Authorization_V1_SelfSubjectAccessReview()
        review.metadata = B.meta()
        review.spec.resourceAttributes.namespace = "default"
        review.spec.resourceAttributes.verb = "create"
        review.spec.resourceAttributes.group = ""
        review.spec.resourceAttributes.version = ""
        review.spec.resourceAttributes.resource = "pods"
        review.spec.resourceAttributes.subresource = ""
        review.spec.resourceAttributes.name = ""
        review.status.allowed = false
        review.status.reason = ""
        let decoded = try KubernetesProtobuf.decode(
            B.body(apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", review))
        #expect(decoded.object == (try json("""
            {"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","metadata":{"creationTimestamp":null},
             "spec":{"resourceAttributes":{"namespace":"default","verb":"create","resource":"pods"}},
             "status":{"allowed":false}}
            """)))
        let typed = try KubeJSON.decode(AuthorizationV1.SelfSubjectAccessReview.self, from: decoded.object.serialized())
        #expect(typed.spec.resourceAttributes?.verb == "create")
    }

    @Test func tokenRequestNamesUIDByItsJSONTag() throws {
        var request = K8s_Io_Api_Authentication_V1_TokenRequest()
        request.metadata = B.meta()
        request.spec.audiences = ["https://kubernetes.default.svc"]
        request.spec.expirationSeconds = 3600
        request.spec.boundObjectRef.kind = "Pod"
        request.spec.boundObjectRef.apiVersion = "v1"
        request.spec.boundObjectRef.name = "web-0"
        request.spec.boundObjectRef.uID = "0b5e2c9e"
        request.status.token = ""
        request.status.expirationTimestamp = B.time(1_714_557_600)
        let decoded = try KubernetesProtobuf.decode(
            B.body(apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", request))
        #expect(decoded.object == (try json("""
            {"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","metadata":{"creationTimestamp":null},
             "spec":{"audiences":["https://kubernetes.default.svc"],"expirationSeconds":3600,
                     "boundObjectRef":{"kind":"Pod","apiVersion":"v1","name":"web-0","uid":"0b5e2c9e"}},
             "status":{"token":"","expirationTimestamp":"2024-05-01T10:00:00Z"}}
            """)))
        let typed = try KubeJSON.decode(AuthenticationV1.TokenRequest.self, from: decoded.object.serialized())
        #expect(typed.spec.boundObjectRef?.uid == "0b5e2c9e")
    }

    @Test func ingressClassNamesAPIGroupByItsJSONTag() throws {
        var ic = K8s_Io_Api_Networking_V1_IngressClass()
        ic.metadata = B.meta(name: "nginx")
        ic.spec.controller = "example.com/ingress"
        ic.spec.parameters.aPigroup = "k8s.example.com"
        ic.spec.parameters.kind = "Params"
        ic.spec.parameters.name = "p"
        let decoded = try KubernetesProtobuf.decode(B.body(apiVersion: "networking.k8s.io/v1", kind: "IngressClass", ic))
        // scope is a pointer without omitempty: null when unset, as Go writes it.
        let spec = decoded.object["spec"]
        #expect(spec == (try json("""
            {"controller":"example.com/ingress",
             "parameters":{"apiGroup":"k8s.example.com","kind":"Params","name":"p","scope":null}}
            """)))
    }

    @Test func timesMicroTimesAndManagedFields() throws {
        var event = K8s_Io_Api_Events_V1_Event()
        event.metadata = B.meta(name: "e1", namespace: "default")
        event.metadata.creationTimestamp = B.time(1_714_557_600)
        event.metadata.deletionTimestamp = B.time(0)
        var entry = K8s_Io_Apimachinery_Pkg_Apis_Meta_V1_ManagedFieldsEntry()
        entry.manager = "kubectl-create"
        entry.operation = "Update"
        entry.apiVersion = "events.k8s.io/v1"
        entry.time = B.time(1_714_557_600)
        entry.fieldsType = "FieldsV1"
        entry.fieldsV1.raw = Data(#"{"f:note":{}}"#.utf8)
        entry.subresource = ""
        event.metadata.managedFields = [entry]
        event.eventTime.seconds = 1_714_557_600
        event.eventTime.nanos = 123_456_789
        event.reportingController = "capstan"
        event.reportingInstance = "capstan-1"
        event.action = "Create"
        event.reason = "Created"
        event.note = ""
        event.type = "Normal"
        event.deprecatedFirstTimestamp = MetaTime()
        event.deprecatedLastTimestamp = MetaTime()
        event.deprecatedCount = 0
        let decoded = try KubernetesProtobuf.decode(B.body(apiVersion: "events.k8s.io/v1", kind: "Event", event))
        #expect(decoded.object == (try json("""
            {"apiVersion":"events.k8s.io/v1","kind":"Event",
             "metadata":{"name":"e1","namespace":"default","creationTimestamp":"2024-05-01T10:00:00Z",
               "deletionTimestamp":"1970-01-01T00:00:00Z",
               "managedFields":[{"manager":"kubectl-create","operation":"Update","apiVersion":"events.k8s.io/v1",
                 "time":"2024-05-01T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:note":{}}}]},
             "eventTime":"2024-05-01T10:00:00.123456Z","reportingController":"capstan","reportingInstance":"capstan-1",
             "action":"Create","reason":"Created","type":"Normal",
             "deprecatedFirstTimestamp":null,"deprecatedLastTimestamp":null}
            """)))
        let typed = try KubeJSON.decode(EventsV1.Event.self, from: decoded.object.serialized())
        #expect(typed.eventTime.microseconds == 123_456)
    }

    @Test func rawExtensionHoldsJSONOrANestedProtobufObject() throws {
        var revision = K8s_Io_Api_Apps_V1_ControllerRevision()
        revision.metadata = B.meta(name: "r1", namespace: "default")
        revision.revision = 3
        revision.data.raw = Data(#"{"spec":{"template":{"x":[1,2]}}}"#.utf8)
        var decoded = try KubernetesProtobuf.decode(B.body(apiVersion: "apps/v1", kind: "ControllerRevision", revision))
        #expect(decoded.object["data"] == (try json(#"{"spec":{"template":{"x":[1,2]}}}"#)))
        #expect(decoded.object["revision"] == .int(3))

        var cm = K8s_Io_Api_Core_V1_ConfigMap()
        cm.metadata = B.meta(name: "inner")
        cm.data = ["k": "v"]
        revision.data.raw = Data(try B.body(apiVersion: "v1", kind: "ConfigMap", cm))
        decoded = try KubernetesProtobuf.decode(B.body(apiVersion: "apps/v1", kind: "ControllerRevision", revision))
        #expect(decoded.object["data"] == (try json("""
            {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"inner","creationTimestamp":null},"data":{"k":"v"}}
            """)))
    }

    @Test func certificateSigningRequestBytesAndExtra() throws {
        var csr = K8s_Io_Api_Certificates_V1_CertificateSigningRequest()
        csr.metadata = B.meta(name: "csr1")
        csr.spec.request = Data("-----BEGIN CERTIFICATE REQUEST-----\n".utf8)
        csr.spec.signerName = "kubernetes.io/kube-apiserver-client"
        csr.spec.usages = ["client auth"]
        csr.spec.username = ""
        csr.spec.uid = ""
        var scopes = K8s_Io_Api_Certificates_V1_ExtraValue()
        scopes.items = ["read", "write"]
        csr.spec.extra = ["scopes": scopes]
        let decoded = try KubernetesProtobuf.decode(
            B.body(apiVersion: "certificates.k8s.io/v1", kind: "CertificateSigningRequest", csr))
        #expect(decoded.object["spec"] == (try json("""
            {"request":"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K",
             "signerName":"kubernetes.io/kube-apiserver-client","usages":["client auth"],
             "extra":{"scopes":["read","write"]}}
            """)))
        _ = try KubeJSON.decode(CertificatesV1.CertificateSigningRequest.self, from: decoded.object.serialized())
    }

    @Test func deleteOptionsDecodeInEveryServedGroupVersion() throws {
        var options = K8s_Io_Apimachinery_Pkg_Apis_Meta_V1_DeleteOptions()
        options.gracePeriodSeconds = 0
        options.propagationPolicy = "Foreground"
        for apiVersion in ["v1", "apps/v1", "batch/v1", "meta.k8s.io/v1"] {
            let decoded = try KubernetesProtobuf.decode(B.body(apiVersion: apiVersion, kind: "DeleteOptions", options))
            #expect(decoded.object == .object([
                "apiVersion": .string(apiVersion), "kind": .string("DeleteOptions"),
                "gracePeriodSeconds": .int(0), "propagationPolicy": .string("Foreground"),
            ]))
        }
    }

    @Test func durationsFormatLikeGo() {
        #expect(GoDuration.format(nanoseconds: 0) == "0s")
        #expect(GoDuration.format(nanoseconds: 1) == "1ns")
        #expect(GoDuration.format(nanoseconds: 1_500) == "1.5µs")
        #expect(GoDuration.format(nanoseconds: 150_000_000) == "150ms")
        #expect(GoDuration.format(nanoseconds: 1_000_000_000) == "1s")
        #expect(GoDuration.format(nanoseconds: 90 * 1_000_000_000) == "1m30s")
        #expect(GoDuration.format(nanoseconds: 3_723_500_000_000) == "1h2m3.5s")
        #expect(GoDuration.format(nanoseconds: -5_000_000_000) == "-5s")
        #expect(GoDuration.format(nanoseconds: .min) == "-2562047h47m16.854775808s")
    }

    @Test func kindsTable() {
        #expect(KubernetesProtobuf.hasProtobufForm(apiVersion: "v1", kind: "Pod"))
        #expect(KubernetesProtobuf.hasProtobufForm(apiVersion: "apps/v1", kind: "Deployment"))
        #expect(KubernetesProtobuf.hasProtobufForm(apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest"))
        #expect(KubernetesProtobuf.hasProtobufForm(apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler"))
        #expect(KubernetesProtobuf.hasProtobufForm(apiVersion: "policy/v1", kind: "Eviction"))
        #expect(!KubernetesProtobuf.hasProtobufForm(apiVersion: "apps/v1beta1", kind: "Deployment"))
        #expect(!KubernetesProtobuf.hasProtobufForm(apiVersion: "stable.example.com/v1", kind: "CronTab"))
        #expect(!KubernetesProtobuf.hasProtobufForm(apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition"))
    }
}
