import CapstanTesting
import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import CapstanPKI
import Foundation
import Testing

@Suite("Authentication, TLS and connections", .tags(.component))
struct ConnectionTests {
    @Test func bearerTokenFromTheServersTokenFile() async throws {
        let tokenFile: (String) throws -> String = { directory in
            let path = directory + "/tokens.csv"
            try Data(#"s3cret-token,alice,uid-1,"system:masters,team-a""#.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
        try await withServer(tokenFile: tokenFile) { server in
            // A kubeconfig with a token and the CA only, as kubectl users write them.
            let caData = Data(server.pki.caCertificatePEM.utf8).base64EncodedString()
            let yaml = """
            apiVersion: v1
            kind: Config
            clusters:
            - cluster:
                certificate-authority-data: \(caData)
                server: https://127.0.0.1:\(server.port)
              name: local
            contexts:
            - context:
                cluster: local
                user: alice
              name: alice@local
            - context:
                cluster: local
                user: mallory
              name: mallory@local
            current-context: alice@local
            users:
            - name: alice
              user:
                token: s3cret-token
            - name: mallory
              user:
                token: wrong-token
            """
            let kubeconfig = try CapstanClient.Kubeconfig(parsing: yaml)
            let alice = try APIClient(configuration: kubeconfig.configuration(), logger: quietLogger)
            let mallory = try APIClient(configuration: kubeconfig.configuration(context: "mallory@local"), logger: quietLogger)
            var anonymousConfiguration = try kubeconfig.configuration()
            anonymousConfiguration.bearerToken = nil
            let anonymous = try APIClient(configuration: anonymousConfiguration, logger: quietLogger)
            do {
                let created = try await alice.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: "by-token", namespace: "default")))
                #expect(created.name == "by-token")
                for client in [mallory, anonymous] {
                    await #expect { try await client.list(CoreV1.ConfigMap.self, namespace: "default") } throws: { error in
                        (error as? APIError)?.code == 401 && (error as? APIError)?.reason == .unauthorized
                    }
                }
            } catch {
                Issue.record(error)
            }
            await alice.shutdown()
            await mallory.shutdown()
            await anonymous.shutdown()
        }
    }

    @Test func serverVerifiedAgainstTheKubeconfigCA() async throws {
        try await withServer { server in
            try await withTemporaryDirectory { otherDirectory in
                // A CA the server's certificate does not chain to.
                let stranger = try ClusterPKI.loadOrCreate(directory: otherDirectory + "/pki", hostName: nil, now: Date())
                let client = try server.makeClient { $0.certificateAuthorityPEM = Array(stranger.caCertificatePEM.utf8); $0.maxRetries = 1 }
                await #expect { try await client.list(CoreV1.ConfigMap.self) } throws: { error in
                    (error as? APIClientError)?.code == .connectionFailed
                }
                await client.shutdown()

                // Skipping verification (tests only) connects.
                let insecure = try server.makeClient { $0.certificateAuthorityPEM = nil; $0.insecureSkipTLSVerify = true }
                #expect(try await insecure.list(CoreV1.Namespace.self).items.isEmpty == false)
                await insecure.shutdown()
            }
        }
    }

    @Test func connectionRefusedFailsAfterRetries() async throws {
        // A port nothing listens on: bind one, then stop the server.
        let (kubeconfig, port) = try await withServer { server in
            (try String(contentsOfFile: server.kubeconfigPath, encoding: .utf8), server.port)
        }
        var configuration = try CapstanClient.Kubeconfig(parsing: kubeconfig).configuration()
        configuration.maxRetries = 2
        configuration.retryBackoff = .milliseconds(1)
        #expect(configuration.server.hasSuffix(":\(port)"))
        let client = try APIClient(configuration: configuration, logger: quietLogger)
        await #expect { try await client.get(CoreV1.Namespace.self, name: "default") } throws: { error in
            (error as? APIClientError)?.code == .connectionFailed
        }
        await client.shutdown()
        await #expect { try await client.get(CoreV1.Namespace.self, name: "default") } throws: { error in
            (error as? APIClientError)?.code == .shutdown
        }
    }

    @Test func hundredParallelRequestsShareTheConnectionPool() async throws {
        try await withClient({ $0.maxConnections = 8 }) { client, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<100 {
                    group.addTask {
                        let name = "parallel-\(i)"
                        let created = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: name, namespace: "default"),
                                                                               data: ["i": String(i)]))
                        let fetched = try await client.get(CoreV1.ConfigMap.self, name: name, namespace: "default")
                        #expect(fetched.data == ["i": String(i)])
                        #expect(fetched.resourceVersion == created.resourceVersion)
                    }
                }
                try await group.waitForAll()
            }
            #expect(client.pooledConnectionCount <= 8)
            #expect(client.pooledConnectionCount >= 1)
            let list = try await client.list(CoreV1.ConfigMap.self, namespace: "default", options: ListOptions(labelSelector: ""))
            #expect(list.items.filter { $0.name.hasPrefix("parallel-") }.count == 100)
        }
    }

    @Test func cancellingQueuedRequestsLeavesThePoolUsable() async throws {
        try await withClient({ $0.maxConnections = 1 }) { client, _ in
            // Twenty requests queue for one connection; half are cancelled while they wait or run.
            let succeeded = try await withThrowingTaskGroup(of: Bool.self) { group in
                var tasks: [Task<Void, any Error>] = []
                for _ in 0..<20 {
                    let task = Task { _ = try await client.get(CoreV1.Namespace.self, name: "default") }
                    tasks.append(task)
                }
                for (i, task) in tasks.enumerated() where i % 2 == 0 { task.cancel() }
                for task in tasks {
                    group.addTask { (try? await task.value) != nil }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(succeeded >= 10)
            #expect(try await client.get(CoreV1.Namespace.self, name: "default").name == "default")
            #expect(client.pooledConnectionCount <= 1)
        }
    }

    @Test func kubeconfigWrittenByTheServerWorksAsIs() async throws {
        try await withServer { server in
            let client = try APIClient(kubeconfigPath: server.directory + "/kubeconfig", logger: quietLogger)
            let version = try await client.request(method: .get, path: "/version")
            #expect(version.status == 200)
            await client.shutdown()
        }
    }
}
