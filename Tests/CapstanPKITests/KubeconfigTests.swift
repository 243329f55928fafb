import CapstanPKI
import Foundation
import Testing

@Suite struct KubeconfigTests {
    static let sample = Kubeconfig(
        server: "https://127.0.0.1:6443",
        certificateAuthorityPEM: "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n",
        clientCertificatePEM: "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n",
        clientKeyPEM: "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n"
    )

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    @Test func rendersTheLayoutKubectlReads() {
        let expected = """
            apiVersion: v1
            kind: Config
            clusters:
            - cluster:
                certificate-authority-data: \(Self.base64(Self.sample.certificateAuthorityPEM))
                server: "https://127.0.0.1:6443"
              name: "capstan"
            contexts:
            - context:
                cluster: "capstan"
                user: "capstan-admin"
              name: "capstan"
            current-context: "capstan"
            preferences: {}
            users:
            - name: "capstan-admin"
              user:
                client-certificate-data: \(Self.base64(Self.sample.clientCertificatePEM))
                client-key-data: \(Self.base64(Self.sample.clientKeyPEM))

            """
        #expect(Self.sample.render() == expected)
    }

    @Test func namespaceAndNamesAreQuoted() {
        var config = Self.sample
        config.namespace = "kube-system"
        config.userName = "system:node:n1"
        config.contextName = "a \"quoted\"\\name"
        let text = config.render()
        #expect(text.contains("    namespace: \"kube-system\"\n"))
        #expect(text.contains("- name: \"system:node:n1\"\n"))
        #expect(text.contains("current-context: \"a \\\"quoted\\\"\\\\name\"\n"))
    }

    @Test(arguments: [
        ("127.0.0.1", 6443, "https://127.0.0.1:6443"),
        ("0.0.0.0", 6443, "https://127.0.0.1:6443"),
        ("::", 8443, "https://[::1]:8443"),
        ("::1", 6443, "https://[::1]:6443"),
        ("[fd00::0:1]", 6443, "https://[fd00::1]:6443"),
        ("api.example.com", 443, "https://api.example.com:443"),
        ("", 6443, "https://127.0.0.1:6443"),
    ])
    func serverURL(host: String, port: Int, expected: String) {
        #expect(Kubeconfig.serverURL(host: host, port: port) == expected)
    }

    @Test func writesAtomicallyWithMode0600() throws {
        try withTemporaryDirectory { temp in
            let path = temp.file("kubeconfig")
            try write("old", to: path)
            try Self.sample.write(toFile: path)
            #expect(try read(path) == Self.sample.render())
            #expect(try mode(of: path) == 0o600)
            #expect(try FileManager.default.contentsOfDirectory(atPath: temp.path) == ["kubeconfig"])
        }
    }

    @Test func writingIntoAMissingDirectoryNamesTheFile() throws {
        try withTemporaryDirectory { temp in
            let path = temp.file("missing/kubeconfig")
            let error = try #require(throws: PKIError.self) { try Self.sample.write(toFile: path) }
            #expect(error.path == path)
        }
    }

    /// Real kubectl parses the file and finds every field (no server needed).
    @Test(.tags(.integration), .enabled(if: executable("kubectl") != nil, "kubectl is not installed"))
    func kubectlReadsTheKubeconfig() throws {
        try withTemporaryDirectory { temp in
            let pki = try ClusterPKI.loadOrCreate(directory: temp.file("pki"), hostName: "node-1", now: Date())
            let path = temp.file("kubeconfig")
            try pki.adminKubeconfig(server: Kubeconfig.serverURL(host: "::", port: 6443)).write(toFile: path)

            let result = try run(executable("kubectl")!, ["--kubeconfig", path, "config", "view", "--raw", "-o", "json"])
            #expect(result.status == 0, "\(result.error)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
            #expect(json["current-context"] as? String == "capstan")
            let cluster = try #require((json["clusters"] as? [[String: Any]])?.first)
            #expect(cluster["name"] as? String == "capstan")
            let clusterBody = try #require(cluster["cluster"] as? [String: Any])
            #expect(clusterBody["server"] as? String == "https://[::1]:6443")
            #expect(clusterBody["certificate-authority-data"] as? String == Self.base64(pki.caCertificatePEM))
            let user = try #require((json["users"] as? [[String: Any]])?.first)
            #expect(user["name"] as? String == "capstan-admin")
            let userBody = try #require(user["user"] as? [String: Any])
            #expect(userBody["client-certificate-data"] as? String == Self.base64(pki.adminCertificatePEM))
            #expect(userBody["client-key-data"] as? String == Self.base64(pki.adminPrivateKeyPEM))
            let context = try #require((json["contexts"] as? [[String: Any]])?.first)
            let contextBody = try #require(context["context"] as? [String: Any])
            #expect(contextBody["cluster"] as? String == "capstan")
            #expect(contextBody["user"] as? String == "capstan-admin")

            let current = try run(executable("kubectl")!, ["--kubeconfig", path, "config", "current-context"])
            #expect(current.output == "capstan\n")
        }
    }
}
