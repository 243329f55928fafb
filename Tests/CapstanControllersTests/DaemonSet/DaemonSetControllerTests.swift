import CapstanAPI
import CapstanClient
import CapstanControllers
import CapstanTesting
import Testing

@Suite struct DaemonSetControllerTests {
    @Test func daemonPodsFollowNodes() async throws {
        try await withWorkloadControllers([DaemonSetController()]) { client, _ in
            for name in ["w1", "w2"] {
                _ = try await client.create(CoreV1.Node(metadata: MetaV1.ObjectMeta(labels: ["role": "worker"], name: name)))
            }
            _ = try await client.create(CoreV1.Node(metadata: MetaV1.ObjectMeta(name: "tainted"),
                                                    spec: CoreV1.NodeSpec(taints: [CoreV1.Taint(effect: "NoSchedule", key: "dedicated", value: "db")])))
            let ds = DaemonSetCoreTests.ds()
            var created = ds
            created.metadata = MetaV1.ObjectMeta(name: "agent", namespace: "default")
            _ = try await client.create(created)
            func targets() async throws -> [String] {
                try await client.list(CoreV1.Pod.self, namespace: "default").items
                    .filter { $0.metadata?.deletionTimestamp == nil }.compactMap(DaemonSetCore.targetNode).sorted()
            }
            #expect(try await eventually { try await targets() == ["w1", "w2"] })
            let status = try await eventually {
                let d = try await client.get(AppsV1.DaemonSet.self, name: "agent", namespace: "default")
                return d.status?.desiredNumberScheduled == 2 && d.status?.updatedNumberScheduled == 2
            }
            #expect(status)
            // A new eligible node gets its pod.
            _ = try await client.create(CoreV1.Node(metadata: MetaV1.ObjectMeta(name: "w3")))
            #expect(try await eventually { try await targets() == ["w1", "w2", "w3"] })
        }
    }
}

/// DaemonSet rollouts over ControllerRevisions, driven with the real kubectl on simulated nodes.
@Suite struct DaemonSetHistoryTests {
    static func daemonSet(image: String) -> AppsV1.DaemonSet {
        AppsV1.DaemonSet(metadata: MetaV1.ObjectMeta(name: "agent", namespace: "default"), spec: AppsV1.DaemonSetSpec(
            selector: MetaV1.LabelSelector(matchLabels: ["app": "agent"]),
            template: CoreV1.PodTemplateSpec(metadata: MetaV1.ObjectMeta(labels: ["app": "agent"]),
                                             spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: image, name: "agent")]))))
    }

    static func images(_ client: APIClient) async throws -> [String] {
        try await client.list(CoreV1.Pod.self, namespace: "default").items.filter { $0.metadata?.deletionTimestamp == nil }
            .compactMap { $0.spec?.containers.first?.image }.sorted()
    }

    @Test func revisionsFollowTheTemplate() async throws {
        try await withSimulatedCluster([DaemonSetController()]) { client, _ in
            _ = try await client.create(Self.daemonSet(image: "agent:1"))
            #expect(try await eventually(timeout: .seconds(20)) { try await Self.images(client) == ["agent:1", "agent:1"] })
            let first = try await client.list(AppsV1.ControllerRevision.self, namespace: "default").items
            #expect(first.count == 1 && first.first?.revision == 1)
            let hash = try #require(first.first?.metadata?.labels?[ControllerHistoryCore.hashLabel])
            #expect(first.first?.metadata?.name == "agent-\(hash)")
            let labels = try await client.list(CoreV1.Pod.self, namespace: "default").items.compactMap { $0.metadata?.labels?[ControllerHistoryCore.hashLabel] }
            #expect(labels == [hash, hash])

            _ = try await client.patch(AppsV1.DaemonSet.self, name: "agent", namespace: "default", Patch(
                type: .strategicMerge, body: Array(#"{"spec":{"template":{"spec":{"containers":[{"name":"agent","image":"agent:2"}]}}}}"#.utf8)))
            let rolled = try await eventually(timeout: .seconds(30)) {
                let status = try await client.get(AppsV1.DaemonSet.self, name: "agent", namespace: "default").status
                let images = try await Self.images(client)
                return images == ["agent:2", "agent:2"] && status?.updatedNumberScheduled == 2 && status?.numberAvailable == 2
            }
            #expect(rolled)
            let second = try await client.list(AppsV1.ControllerRevision.self, namespace: "default").items
            #expect(second.map(\.revision).sorted() == [1, 2])
        }
    }

    @Test(.enabled(if: Kubectl.available, "kubectl 1.33 is not installed"))
    func kubectlRolloutStatusHistoryAndUndo() async throws {
        try await withSimulatedCluster([DaemonSetController()]) { client, server in
            try await withTemporaryDirectory { dir in
                let kubectl = Kubectl(kubeconfig: server.kubeconfigPath, workDir: dir)
                _ = try await client.create(Self.daemonSet(image: "agent:1"))
                let status = try await kubectl.run("rollout", "status", "daemonset/agent", "--timeout=60s")
                #expect(status.succeeded && status.stdout.contains("successfully rolled out"), "\(status)")

                let setImage = try await kubectl.run("set", "image", "daemonset/agent", "agent=agent:2")
                #expect(setImage.succeeded, "\(setImage)")
                let rolled = try await kubectl.run("rollout", "status", "daemonset/agent", "--timeout=60s")
                #expect(rolled.succeeded && rolled.stdout.contains("successfully rolled out"), "\(rolled)")
                #expect(try await eventually(timeout: .seconds(30)) { try await Self.images(client) == ["agent:2", "agent:2"] })

                let history = try await kubectl.run("rollout", "history", "daemonset/agent")
                let rows = history.stdout.split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) ?? "" }
                #expect(history.succeeded && rows.contains("1") && rows.contains("2"), "\(history)")

                let undo = try await kubectl.run("rollout", "undo", "daemonset/agent")
                #expect(undo.succeeded && undo.stdout.contains("rolled back"), "\(undo)")
                let back = try await eventually(timeout: .seconds(30)) {
                    let ds = try await client.get(AppsV1.DaemonSet.self, name: "agent", namespace: "default")
                    let images = try await Self.images(client)
                    return ds.spec?.template.spec?.containers.first?.image == "agent:1" && images == ["agent:1", "agent:1"]
                }
                #expect(back)
                let revisions = try await client.list(AppsV1.ControllerRevision.self, namespace: "default").items
                #expect(revisions.map(\.revision).sorted() == [2, 3])
                let done = try await kubectl.run("rollout", "status", "daemonset/agent", "--timeout=60s")
                #expect(done.succeeded, "\(done)")
            }
        }
    }
}
