import ArgumentParser
import CapstanAPI
import Foundation

/// `capstan bench codec`: the cost of turning a served Pod's JSON into the generated type, on
/// Foundation's `JSONDecoder` and on the fast path (parse, then `init(json:)`), alternating in
/// rounds in one process so the machine's noise weighs on both alike.
struct BenchCodecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec",
        abstract: "Measure typed decoding of a served Pod (JSONDecoder against the fast path), parsing and serializing.")

    @Option(name: .long, help: "Decodes per round and path.")
    var count = 20000

    @Option(name: .long, help: "Rounds (each path once per round).")
    var rounds = 7

    func run() async throws {
        let bytes = Array(Self.servedPod.utf8)
        print("bench codec: a served Pod of \(bytes.count) bytes, \(count) decodes per round and path, \(rounds) rounds")
        var foundation: [Double] = [], fast: [Double] = [], parse: [Double] = [], serialize: [Double] = []
        let parsed = try JSONValue.parse(bytes)
        for _ in 0..<rounds {
            foundation.append(try Self.time(count) { _ = try KubeJSON.decodeWithFoundation(CoreV1.Pod.self, from: bytes) })
            fast.append(try Self.time(count) { _ = try KubeJSON.decode(CoreV1.Pod.self, from: bytes) })
            parse.append(try Self.time(count) { _ = try JSONValue.parse(bytes) })
            serialize.append(try Self.time(count) { _ = parsed.serialized() })
        }
        let (f, q, p, w) = (Percentile.median(foundation), Percentile.median(fast), Percentile.median(parse), Percentile.median(serialize))
        print(String(format: "JSONDecoder: %.1f µs per pod (median of rounds)", f))
        print(String(format: "fast path:   %.1f µs per pod (of it the parse: %.1f µs)", q, p))
        print(String(format: "serializing the parsed pod (as the server stores and serves objects): %.1f µs", w))
        print(String(format: "RESULT foundation_us=%.1f fast_us=%.1f parse_us=%.1f serialize_us=%.1f speedup=%.2f", f, q, p, w, f / q))
    }

    /// Microseconds per call of `body`, over `count` calls.
    static func time(_ count: Int, _ body: () throws -> Void) throws -> Double {
        let start = ContinuousClock.now
        for _ in 0..<count { try body() }
        return Percentile.ms(ContinuousClock.now - start) * 1000 / Double(count)
    }

    /// A pod as the API server serves it once scheduled and running: defaults, an owner,
    /// managed fields, probes, a toleration and an affinity term, and a status.
    static let servedPod = #"""
    {"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-7d4b9c8f6-x2x9k","generateName":"web-7d4b9c8f6-","namespace":"default",
    "uid":"8c0f6a3e-3b0c-4c53-9b1c-0d1f6f1b2a11","resourceVersion":"104233","creationTimestamp":"2026-11-21T10:00:00Z",
    "labels":{"app":"web","pod-template-hash":"7d4b9c8f6"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet",
    "name":"web-7d4b9c8f6","uid":"0b6b3f0e-4a35-4a55-8d5e-2a1c9e4e7f10","controller":true,"blockOwnerDeletion":true}],
    "managedFields":[{"manager":"kube-controller-manager","operation":"Update","apiVersion":"v1","time":"2026-11-21T10:00:00Z",
    "fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:generateName":{},"f:labels":{".":{},"f:app":{},"f:pod-template-hash":{}},
    "f:ownerReferences":{".":{},"k:{\"uid\":\"0b6b3f0e-4a35-4a55-8d5e-2a1c9e4e7f10\"}":{}}},"f:spec":{"f:containers":
    {"k:{\"name\":\"web\"}":{".":{},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:ports":{},"f:resources":{}}}}}},
    {"manager":"kubelet","operation":"Update","apiVersion":"v1","time":"2026-11-21T10:00:02Z","fieldsType":"FieldsV1",
    "fieldsV1":{"f:status":{"f:conditions":{},"f:containerStatuses":{},"f:phase":{},"f:podIP":{},"f:startTime":{}}},"subresource":"status"}]},
    "spec":{"volumes":[{"name":"kube-api-access-7x2lq","projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},
    {"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}}],"defaultMode":420}}],
    "containers":[{"name":"web","image":"nginx:1.27","ports":[{"name":"http","containerPort":80,"protocol":"TCP"}],
    "resources":{"limits":{"cpu":"500m","memory":"256Mi"},"requests":{"cpu":"100m","memory":"128Mi"}},
    "volumeMounts":[{"name":"kube-api-access-7x2lq","readOnly":true,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}],
    "livenessProbe":{"httpGet":{"path":"/healthz","port":"http","scheme":"HTTP"},"timeoutSeconds":1,"periodSeconds":10,"successThreshold":1,"failureThreshold":3},
    "readinessProbe":{"tcpSocket":{"port":80},"timeoutSeconds":1,"periodSeconds":5,"successThreshold":1,"failureThreshold":3},
    "terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],
    "restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"default",
    "serviceAccount":"default","nodeName":"node-17","securityContext":{},"schedulerName":"default-scheduler",
    "affinity":{"podAntiAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":100,"podAffinityTerm":
    {"labelSelector":{"matchLabels":{"app":"web"}},"topologyKey":"kubernetes.io/hostname"}}]}},
    "tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300},
    {"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],
    "priority":0,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"},
    "status":{"phase":"Running","conditions":[{"type":"Initialized","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-21T10:00:00Z"},
    {"type":"Ready","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-21T10:00:03Z"},
    {"type":"ContainersReady","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-21T10:00:03Z"},
    {"type":"PodScheduled","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-21T10:00:00Z"}],
    "hostIP":"10.0.0.17","hostIPs":[{"ip":"10.0.0.17"}],"podIP":"10.244.17.9","podIPs":[{"ip":"10.244.17.9"}],
    "startTime":"2026-11-21T10:00:00Z","containerStatuses":[{"name":"web","state":{"running":{"startedAt":"2026-11-21T10:00:02Z"}},
    "lastState":{},"ready":true,"restartCount":0,"image":"docker.io/library/nginx:1.27","imageID":"docker.io/library/nginx@sha256:0a399eb16751829e1af26fea27b20c3ec28d7ab1fb72182879dcae1cca21206a",
    "containerID":"containerd://5f0e4b3f7c2d","started":true}],"qosClass":"Burstable"}}
    """#
}
