import Foundation
import Testing

let multiDocument = """
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
  labels:
    app: shop
data:
  mode: production
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 80

"""

@Suite("kubectl 1.33 against the TLS server", .tags(.integration),
       .enabled(if: Kubectl.available(), "kubectl 1.33 is not installed at \(Kubectl.v133)"))
struct KubectlTests {
    @Test func versionAndAPIResources() async throws {
        try await withKubectl { _, k in
            let version = try JSON.parse(try await k.ok("version", "-o", "json"))
            #expect(version.at("serverVersion.major")?.string == "1")
            #expect(version.at("serverVersion.gitVersion")?.string?.hasPrefix("v1.") == true)

            let resources = try await k.ok("api-resources")
            let lines = resources.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
            #expect(lines.first == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"])
            #expect(lines.contains(["deployments", "deploy", "apps/v1", "true", "Deployment"]), "\(resources)")
            #expect(lines.contains(["pods", "po", "v1", "true", "Pod"]))
            #expect(lines.contains(["namespaces", "ns", "v1", "false", "Namespace"]))
            let versions = try await k.ok("api-versions")
            #expect(versions.contains("apps/v1") && versions.contains("batch/v1"))
            let readyz = try await k.ok("get", "--raw", "/readyz")
            #expect(readyz == "ok")
        }
    }

    @Test func applyMultiDocumentYAMLAndReapply() async throws {
        try await withKubectl { _, k in
            let applied = try await k.ok("apply", "-f", "-", stdin: multiDocument)
            #expect(applied.contains("namespace/shop created"), "\(applied)")
            #expect(applied.contains("configmap/settings created"))
            #expect(applied.contains("deployment.apps/web created"))
            #expect(applied.contains("service/web created"))

            let again = try await k.ok("apply", "-f", "-", stdin: multiDocument)
            for line in ["namespace/shop unchanged", "configmap/settings unchanged", "deployment.apps/web unchanged", "service/web unchanged"] {
                #expect(again.contains(line), "re-apply: \(again)")
            }
            let changed = try await k.ok("apply", "-f", "-", stdin: multiDocument.replacingOccurrences(of: "mode: production", with: "mode: staging"))
            #expect(changed.contains("configmap/settings configured"), "\(changed)")
            let mode = try await k.ok("get", "configmap", "settings", "-n", "shop", "-o", "jsonpath={.data.mode}")
            #expect(mode == "staging")
        }
    }

    @Test func getInEveryOutputFormat() async throws {
        try await withKubectl { _, k in
            try await k.ok("apply", "-f", "-", stdin: multiDocument)
            let table = try await k.ok("get", "deployments", "-n", "shop")
            let header = table.split(separator: "\n").first.map { $0.split(separator: " ", omittingEmptySubsequences: true) } ?? []
            #expect(header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], "\(table)")
            #expect(table.contains("web"))

            let wide = try await k.ok("get", "deployments", "-n", "shop", "-o", "wide")
            #expect(wide.contains("CONTAINERS") && wide.contains("IMAGES") && wide.contains("SELECTOR"), "\(wide)")
            #expect(wide.contains("nginx:1.27") && wide.contains("app=web"))

            let services = try await k.ok("get", "svc", "-n", "shop")
            #expect(services.contains("CLUSTER-IP") && services.contains("PORT(S)"), "\(services)")
            #expect(services.contains("10.43.") && services.contains("80/TCP"))

            let json = try JSON.parse(try await k.ok("get", "deploy", "web", "-n", "shop", "-o", "json"))
            #expect(json["kind"]?.string == "Deployment")
            #expect(json.at("spec.strategy.type")?.string == "RollingUpdate")

            let yaml = try await k.ok("get", "configmap", "settings", "-n", "shop", "-o", "yaml")
            #expect(yaml.contains("kind: ConfigMap") && yaml.contains("mode: production"), "\(yaml)")

            let names = try await k.ok("get", "all", "-n", "shop", "-o", "name")
            #expect(names.contains("deployment.apps/web") && names.contains("service/web"), "\(names)")

            let jsonpath = try await k.ok("get", "pods,configmaps", "-n", "shop", "-o", "jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}")
            #expect(jsonpath.contains("settings"))

            let labeled = try await k.ok("get", "cm", "-n", "shop", "-l", "app=shop", "-o", "name")
            #expect(labeled.trimmingCharacters(in: .whitespacesAndNewlines) == "configmap/settings")

            let missing = try await k.run("get", "configmap", "nope", "-n", "shop")
            #expect(missing.exitCode != 0)
            #expect(missing.stderr.contains("Error from server (NotFound): configmaps \"nope\" not found"), "\(missing)")
        }
    }

    @Test func describeAndDeleteSeveralKinds() async throws {
        try await withKubectl { _, k in
            try await k.ok("apply", "-f", "-", stdin: multiDocument)
            let pod = """
            apiVersion: v1
            kind: Pod
            metadata: {name: solo, namespace: shop, labels: {run: solo}}
            spec:
              containers: [{name: c, image: busybox, command: [sleep, "3600"]}]
            """
            try await k.ok("create", "-f", "-", stdin: pod)
            let describePod = try await k.ok("describe", "pod", "solo", "-n", "shop")
            #expect(describePod.contains("Name:") && describePod.contains("solo") && describePod.contains("busybox"), "\(describePod)")
            let describeDeploy = try await k.ok("describe", "deployment", "web", "-n", "shop")
            #expect(describeDeploy.contains("RollingUpdateStrategy:") && describeDeploy.contains("25% max unavailable"), "\(describeDeploy)")
            let describeSvc = try await k.ok("describe", "service", "web", "-n", "shop")
            #expect(describeSvc.contains("IP:") && describeSvc.contains("10.43."), "\(describeSvc)")

            let scaled = try await k.ok("scale", "deployment", "web", "-n", "shop", "--replicas=4")
            #expect(scaled.contains("deployment.apps/web scaled"))
            #expect(try await k.ok("get", "deploy", "web", "-n", "shop", "-o", "jsonpath={.spec.replicas}") == "4")

            for (kind, name) in [("pod", "solo"), ("configmap", "settings"), ("service", "web"), ("deployment", "web")] {
                let out = try await k.ok("delete", kind, name, "-n", "shop", "--wait=false")
                #expect(out.contains("deleted"), "\(kind): \(out)")
            }
            let left = try await k.ok("get", "deploy,svc,cm,pods", "-n", "shop", "-o", "name")
            #expect(!left.contains("deployment.apps/web") && !left.contains("service/web") && !left.contains("pod/solo"), "\(left)")
            let ns = try await k.ok("delete", "namespace", "shop", "--wait=false")
            #expect(ns.contains("namespace \"shop\" deleted"), "\(ns)")
        }
    }

    @Test func labelAnnotateAndPatch() async throws {
        try await withKubectl { _, k in
            try await k.ok("apply", "-f", "-", stdin: multiDocument)
            #expect(try await k.ok("label", "configmap", "settings", "-n", "shop", "tier=backend").contains("labeled"))
            #expect(try await k.ok("annotate", "configmap", "settings", "-n", "shop", "owner=ops").contains("annotated"))
            let labels = try await k.ok("get", "cm", "settings", "-n", "shop", "-o", "jsonpath={.metadata.labels.tier},{.metadata.annotations.owner}")
            #expect(labels == "backend,ops")
            let overwrite = try await k.run("label", "configmap", "settings", "-n", "shop", "tier=frontend")
            #expect(overwrite.exitCode != 0, "label without --overwrite must fail: \(overwrite)")
            try await k.ok("label", "configmap", "settings", "-n", "shop", "tier-")

            let merge = try await k.ok("patch", "configmap", "settings", "-n", "shop", "--type", "merge", "-p", #"{"data":{"extra":"1"}}"#)
            #expect(merge.contains("patched"), "\(merge)")
            let json = try await k.ok("patch", "deployment", "web", "-n", "shop", "--type", "json",
                                      "-p", #"[{"op":"replace","path":"/spec/replicas","value":3}]"#)
            #expect(json.contains("patched"), "\(json)")
            let result = try await k.ok("get", "deploy", "web", "-n", "shop", "-o", "jsonpath={.spec.replicas},{.metadata.generation}")
            #expect(result == "3,2")
            let data = try await k.ok("get", "cm", "settings", "-n", "shop", "-o", "jsonpath={.data.extra},{.metadata.labels.tier}")
            #expect(data == "1,")
            let bad = try await k.run("patch", "configmap", "settings", "-n", "shop", "--type", "json", "-p", #"[{"op":"remove","path":"/data/none"}]"#)
            #expect(bad.exitCode != 0)
            #expect(bad.stderr.contains("The request is invalid") || bad.stderr.contains("Error from server"), "\(bad)")
        }
    }

    @Test func getWatchReceivesEvents() async throws {
        try await withKubectl { _, k in
            let watcher = try k.start("get", "configmaps", "-n", "default", "-w", "--output-watch-events")
            defer { watcher.kill() }
            // Wait until the watch is established: the initial list prints kube-root-ca.crt or nothing,
            // so create objects until the watcher reports one.
            try await k.ok("create", "-f", "-", stdin: "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"w1\"}}")
            #expect(await eventually { watcher.stdout.contains("w1") }, "watch output: \(watcher.stdout) \(watcher.stderr)")
            try await k.ok("label", "configmap", "w1", "x=y")
            try await k.ok("delete", "configmap", "w1")
            // Other tests share the server and may delete their own config maps meanwhile, so
            // only rows about w1 count: `EVENT NAME DATA AGE`.
            func eventsForW1() -> [String] {
                var events: [String] = []
                for line in watcher.stdout.split(separator: "\n") {
                    let columns: [Substring] = line.split(separator: " ", omittingEmptySubsequences: true)
                    if columns.count > 1, columns[1] == "w1" { events.append(String(columns[0])) }
                }
                return events
            }
            let sawAll = await eventually { eventsForW1().last == "DELETED" }
            #expect(sawAll, "watch output: \(watcher.stdout)\nstderr: \(watcher.stderr)")
            #expect(eventsForW1().suffix(3) == ["ADDED", "MODIFIED", "DELETED"], "\(watcher.stdout)")
            #expect(!watcher.hasExited, "the watch should still be running: \(watcher.stderr)")
        }
    }

    @Test func explainUsesOpenAPI() async throws {
        try await withKubectl { _, k in
            let out = try await k.ok("explain", "deployment.spec")
            #expect(out.contains("GROUP:") && out.contains("apps"), "\(out)")
            #expect(out.contains("KIND:") && out.contains("Deployment"))
            #expect(out.contains("replicas") && out.contains("strategy") && out.contains("template"))
            let field = try await k.ok("explain", "pods.spec.containers.image")
            #expect(field.contains("FIELD: image"), "\(field)")
        }
    }

    @Test func pagingWithChunkSize() async throws {
        try await withKubectl { _, k in
            var docs: [String] = []
            for i in 0..<7 {
                docs.append("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: chunk-\(i)\n  namespace: default\n")
            }
            try await k.ok("apply", "-f", "-", stdin: docs.joined(separator: "---\n"))
            let r = try await k.run("get", "configmaps", "-n", "default", "--chunk-size=2", "-o", "name", "-v=6")
            #expect(r.exitCode == 0, "\(r)")
            let names = r.stdout.split(separator: "\n").filter { $0.hasPrefix("configmap/chunk-") }
            #expect(names.count == 7, "\(r.stdout)")
            #expect(r.stderr.contains("limit=2"), "kubectl should page: \(r.stderr.prefix(2000))")
            #expect(r.stderr.contains("continue="), "kubectl should follow continue tokens: \(r.stderr.prefix(2000))")
            let table = try await k.ok("get", "configmaps", "-n", "default", "--chunk-size=3")
            #expect(table.split(separator: "\n").filter { $0.hasPrefix("chunk-") }.count == 7, "\(table)")
            #expect(table.split(separator: "\n").filter { $0.hasPrefix("NAME") }.count == 1, "one header across pages: \(table)")
        }
    }

    @Test func anonymousRequestsAreUnauthorized() async throws {
        try await withKubectl { s, k in
            let config = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: capstan
              cluster:
                server: https://127.0.0.1:\(s.port)
                insecure-skip-tls-verify: true
            users:
            - name: nobody
              user: {username: anonymous}
            contexts:
            - name: anon
              context: {cluster: capstan, user: nobody}
            current-context: anon

            """
            // A user with a name and nothing else: kubectl sends no credential the server accepts
            // (with no user at all kubectl would prompt for one on stdin).
            let path = s.directory + "/anonymous.kubeconfig"
            try config.write(toFile: path, atomically: true, encoding: .utf8)
            let anon = Kubectl(kubeconfig: path, workDir: s.directory)
            let r = try await anon.run("get", "pods", "-n", "default")
            #expect(r.exitCode != 0)
            #expect(r.stderr.contains("You must be logged in to the server"), "\(r)")
            let raw = try await anon.run("get", "--raw", "/api/v1/namespaces")
            #expect(raw.exitCode != 0)
            #expect(raw.stderr.contains("You must be logged in to the server (Unauthorized)"), "\(raw)")
            // Health probes answer anonymous clients.
            let health = try await anon.run("get", "--raw", "/healthz")
            #expect(health.exitCode == 0 && health.stdout == "ok", "\(health)")
            _ = k

            // A raw request with no credentials at all gets the 401 Status.
            if let curl = which("curl"), let ca = s.server.pki?.certificateAuthority.certificatePEM {
                try ca.write(toFile: s.directory + "/ca.pem", atomically: true, encoding: .utf8)
                let p = try ChildProcess(curl, ["-s", "-w", "\n%{http_code}", "--cacert", s.directory + "/ca.pem",
                                                "https://127.0.0.1:\(s.port)/api/v1/namespaces"], directory: s.directory)
                let out = await p.wait(timeout: .seconds(10))
                let lines = out.stdout.split(separator: "\n")
                #expect(lines.last == "401", "\(out)")
                let status = try JSON.parse(String(lines.first ?? ""))
                #expect(status["kind"]?.string == "Status" && status["reason"]?.string == "Unauthorized" && status["code"]?.int == 401, "\(out)")
            }
        }
    }

    @Test func bearerTokenFromTokenFile() async throws {
        guard Kubectl.available() else { return }
        let dir = try TestServer.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tokenFile = dir + "/tokens.csv"
        try "s3cr3t-token,alice,alice-uid,\"system:masters,dev\"\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try await withServer(tls: true, tokenFile: tokenFile) { s in
            func config(_ token: String) -> String {
                """
                apiVersion: v1
                kind: Config
                clusters:
                - name: capstan
                  cluster:
                    server: https://127.0.0.1:\(s.port)
                    insecure-skip-tls-verify: true
                users:
                - name: alice
                  user:
                    token: \(token)
                contexts:
                - name: alice
                  context: {cluster: capstan, user: alice}
                current-context: alice

                """
            }
            try config("s3cr3t-token").write(toFile: s.directory + "/alice.kubeconfig", atomically: true, encoding: .utf8)
            try config("wrong-token").write(toFile: s.directory + "/wrong.kubeconfig", atomically: true, encoding: .utf8)
            let alice = Kubectl(kubeconfig: s.directory + "/alice.kubeconfig", workDir: s.directory)
            let namespaces = try await alice.ok("get", "namespaces", "-o", "name")
            #expect(namespaces.contains("namespace/default"))
            let wrong = Kubectl(kubeconfig: s.directory + "/wrong.kubeconfig", workDir: s.directory)
            let r = try await wrong.run("get", "namespaces")
            #expect(r.exitCode != 0 && r.stderr.contains("You must be logged in to the server"), "\(r)")
        }
    }
}

@Suite("Older kubectl versions: discovery fallbacks", .tags(.integration))
struct KubectlVersionSkewTests {
    @Test(arguments: ["1.27", "1.31"])
    func discoveryAndGet(version: String) async throws {
        let binary = Kubectl.directory + "/kubectl.\(version)"
        guard Kubectl.available(binary) else {
            print("skipping: \(binary) is not installed")
            return
        }
        try await withKubectl(binary) { _, k in
            let resources = try await k.ok("api-resources")
            #expect(resources.contains("deployments") && resources.contains("apps/v1"), "\(resources)")
            // kubectl 1.27's client-side apply reads its models from /openapi/v2 in protobuf.
            try await k.ok("apply", "-f", "-", stdin: multiDocument)
            let out = try await k.ok("get", "deploy,svc,cm", "-n", "shop")
            #expect(out.contains("deployment.apps/web") && out.contains("service/web"), "\(out)")
            // Re-applying after an edit is a strategic merge patch computed from those models.
            try await k.ok("apply", "-f", "-", stdin: multiDocument.replacingOccurrences(of: "replicas: 2", with: "replicas: 3"))
            let replicas = try await k.ok("get", "deploy", "web", "-n", "shop", "-o", "jsonpath={.spec.replicas}")
            #expect(replicas == "3", "\(replicas)")
            // kubectl <= 1.31 sends JSON for `create deployment`.
            let created = try await k.ok("create", "deployment", "made", "--image=nginx", "-n", "shop")
            #expect(created.contains("deployment.apps/made created"), "\(created)")
        }
    }
}
