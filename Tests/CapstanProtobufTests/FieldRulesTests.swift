import CapstanAPI
@testable import CapstanProtobuf
import Testing

@Suite("Generated field rules and kinds")
struct FieldRulesTests {
    /// Every JSON name in the rules is a property of the schema definition of the same type, so no
    /// protobuf-only name (`aPIGroup`, `uID`) leaks into the JSON.
    @Test func jsonNamesMatchTheSchema() {
        let schema = APISchema.builtIn
        var checked = 0
        for (message, rules) in KubernetesFieldRules.builtIn.messages {
            let definition = "io.k8s." + message.dropFirst("k8s.io.".count)
            guard let fields = schema.type(definition)?.fields else { continue }
            for field in rules.fields.values where field.presence != .inline {
                #expect(fields[field.jsonName] != nil, "\(definition).\(field.jsonName)")
                checked += 1
            }
        }
        #expect(checked > 1500)
    }

    @Test func everyKindHasRulesAndMatchesTheResourceTable() throws {
        for key in KubernetesProtobuf.supportedKinds {
            let type = try #require(KubernetesProtobuf.messageType(forKey: key))
            #expect(KubernetesFieldRules.builtIn.messages[type.protoMessageName] != nil, "\(key)")
        }
        // Every built-in resource Capstan serves in these groups has a protobuf form.
        let groups: Set<String> = ["", "apps", "batch", "autoscaling", "networking.k8s.io", "discovery.k8s.io",
                                   "coordination.k8s.io", "rbac.authorization.k8s.io", "policy", "storage.k8s.io",
                                   "scheduling.k8s.io", "node.k8s.io", "events.k8s.io", "authentication.k8s.io",
                                   "authorization.k8s.io", "certificates.k8s.io", "admissionregistration.k8s.io",
                                   "flowcontrol.apiserver.k8s.io"]
        for resource in APISchema.builtIn.resources where groups.contains(resource.group) {
            let apiVersion = resource.group.isEmpty ? resource.version : "\(resource.group)/\(resource.version)"
            #expect(KubernetesProtobuf.hasProtobufForm(apiVersion: apiVersion, kind: resource.kind), "\(apiVersion) \(resource.kind)")
        }
    }

    @Test func inlineAndZeroRules() throws {
        let rules = KubernetesFieldRules.builtIn.messages
        let volume = try #require(rules["k8s.io.api.core.v1.Volume"])
        #expect(volume.fields[2]?.presence == .inline)
        let spec = try #require(rules["k8s.io.api.apps.v1.DeploymentSpec"])
        #expect(spec.fields[1] == .init(jsonName: "replicas", presence: .whenPresent))
        #expect(spec.fields[5] == .init(jsonName: "minReadySeconds", presence: .unlessZero))
        let tokenSpec = try #require(rules["k8s.io.api.authentication.v1.TokenRequestSpec"])
        #expect(tokenSpec.nullWhenAbsent.sorted() == ["audiences", "boundObjectRef", "expirationSeconds"])
    }
}
