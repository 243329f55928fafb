import Foundation

/// A kubeconfig file with one cluster, one user authenticating with a client certificate, and one
/// context joining them, made current. Real kubectl and client-go read it as is.
public struct Kubeconfig: Hashable, Sendable {
    /// The API server URL, `https://HOST:PORT`.
    public var server: String
    /// The CA certificate that signed the server's certificate (PEM); written base64 encoded.
    public var certificateAuthorityPEM: String
    /// The client certificate (PEM); written base64 encoded.
    public var clientCertificatePEM: String
    /// The client key (PEM: PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY` or PKCS#1); written base64 encoded.
    public var clientKeyPEM: String
    public var clusterName: String
    public var userName: String
    public var contextName: String
    /// The context's default namespace, if any.
    public var namespace: String?

    public init(
        server: String,
        certificateAuthorityPEM: String,
        clientCertificatePEM: String,
        clientKeyPEM: String,
        clusterName: String = "capstan",
        userName: String = ClusterPKI.adminUserName,
        contextName: String = "capstan",
        namespace: String? = nil
    ) {
        self.server = server
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.clusterName = clusterName
        self.userName = userName
        self.contextName = contextName
        self.namespace = namespace
    }

    /// `https://HOST:PORT`, bracketing an IPv6 host. An unspecified bind address (`0.0.0.0`, `::`)
    /// becomes the matching loopback address, since clients cannot connect to it.
    public static func serverURL(host: String, port: Int) -> String {
        var host = host.trimmed
        if host.hasPrefix("[") && host.hasSuffix("]") && host.count >= 2 {
            host = String(host.dropFirst().dropLast())
        }
        if let ip = IPAddress(host) {
            if ip.bytes.allSatisfy({ $0 == 0 }) {
                host = ip.isIPv6 ? "::1" : "127.0.0.1"
            } else {
                host = ip.description
            }
        }
        if host.isEmpty { host = "127.0.0.1" }
        return host.contains(":") ? "https://[\(host)]:\(port)" : "https://\(host):\(port)"
    }

    /// The kubeconfig as YAML, in the layout `kubectl config view --raw` prints.
    public func render() -> String {
        var lines = [
            "apiVersion: v1",
            "kind: Config",
            "clusters:",
            "- cluster:",
            "    certificate-authority-data: \(Self.base64(certificateAuthorityPEM))",
            "    server: \(Self.quoted(server))",
            "  name: \(Self.quoted(clusterName))",
            "contexts:",
            "- context:",
            "    cluster: \(Self.quoted(clusterName))",
        ]
        if let namespace {
            lines.append("    namespace: \(Self.quoted(namespace))")
        }
        lines += [
            "    user: \(Self.quoted(userName))",
            "  name: \(Self.quoted(contextName))",
            "current-context: \(Self.quoted(contextName))",
            "preferences: {}",
            "users:",
            "- name: \(Self.quoted(userName))",
            "  user:",
            "    client-certificate-data: \(Self.base64(clientCertificatePEM))",
            "    client-key-data: \(Self.base64(clientKeyPEM))",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes ``render()`` to `path` atomically (temporary file, then rename) with mode 0600,
    /// since the file holds a private key. The directory must exist.
    public func write(toFile path: String) throws {
        try PKIFileSystem.writeAtomically(Array(render().utf8), to: path, mode: 0o600)
    }

    private static func base64(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
    }

    /// A YAML double-quoted scalar: always a string, whatever the text looks like.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
                    || scalar.value == 0xFEFF || scalar.value == 0x2028 || scalar.value == 0x2029
                {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    result += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
