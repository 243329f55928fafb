import CapstanTesting
import CapstanAPI
@testable import CapstanClient
import CapstanPKI
import Foundation
import Testing

@Suite("YAML subset", .tags(.unit))
struct YAMLSubsetTests {
    @Test func kubectlLayout() throws {
        let yaml = """
        apiVersion: v1
        kind: Config
        clusters:
        - cluster:
            certificate-authority-data: Zm9v
            server: https://127.0.0.1:6443   # a comment
          name: capstan
        contexts:
        - context:
            cluster: capstan
            namespace: "kube-system"
            user: 'admin'
          name: capstan
        current-context: capstan
        preferences: {}
        users:
        - name: admin
          user:
            token: abc#notacomment
        """
        let doc = try YAMLSubset.parse(yaml)
        #expect(doc["kind"] == .string("Config"))
        #expect(doc["clusters"]?.arrayValue?.count == 1)
        #expect(doc["clusters"]?.arrayValue?[0]["cluster"]?["server"] == .string("https://127.0.0.1:6443"))
        #expect(doc["clusters"]?.arrayValue?[0]["name"] == .string("capstan"))
        #expect(doc["contexts"]?.arrayValue?[0]["context"]?["namespace"] == .string("kube-system"))
        #expect(doc["contexts"]?.arrayValue?[0]["context"]?["user"] == .string("admin"))
        #expect(doc["preferences"] == .object([:]))
        #expect(doc["users"]?.arrayValue?[0]["user"]?["token"] == .string("abc#notacomment"))
    }

    @Test func scalarsAndFlowCollections() throws {
        let doc = try YAMLSubset.parse("""
        a: 1
        b: -2
        c: true
        d: ~
        e:
        f: 1.5
        g: "x\\ty \\u00e9"
        h: 'it''s'
        i: [a, "b c", 3, {k: v}]
        j: {x: 1, y: [true, null]}
        k: "6443"
        l: https://host:1/path?q=1
        """)
        #expect(doc["a"] == .int(1))
        #expect(doc["b"] == .int(-2))
        #expect(doc["c"] == .bool(true))
        #expect(doc["d"] == .null)
        #expect(doc["e"] == .null)
        #expect(doc["f"] == .double(1.5))
        #expect(doc["g"] == .string("x\ty é"))
        #expect(doc["h"] == .string("it's"))
        #expect(doc["i"] == .array([.string("a"), .string("b c"), .int(3), .object(["k": .string("v")])]))
        #expect(doc["j"] == .object(["x": .int(1), "y": .array([.bool(true), .null])]))
        #expect(doc["k"] == .string("6443"))
        #expect(doc["l"] == .string("https://host:1/path?q=1"))
    }

    @Test func nestedSequencesAndBlockScalars() throws {
        let doc = try YAMLSubset.parse("""
        ---
        list:
          - one
          -   two: 2
              three: 3
          -
            four: 4
          - - nested
            - again
        literal: |
          line 1
          line 2
        stripped: |-
          text
        folded: >
          a
          b
        after: end
        """)
        #expect(doc["list"] == .array([
            .string("one"),
            .object(["two": .int(2), "three": .int(3)]),
            .object(["four": .int(4)]),
            .array([.string("nested"), .string("again")]),
        ]))
        #expect(doc["literal"] == .string("line 1\nline 2\n"))
        #expect(doc["stripped"] == .string("text"))
        #expect(doc["folded"] == .string("a b\n"))
        #expect(doc["after"] == .string("end"))
    }

    @Test func errorsNameTheLine() {
        #expect(throws: YAMLSubsetError.self) { try YAMLSubset.parse("a: 1\n  b: 2\n") }
        do {
            _ = try YAMLSubset.parse("a: &anchor 1\n")
            Issue.record("anchors should be rejected")
        } catch {
            #expect(error.line == 1)
        }
        #expect(throws: YAMLSubsetError.self) { try YAMLSubset.parse("a: \"unterminated\n") }
        #expect(throws: YAMLSubsetError.self) { try YAMLSubset.parse("a:\n\t- b\n") }
    }

    @Test func emptyDocument() throws {
        #expect(try YAMLSubset.parse("") == .null)
        #expect(try YAMLSubset.parse("# only a comment\n---\n") == .null)
    }
}

@Suite("Kubeconfig", .tags(.unit))
struct KubeconfigTests {
    static let caPEM = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"

    @Test func readsWhatCapstanPKIWrites() throws {
        let written = CapstanPKI.Kubeconfig(server: "https://127.0.0.1:6443", certificateAuthorityPEM: Self.caPEM,
                                            clientCertificatePEM: "CERT", clientKeyPEM: "KEY", namespace: "team-a")
        let config = try CapstanClient.Kubeconfig(parsing: written.render())
        #expect(config.currentContext == "capstan")
        #expect(config.clusters.map(\.server) == ["https://127.0.0.1:6443"])
        let resolved = try config.configuration()
        #expect(resolved.server == "https://127.0.0.1:6443")
        #expect(resolved.certificateAuthorityPEM == Array(Self.caPEM.utf8))
        #expect(resolved.clientCertificatePEM == Array("CERT".utf8))
        #expect(resolved.clientKeyPEM == Array("KEY".utf8))
        #expect(resolved.namespace == "team-a")
        #expect(resolved.bearerToken == nil)
    }

    @Test func filePathsResolveAgainstTheKubeconfigDirectory() async throws {
        try await withTemporaryDirectory { dir in
            try Data(Self.caPEM.utf8).write(to: URL(fileURLWithPath: dir + "/ca.crt"))
            try Data("  token-from-file\n".utf8).write(to: URL(fileURLWithPath: dir + "/token"))
            let yaml = """
            clusters:
            - name: c
              cluster:
                server: https://10.0.0.1:6443
                certificate-authority: ca.crt
                tls-server-name: kubernetes
            users:
            - name: u
              user:
                tokenFile: token
            contexts:
            - name: ctx
              context: {cluster: c, user: u}
            current-context: ctx
            """
            try Data(yaml.utf8).write(to: URL(fileURLWithPath: dir + "/config"))
            let resolved = try CapstanClient.Kubeconfig.load(path: dir + "/config").configuration()
            #expect(resolved.certificateAuthorityPEM == Array(Self.caPEM.utf8))
            #expect(resolved.bearerToken == "token-from-file")
            #expect(resolved.tlsServerName == "kubernetes")
            #expect(resolved.namespace == "default")
        }
    }

    @Test func jsonKubeconfigAndContextOverride() throws {
        let json = """
        {"apiVersion":"v1","kind":"Config","current-context":"a",
         "clusters":[{"name":"one","cluster":{"server":"https://one:1"}},{"name":"two","cluster":{"server":"http://two:2","insecure-skip-tls-verify":true}}],
         "users":[{"name":"t","user":{"token":"sekret"}}],
         "contexts":[{"name":"a","context":{"cluster":"one","user":"t"}},{"name":"b","context":{"cluster":"two","user":"t","namespace":"ns"}}]}
        """
        let config = try CapstanClient.Kubeconfig(parsing: json)
        #expect(try config.configuration().server == "https://one:1")
        let b = try config.configuration(context: "b")
        #expect(b.server == "http://two:2")
        #expect(b.insecureSkipTLSVerify)
        #expect(b.namespace == "ns")
        #expect(b.bearerToken == "sekret")
    }

    @Test func missingPiecesAreConfigurationErrors() throws {
        let config = try CapstanClient.Kubeconfig(parsing: """
        clusters:
        - name: c
          cluster: {server: "https://x:1"}
        contexts:
        - name: ctx
          context: {cluster: c, user: nobody}
        - name: other
          context: {cluster: missing, user: ""}
        """)
        #expect { try config.configuration() } throws: { ($0 as? APIClientError)?.code == .invalidConfiguration }
        #expect { try config.configuration(context: "ctx") } throws: {
            ($0 as? APIClientError)?.message.contains("user \"nobody\"") == true
        }
        #expect { try config.configuration(context: "other") } throws: {
            ($0 as? APIClientError)?.message.contains("cluster \"missing\"") == true
        }
        #expect { try CapstanClient.Kubeconfig(parsing: "users:\n- name: u\n  user:\n    client-key-data: '%%%'\n") } throws: {
            ($0 as? APIClientError)?.message.contains("base64") == true
        }
    }

    @Test func defaultPathFollowsKUBECONFIG() {
        #expect(CapstanClient.Kubeconfig.defaultPath(environment: ["HOME": "/home/me"]) == "/home/me/.kube/config")
        #expect(CapstanClient.Kubeconfig.defaultPath(environment: ["KUBECONFIG": "/nonexistent/a:/nonexistent/b"]) == "/nonexistent/a")
    }
}

@Suite("Server address", .tags(.unit))
struct ServerAddressTests {
    @Test func parses() throws {
        let a = try ServerAddress("https://127.0.0.1:6443")
        #expect(a.useTLS && a.host == "127.0.0.1" && a.port == 6443 && a.pathPrefix == "" && a.hostIsIPAddress)
        let b = try ServerAddress("https://[::1]:7443/prefix/")
        #expect(b.host == "::1" && b.port == 7443 && b.pathPrefix == "/prefix" && b.hostHeader == "[::1]:7443" && b.hostIsIPAddress)
        let c = try ServerAddress("http://api.example")
        #expect(!c.useTLS && c.port == 80 && !c.hostIsIPAddress)
        #expect(throws: APIClientError.self) { try ServerAddress("ftp://x") }
        #expect(throws: APIClientError.self) { try ServerAddress("https://x:99999") }
    }
}
