import CapstanAPI
import CapstanContainerRuntime
import Foundation

/// Registry credentials from a pod's imagePullSecrets (`kubernetes.io/dockerconfigjson` with
/// `.dockerconfigjson`, or the older `kubernetes.io/dockercfg` with `.dockercfg`), matched to the
/// registry of an image reference. Pure.
public enum PullSecrets {
    /// The registry host of an image reference: the first path component when it looks like a
    /// host (has a dot or a port, or is localhost), else Docker Hub.
    public static func registry(of image: String) -> String {
        let name = image.split(separator: "@").first.map(String.init) ?? image
        let parts = name.split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else { return "docker.io" }
        let first = String(parts[0])
        if first.contains(".") || first.contains(":") || first == "localhost" { return normalize(first) }
        return "docker.io"
    }

    /// `https://index.docker.io/v1/` → `docker.io`; `http://reg:5000/path` → `reg:5000`.
    static func normalize(_ key: String) -> String {
        var host = Substring(key)
        if let scheme = host.range(of: "://") { host = host[scheme.upperBound...] }
        host = host.split(separator: "/").first ?? host
        switch host {
        case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com": return "docker.io"
        default: return String(host)
        }
    }

    /// The first secret (in order) with an entry for the image's registry.
    /// `secrets` are the decoded `data` maps of the pod's imagePullSecrets.
    public static func auth(for image: String, secrets: [[String: [UInt8]]]) -> RegistryAuth? {
        let wanted = registry(of: image)
        for data in secrets {
            var entries: [String: JSONValue]?
            if let bytes = data[".dockerconfigjson"], let json = try? JSONValue.parse(bytes) {
                entries = json["auths"]?.objectValue
            } else if let bytes = data[".dockercfg"], let json = try? JSONValue.parse(bytes) {
                entries = json.objectValue
            }
            for (key, entry) in entries ?? [:] where normalize(key) == wanted {
                var auth = RegistryAuth(username: entry["username"]?.stringValue, password: entry["password"]?.stringValue,
                                        identityToken: entry["identitytoken"]?.stringValue, registryToken: entry["registrytoken"]?.stringValue)
                if auth.username == nil, let encoded = entry["auth"]?.stringValue, let decoded = Data(base64Encoded: encoded) {
                    let pair = String(decoding: decoded, as: UTF8.self).split(separator: ":", maxSplits: 1).map(String.init)
                    if pair.count == 2 { auth.username = pair[0]; auth.password = pair[1] }
                }
                return auth
            }
        }
        return nil
    }
}
