import CapstanAPI
import CapstanAPIMachinery
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Chooses the strategy of each built-in resource.
enum Strategies {
    static func strategy(for info: ResourceInfo, services: ServiceAllocator) -> any ResourceStrategy {
        switch (info.group, info.kind) {
        case ("", "Pod"): return PodStrategy()
        case ("", "Service"): return ServiceStrategy(allocator: services)
        case ("", "Namespace"): return NamespaceStrategy()
        case ("", "Secret"): return SecretStrategy()
        case ("", "ConfigMap"): return ConfigMapStrategy()
        case ("", "PersistentVolumeClaim"):
            return StatusResettingStrategy(defaults: { o in
                o.edit("spec") { $0.setDefault("volumeMode", .string("Filesystem")) }
            })
        case ("", "PersistentVolume"):
            return StatusResettingStrategy(defaults: { o in
                o.edit("spec") { s in
                    s.setDefault("volumeMode", .string("Filesystem"))
                    s.setDefault("persistentVolumeReclaimPolicy", .string("Retain"))
                }
            })
        case ("", "ReplicationController"): return WorkloadStrategy(kind: .replicationController)
        case ("apps", "Deployment"): return WorkloadStrategy(kind: .deployment)
        case ("apps", "ReplicaSet"): return WorkloadStrategy(kind: .replicaSet)
        case ("apps", "StatefulSet"): return WorkloadStrategy(kind: .statefulSet)
        case ("apps", "DaemonSet"): return WorkloadStrategy(kind: .daemonSet)
        case ("batch", "Job"): return JobStrategy(cron: false)
        case ("batch", "CronJob"): return JobStrategy(cron: true)
        case ("certificates.k8s.io", "CertificateSigningRequest"):
            return StatusResettingStrategy()
        default:
            if info.subresources.contains(where: { $0.name == "status" }) { return StatusResettingStrategy() }
            return GenericStrategy()
        }
    }
}

/// Namespaces: the `kubernetes` finalizer, Active phase and the metadata.name label.
struct NamespaceStrategy: ResourceStrategy {
    func applyDefaults(_ object: inout [String: JSONValue]) {
        let name = object.object("metadata")?.string("name") ?? ""
        object.edit("metadata") { m in m.edit("labels") { $0["kubernetes.io/metadata.name"] = .string(name) } }
    }

    func prepareForCreate(_ object: inout [String: JSONValue], context: WriteContext) async throws(APIError) {
        object["status"] = .object(["phase": .string("Active")])
        object.edit("spec") { s in if s["finalizers"] == nil { s["finalizers"] = .array([.string("kubernetes")]) } }
        let name = object.object("metadata")?.string("name") ?? ""
        object.edit("metadata") { m in m.edit("labels") { $0["kubernetes.io/metadata.name"] = .string(name) } }
    }

    func prepareForUpdate(_ object: inout [String: JSONValue], old: [String: JSONValue], context: WriteContext) {
        // spec.finalizers change only through the finalize subresource.
        object["spec"] = old["spec"]
    }

}

struct SecretStrategy: ResourceStrategy {
    func applyDefaults(_ object: inout [String: JSONValue]) {
        object.setDefault("type", .string("Opaque"))
        // stringData is write-only: it merges into data, base64-encoded.
        if let stringData = object.object("stringData") {
            object.edit("data") { data in
                for (k, v) in stringData {
                    if let s = v.stringValue { data[k] = .string(Data(s.utf8).base64EncodedString()) }
                }
            }
            object["stringData"] = nil
        }
    }

    func validate(_ object: [String: JSONValue], old: [String: JSONValue]?) -> [FieldError] {
        var issues: [FieldError] = []
        var size = 0
        for (k, v) in object.object("data") ?? [:] {
            issues += ConfigMapStrategy.validateKey(k, path: "data[\(k)]")
            guard let s = v.stringValue, let decoded = Data(base64Encoded: s) else {
                issues.append(.invalid(FieldPath("data[\(k)]"), value: "<secret contents redacted>", "must be base64-encoded"))
                continue
            }
            size += decoded.count
        }
        if size > 1024 * 1024 { issues.append(.tooLong("data", maxLength: 1048576)) }
        if let old, old.bool("immutable") == true {
            if old["data"] != object["data"] { issues.append(.forbidden("data", "field is immutable when `immutable` is set")) }
            if object.bool("immutable") != true { issues.append(.forbidden("immutable", "field is immutable when `immutable` is set")) }
        }
        if let old, old.string("type") != object.string("type") {
            issues.append(.invalid("type", value: object.string("type") ?? "", "field is immutable"))
        }
        return issues
    }

}

struct ConfigMapStrategy: ResourceStrategy {
    func validate(_ object: [String: JSONValue], old: [String: JSONValue]?) -> [FieldError] {
        var issues: [FieldError] = []
        let data = object.object("data") ?? [:]
        let binary = object.object("binaryData") ?? [:]
        for k in data.keys { issues += Self.validateKey(k, path: "data[\(k)]") }
        var size = 0
        for (k, v) in data { size += k.utf8.count + (v.stringValue?.utf8.count ?? 0) }
        for k in binary.keys {
            issues += Self.validateKey(k, path: "binaryData[\(k)]")
            if data[k] != nil { issues.append(.duplicate(FieldPath("data[\(k)]"), value: k)) }
            size += k.utf8.count + (binary[k]?.stringValue.map { $0.utf8.count * 3 / 4 } ?? 0)
        }
        if size > 1024 * 1024 { issues.append(.tooLong("data", maxLength: 1024 * 1024)) }
        if let old, old.bool("immutable") == true {
            if old["data"] != object["data"] || old["binaryData"] != object["binaryData"] {
                issues.append(.forbidden("data", "field is immutable when `immutable` is set"))
            }
            if object.bool("immutable") != true { issues.append(.forbidden("immutable", "field is immutable when `immutable` is set")) }
        }
        return issues
    }

    /// Keys of ConfigMaps and Secrets: `[-._a-zA-Z0-9]+`, at most 253 characters, not "." or "..".
    static func validateKey(_ key: String, path: String) -> [FieldError] {
        if key.isEmpty || key.utf8.count > 253 || key == "." || key == ".."
            || !key.utf8.allSatisfy({ b in
                (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 45 || b == 46 || b == 95
            }) {
            return [.invalid(FieldPath(path), value: key, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")]
        }
        return []
    }
}


