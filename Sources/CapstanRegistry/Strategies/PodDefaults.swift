import CapstanAPI
import CapstanAPIMachinery

/// Kubernetes' defaults for pod specs, used by pods and every pod template.
public enum PodDefaults {
    public static func applySpec(_ spec: inout [String: JSONValue]) {
        spec.setDefault("restartPolicy", .string("Always"))
        spec.setDefault("terminationGracePeriodSeconds", .int(30))
        spec.setDefault("dnsPolicy", .string("ClusterFirst"))
        spec.setDefault("schedulerName", .string("default-scheduler"))
        if spec["securityContext"] == nil { spec["securityContext"] = .object([:]) }
        spec.editEach("containers", applyContainer)
        spec.editEach("initContainers", applyContainer)
        spec.editEach("ephemeralContainers", applyContainer)
        spec.editEach("volumes", applyVolume)
    }

    static func applyContainer(_ c: inout [String: JSONValue]) {
        c.setDefault("terminationMessagePath", .string("/dev/termination-log"))
        c.setDefault("terminationMessagePolicy", .string("File"))
        if let image = c.string("image") {
            c.setDefault("imagePullPolicy", .string(pullPolicy(for: image)))
        }
        if c["resources"] == nil { c["resources"] = .object([:]) }
        // Requests default to limits for resources that only have a limit.
        c.edit("resources") { r in
            guard let limits = r.object("limits"), !limits.isEmpty else { return }
            r.edit("requests") { requests in
                for (name, value) in limits where requests[name] == nil { requests[name] = value }
            }
        }
        c.editEach("ports") { p in p.setDefault("protocol", .string("TCP")) }
        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] where c[probe] != nil {
            c.edit(probe) { p in
                p.setDefault("timeoutSeconds", .int(1))
                p.setDefault("periodSeconds", .int(10))
                p.setDefault("successThreshold", .int(1))
                p.setDefault("failureThreshold", .int(3))
                if p["httpGet"] != nil { p.edit("httpGet") { h in h.setDefault("scheme", .string("HTTP")) } }
            }
        }
        c.editEach("env") { e in
            if e.object("valueFrom")?.object("fieldRef") != nil {
                e.edit("valueFrom") { v in v.edit("fieldRef") { f in f.setDefault("apiVersion", .string("v1")) } }
            }
        }
    }

    static func applyVolume(_ v: inout [String: JSONValue]) {
        if v["configMap"] != nil { v.edit("configMap") { $0.setDefault("defaultMode", .int(420)) } }
        if v["secret"] != nil { v.edit("secret") { $0.setDefault("defaultMode", .int(420)) } }
        if v["downwardAPI"] != nil { v.edit("downwardAPI") { $0.setDefault("defaultMode", .int(420)) } }
        if v["projected"] != nil { v.edit("projected") { $0.setDefault("defaultMode", .int(420)) } }
        if v["hostPath"] != nil { v.edit("hostPath") { $0.setDefault("type", .string("")) } }
        let sources = ["hostPath", "emptyDir", "secret", "configMap", "persistentVolumeClaim", "projected",
                       "downwardAPI", "nfs", "csi", "ephemeral", "image", "iscsi", "local"]
        if !sources.contains(where: { v[$0] != nil }) { v["emptyDir"] = .object([:]) }
    }

    /// `Always` for `:latest` or untagged images, `IfNotPresent` otherwise (digests included).
    public static func pullPolicy(for image: String) -> String {
        if image.contains("@") { return "IfNotPresent" }
        let lastComponent = image.split(separator: "/").last.map(String.init) ?? image
        guard let colon = lastComponent.lastIndex(of: ":") else { return "Always" }
        return lastComponent[lastComponent.index(after: colon)...] == "latest" ? "Always" : "IfNotPresent"
    }

    /// The pod's QoS class from its containers' requests and limits.
    public static func qosClass(_ spec: [String: JSONValue]) -> String {
        let containers = (spec.array("containers") ?? []) + (spec.array("initContainers") ?? [])
        var anySet = false
        var guaranteed = true
        for c in containers {
            let resources = c.objectValue?.object("resources") ?? [:]
            let requests = resources.object("requests") ?? [:]
            let limits = resources.object("limits") ?? [:]
            if !requests.isEmpty || !limits.isEmpty { anySet = true }
            for name in ["cpu", "memory"] {
                guard let limit = limits[name] else {
                    guaranteed = false
                    continue
                }
                if let request = requests[name], quantity(request) != quantity(limit) { guaranteed = false }
            }
        }
        if !anySet { return "BestEffort" }
        return guaranteed ? "Guaranteed" : "Burstable"
    }

    static func quantity(_ v: JSONValue) -> Quantity? {
        switch v {
        case .string(let s): return try? Quantity(parsing: s)
        case .int(let i): return Quantity(i)
        default: return nil
        }
    }
}
