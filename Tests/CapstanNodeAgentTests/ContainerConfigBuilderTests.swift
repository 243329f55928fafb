import CapstanAPI
import CapstanContainerRuntime
import Foundation
import Testing
@testable import CapstanNodeAgent

@Suite struct ContainerConfigBuilderTests {
    var pod: CoreV1.Pod {
        var pod = makePod(containers: [container("app")])
        pod.metadata?.labels = ["tier": "web"]
        pod.spec?.serviceAccountName = "robot"
        return pod
    }

    @Test func environmentResolvesEveryValueFromKindAndExpands() throws {
        var app = container("app")
        app.resources = CoreV1.ResourceRequirements(limits: ["cpu": "500m", "memory": "64Mi"], requests: ["cpu": "250m"])
        app.envFrom = [CoreV1.EnvFromSource(configMapRef: CoreV1.ConfigMapEnvSource(name: "cfg"), prefix: "CFG_")]
        app.env = [
            CoreV1.EnvVar(name: "NAME", valueFrom: CoreV1.EnvVarSource(fieldRef: CoreV1.ObjectFieldSelector(fieldPath: "metadata.name"))),
            CoreV1.EnvVar(name: "TIER", valueFrom: CoreV1.EnvVarSource(fieldRef: CoreV1.ObjectFieldSelector(fieldPath: "metadata.labels['tier']"))),
            CoreV1.EnvVar(name: "IP", valueFrom: CoreV1.EnvVarSource(fieldRef: CoreV1.ObjectFieldSelector(fieldPath: "status.podIP"))),
            CoreV1.EnvVar(name: "SA", valueFrom: CoreV1.EnvVarSource(fieldRef: CoreV1.ObjectFieldSelector(fieldPath: "spec.serviceAccountName"))),
            CoreV1.EnvVar(name: "KEY", valueFrom: CoreV1.EnvVarSource(configMapKeyRef: CoreV1.ConfigMapKeySelector(key: "k", name: "cfg"))),
            CoreV1.EnvVar(name: "PASS", valueFrom: CoreV1.EnvVarSource(secretKeyRef: CoreV1.SecretKeySelector(key: "p", name: "sec"))),
            CoreV1.EnvVar(name: "MEM", valueFrom: CoreV1.EnvVarSource(resourceFieldRef: CoreV1.ResourceFieldSelector(divisor: "1Mi", resource: "limits.memory"))),
            CoreV1.EnvVar(name: "CPU", valueFrom: CoreV1.EnvVarSource(resourceFieldRef: CoreV1.ResourceFieldSelector(resource: "limits.cpu"))),
            CoreV1.EnvVar(name: "GREETING", value: "hi $(NAME) $$(NAME) $(UNKNOWN)"),
            CoreV1.EnvVar(name: "OPTIONAL", valueFrom: CoreV1.EnvVarSource(secretKeyRef: CoreV1.SecretKeySelector(key: "x", name: "none", optional: true))),
        ]
        app.command = ["echo", "$(GREETING)"]
        let builder = ContainerConfigBuilder(pod: pod, configMaps: ["cfg": ["k": "v", "a": "1"]], secrets: ["sec": ["p": "pw"]],
                                             podIP: "10.42.0.9", hostIP: "10.0.0.5")
        let config = try builder.config(for: app, attempt: 2, logPath: "/logs/2.log", mounts: [])
        let env = Dictionary(config.env.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(config.env.map(\.name).prefix(2) == ["CFG_a", "CFG_k"])
        #expect(env["NAME"] == "web" && env["TIER"] == "web" && env["IP"] == "10.42.0.9" && env["SA"] == "robot")
        #expect(env["KEY"] == "v" && env["PASS"] == "pw" && env["MEM"] == "64" && env["CPU"] == "1")
        #expect(env["GREETING"] == "hi web $(NAME) $(UNKNOWN)" && env["OPTIONAL"] == nil)
        #expect(config.command == ["echo", "hi web $(NAME) $(UNKNOWN)"])
        #expect(config.metadata == ContainerMetadata(name: "app", attempt: 2) && config.logPath == "/logs/2.log")
        #expect(config.resources.cpuShares == 256 && config.resources.cpuQuota == 50_000 && config.resources.cpuPeriod == 100_000)
        #expect(config.resources.memoryLimitBytes == 64 << 20)
        #expect(config.labels[AgentLabels.podUID] == "uid-1" && config.labels[AgentLabels.containerName] == "app")
    }

    @Test(arguments: [
        (CoreV1.EnvVarSource(configMapKeyRef: CoreV1.ConfigMapKeySelector(key: "k", name: "gone")), "configmap \"gone\" not found"),
        (CoreV1.EnvVarSource(configMapKeyRef: CoreV1.ConfigMapKeySelector(key: "nokey", name: "cfg")), "couldn't find key nokey in ConfigMap default/cfg"),
        (CoreV1.EnvVarSource(secretKeyRef: CoreV1.SecretKeySelector(key: "p", name: "gone")), "secret \"gone\" not found"),
    ])
    func missingReferencesAreErrors(source: CoreV1.EnvVarSource, message: String) {
        var app = container("app")
        app.env = [CoreV1.EnvVar(name: "X", valueFrom: source)]
        let builder = ContainerConfigBuilder(pod: pod, configMaps: ["cfg": ["k": "v"]], podIP: nil, hostIP: "10.0.0.5")
        #expect(throws: ContainerConfigBuilder.MissingReference.self) { try builder.config(for: app, attempt: 0, logPath: nil, mounts: []) }
        do {
            _ = try builder.config(for: app, attempt: 0, logPath: nil, mounts: [])
        } catch {
            #expect(error.description == message)
        }
    }

    @Test(arguments: [("busybox", "Always"), ("busybox:latest", "Always"), ("busybox:1.36", "IfNotPresent"),
                      ("registry:5000/busybox", "Always"), ("busybox@sha256:abc", "IfNotPresent")])
    func defaultPullPolicy(image: String, policy: String) {
        #expect(PodWorker.defaultPullPolicy(image) == policy)
    }
}

@Suite struct PullSecretsTests {
    @Test(arguments: [("busybox", "docker.io"), ("library/busybox:1", "docker.io"), ("ghcr.io/a/b:1", "ghcr.io"),
                      ("localhost/import:latest", "localhost"), ("127.0.0.1:5000/demo/busybox@sha256:ab", "127.0.0.1:5000")])
    func registryOfImage(image: String, registry: String) {
        #expect(PullSecrets.registry(of: image) == registry)
    }

    @Test func matchesDockerConfigJSONAndDockercfg() {
        let json = #"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},"reg:5000":{"username":"u","password":"p"}}}"#
        let old = #"{"ghcr.io":{"username":"g","password":"h"}}"#
        let secrets: [[String: [UInt8]]] = [[".dockerconfigjson": Array(json.utf8)], [".dockercfg": Array(old.utf8)]]
        #expect(PullSecrets.auth(for: "busybox", secrets: secrets) == RegistryAuth(username: "user", password: "pass"))
        #expect(PullSecrets.auth(for: "reg:5000/x/y:1", secrets: secrets) == RegistryAuth(username: "u", password: "p"))
        #expect(PullSecrets.auth(for: "ghcr.io/x/y", secrets: secrets) == RegistryAuth(username: "g", password: "h"))
        #expect(PullSecrets.auth(for: "quay.io/x/y", secrets: secrets) == nil)
        #expect(PullSecrets.auth(for: "busybox", secrets: [[".dockerconfigjson": Array("not json".utf8)]]) == nil)
    }
}
