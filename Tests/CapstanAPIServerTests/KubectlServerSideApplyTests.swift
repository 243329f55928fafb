import Foundation
import Testing

private let webDeployment = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ssa-web
  labels:
    app: ssa-web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: ssa-web
  template:
    metadata:
      labels:
        app: ssa-web
    spec:
      containers:
      - name: web
        image: nginx:1.27

"""

@Suite("kubectl 1.33: server-side apply, auth and strict validation", .tags(.integration),
       .enabled(if: Kubectl.available(), "kubectl 1.33 is not installed at \(Kubectl.v133)"))
struct KubectlServerSideApplyTests {
    @Test func serverSideApplyWithTwoManagersAndAConflict() async throws {
        try await withKubectl { _, k in
            let created = try await k.ok("apply", "--server-side", "-f", "-", stdin: webDeployment)
            #expect(created.contains("deployment.apps/ssa-web serverside-applied"), "\(created)")
            let again = try await k.ok("apply", "--server-side", "-f", "-", stdin: webDeployment)
            #expect(again.contains("serverside-applied"), "\(again)")

            // A second manager changing replicas conflicts with kubectl's ownership.
            let scaled = webDeployment.replacingOccurrences(of: "replicas: 2", with: "replicas: 5")
            let conflict = try await k.run("apply", "--server-side", "--field-manager=autoscaler", "-f", "-", stdin: scaled)
            #expect(conflict.exitCode != 0, "\(conflict)")
            #expect(conflict.stderr.contains(#"Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas"#), "\(conflict.stderr)")
            #expect(try await k.ok("get", "deploy", "ssa-web", "-o", "jsonpath={.spec.replicas}") == "2")

            // --force-conflicts takes the field over.
            try await k.ok("apply", "--server-side", "--field-manager=autoscaler", "--force-conflicts", "-f", "-", stdin: scaled)
            #expect(try await k.ok("get", "deploy", "ssa-web", "-o", "jsonpath={.spec.replicas}") == "5")
            let object = try JSON.parse(try await k.ok("get", "deploy", "ssa-web", "-o", "json", "--show-managed-fields"))
            var owners: [String: JSON] = [:]
            for entry in object.at("metadata.managedFields")?.array ?? [] {
                owners[entry["manager"]?.string ?? ""] = entry
            }
            #expect(owners["autoscaler"]?["operation"]?.string == "Apply", "\(object)")
            #expect(owners["autoscaler"]?.at("fieldsV1.f:spec.f:replicas") == [:])
            #expect(owners["kubectl"]?.at("fieldsV1.f:spec.f:replicas") == nil)
            #expect(owners["kubectl"]?.at("fieldsV1.f:spec.f:template") != nil)

            // An imperative change is recorded as an Update by the command's manager.
            try await k.ok("label", "deploy", "ssa-web", "tier=frontend")
            let labelled = try JSON.parse(try await k.ok("get", "deploy", "ssa-web", "-o", "json", "--show-managed-fields"))
            let updaters = (labelled.at("metadata.managedFields")?.array ?? []).filter { $0["operation"]?.string == "Update" }
            #expect(updaters.contains { $0.at("fieldsV1.f:metadata.f:labels.f:tier") == [:] }, "\(labelled)")
        }
    }

    @Test func clientSideApplyMovesToServerSideApplyWithoutConflicts() async throws {
        try await withKubectl { _, k in
            try await k.ok("apply", "-f", "-", stdin: webDeployment)
            let csa = try JSON.parse(try await k.ok("get", "deploy", "ssa-web", "-o", "json", "--show-managed-fields"))
            let before = (csa.at("metadata.managedFields")?.array ?? []).compactMap { $0["manager"]?.string }
            #expect(before == ["kubectl-client-side-apply"], "\(csa)")
            // kubectl hands the client-side manager's fields to its server-side manager first.
            let changed = webDeployment.replacingOccurrences(of: "replicas: 2", with: "replicas: 3")
            let out = try await k.ok("apply", "--server-side", "-f", "-", stdin: changed)
            #expect(out.contains("serverside-applied"), "\(out)")
            let ssa = try JSON.parse(try await k.ok("get", "deploy", "ssa-web", "-o", "json", "--show-managed-fields"))
            #expect(ssa.at("spec.replicas")?.int == 3)
            let managers = (ssa.at("metadata.managedFields")?.array ?? []).map {
                ($0["manager"]?.string ?? "") + "/" + ($0["operation"]?.string ?? "")
            }
            #expect(managers.contains("kubectl/Apply"), "\(managers)")
            #expect(!managers.contains("kubectl-client-side-apply/Update"), "\(managers)")
        }
    }

    @Test func authCanIAndWhoami() async throws {
        try await withKubectl { _, k in
            let yes = try await k.ok("auth", "can-i", "create", "pods")
            #expect(yes.trimmingCharacters(in: .whitespacesAndNewlines) == "yes", "\(yes)")
            let list = try await k.ok("auth", "can-i", "--list")
            #expect(list.contains("*.*"), "\(list)")
            let whoami = try JSON.parse(try await k.ok("auth", "whoami", "-o", "json"))
            #expect(whoami["kind"]?.string == "SelfSubjectReview")
            #expect(whoami.at("status.userInfo.username")?.string?.isEmpty == false, "\(whoami)")
            #expect(whoami.at("status.userInfo.groups")?.array?.contains("system:authenticated") == true, "\(whoami)")
        }
    }

    @Test func createTokenAuthenticatesAsTheServiceAccount() async throws {
        try await withKubectl { _, k in
            try await k.ok("create", "serviceaccount", "robot")
            let token = try await k.ok("create", "token", "robot").trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(token.split(separator: ".").count == 3, "\(token)")
            let who = try JSON.parse(try await k.ok("auth", "whoami", "-o", "json", "--token=" + token))
            #expect(who.at("status.userInfo.username")?.string == "system:serviceaccount:default:robot", "\(who)")
            #expect(who.at("status.userInfo.groups")?.array?.contains("system:serviceaccounts:default") == true)
            let review = "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\",\"spec\":{\"token\":\"\(token)\"}}"
            let reviewed = try JSON.parse(try await k.ok("create", "-o", "json", "-f", "-", stdin: review))
            #expect(reviewed.at("status.authenticated") == true && reviewed.at("status.user.username")?.string == "system:serviceaccount:default:robot")
            // One character of the signature changed, in its middle: the last characters of a
            // base64url signature carry padding bits a decoder ignores, so changing them may
            // leave the signature as it was.
            var characters = Array(token)
            let signatureStart = (characters.lastIndex(of: ".") ?? 0) + 1
            let middle = (signatureStart + characters.count) / 2
            characters[middle] = characters[middle] == "A" ? "B" : "A"
            let tampered = try await k.run("auth", "whoami", "--token=" + String(characters))
            #expect(tampered.exitCode != 0 && tampered.stderr.contains("Unauthorized"), "\(tampered)")
            let missing = try await k.run("create", "token", "nobody")
            #expect(missing.exitCode != 0 && missing.stderr.contains("not found"), "\(missing)")
            let short = try await k.run("create", "token", "robot", "--duration=1m")
            #expect(short.exitCode != 0 && short.stderr.contains("less than 10 minutes"), "\(short)")
        }
    }

    @Test func strictValidationNamesTheTypo() async throws {
        try await withKubectl { _, k in
            let typo = webDeployment.replacingOccurrences(of: "replicas: 2", with: "replicass: 2")
            let strict = try await k.run("apply", "--validate=strict", "-f", "-", stdin: typo)
            #expect(strict.exitCode != 0, "\(strict)")
            #expect(strict.stderr.contains(#"unknown field "spec.replicass""#), "\(strict.stderr)")
            let ssa = try await k.run("apply", "--server-side", "--validate=strict", "-f", "-", stdin: typo)
            #expect(ssa.exitCode != 0 && ssa.stderr.contains(#"unknown field "spec.replicass""#), "\(ssa)")
            // Warn: created, with kubectl printing the server's warning.
            let warn = try await k.run("apply", "--validate=warn", "-f", "-", stdin: typo)
            #expect(warn.exitCode == 0, "\(warn)")
            #expect(warn.stderr.contains(#"Warning: unknown field "spec.replicass""#), "\(warn.stderr)")
        }
    }
}
