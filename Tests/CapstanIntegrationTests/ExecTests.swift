import Foundation
import Testing

/// `kubectl exec`, `attach`, `cp` and `port-forward` against `capstan up` with real runc:
/// WebSocket (v5) from kubectl 1.30+, SPDY/3.1 from kubectl 1.29 and older, through the API
/// server's upgrade proxy to the agent and `runc exec`; port-forward over raw SPDY (1.30) and
/// SPDY in WebSocket (1.31+) to a busybox httpd at the pod's IP.
@Suite("kubectl exec, attach and port-forward", .serialized)
struct ExecTests {
    static let pod = """
        apiVersion: v1
        kind: Pod
        metadata: {name: shell}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: main
            image: capstan.test/busybox:latest
            imagePullPolicy: Never
            command: ["sh", "-c", "echo started; trap 'exit 0' TERM; while true; do echo tick; sleep 1; done"]
        """

    static let webPod = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: httpd
            image: capstan.test/busybox:latest
            imagePullPolicy: Never
            command: ["httpd", "-f", "-p", "80", "-h", "/www"]
        """

    static let catPod = """
        apiVersion: v1
        kind: Pod
        metadata: {name: catter}
        spec:
          restartPolicy: Never
          containers:
          - name: main
            image: capstan.test/busybox:latest
            imagePullPolicy: Never
            command: ["cat"]
            stdin: true
            stdinOnce: true
        """

    @Test func execStdinExitCodesAttachAndCopy() async throws {
        guard let setup = try IntegrationSetup.make() else { return }
        defer { setup.removeEverything() }
        try setup.importTestImage()
        let up = try setup.startUp()
        do {
            #expect(await up.waitForOutput("Ready", timeout: .seconds(30)), "node never Ready: \(up.output)")
            let k = setup.kubectl
            try k.ok("apply", "-f", "-", stdin: Self.pod)
            try k.ok("apply", "-f", "-", stdin: Self.webPod)
            #expect(await k.eventually("get", "pod", "shell", "-o", "jsonpath={.status.phase}", timeout: .seconds(60)) { $0 == "Running" })

            let started = ContinuousClock.now
            let hello = try k.run(["exec", "shell", "--", "echo", "hello"])
            let elapsed = ContinuousClock.now - started
            print("kubectl exec echo hello took \(elapsed)")
            #expect(hello.0 == 0 && hello.1 == "hello\n", "exec echo: \(hello)")

            let stderr = try k.run(["exec", "shell", "--", "sh", "-c", "echo to-stderr >&2"])
            #expect(stderr.0 == 0 && stderr.1.isEmpty && stderr.2.contains("to-stderr"), "exec stderr: \(stderr)")

            let exit3 = try k.run(["exec", "shell", "--", "sh", "-c", "exit 3"])
            #expect(exit3.0 == 3, "exec exit 3: \(exit3)")

            let piped = try k.run(["exec", "-i", "shell", "--", "cat"], stdin: "data\n")
            #expect(piped.0 == 0 && piped.1 == "data\n", "exec -i cat: \(piped)")

            let badContainer = try k.run(["exec", "shell", "-c", "nope", "--", "true"])
            #expect(badContainer.0 != 0 && badContainer.2.contains("container nope is not valid for pod shell"), "bad container: \(badContainer)")

            let missing = try k.run(["exec", "shell", "--", "/no/such/command"])
            #expect(missing.0 != 0, "missing command: \(missing)")

            // -it on a terminal (script(1) gives kubectl one): the command runs on a pty.
            if let script = which("script") {
                let command = "\(k.binary) --kubeconfig \(k.kubeconfig) exec -it shell -- sh -c 'tty; exit 4'"
                let (status, out) = try setup.captureStatus(script, ["-qec", command, "/dev/null"])
                #expect(status == 4 && out.contains("/dev/pts/"), "exec -it: \(status) \(out)")
            }

            // kubectl cp reads a tar stream from `tar cf - <path>` over exec stdout.
            let copy = setup.root + "/passwd-copy"
            try k.ok("cp", "shell:/etc/passwd", copy)
            let inPod = try k.ok("exec", "shell", "--", "cat", "/etc/passwd")
            #expect((try? String(contentsOfFile: copy, encoding: .utf8)) == inPod && !inPod.isEmpty, "kubectl cp")

            // attach: output from now on, until kubectl is stopped (output only).
            let attach = try k.run(["attach", "shell", "--pod-running-timeout=5s"], timeout: .seconds(3))
            #expect(attach.1.contains("tick"), "attach output: \(attach)")

            // ... and writes one with `tar xmf -` fed on exec stdin.
            let upload = setup.root + "/upload.txt"
            try "uploaded through exec stdin\n".write(toFile: upload, atomically: true, encoding: .utf8)
            try k.ok("cp", upload, "shell:/tmp/upload.txt")
            #expect(try k.ok("exec", "shell", "--", "cat", "/tmp/upload.txt") == "uploaded through exec stdin\n")

            // attach -i to a container with stdin (stdinOnce): what is typed reaches cat, whose
            // output comes back; the end of input ends cat and so the session.
            try k.ok("apply", "-f", "-", stdin: Self.catPod)
            #expect(await k.eventually("get", "pod", "catter", "-o", "jsonpath={.status.phase}", timeout: .seconds(60)) { $0 == "Running" })
            let attachedInput = try k.run(["attach", "-i", "catter"], stdin: "hello attach\n")
            #expect(attachedInput.0 == 0 && attachedInput.1.contains("hello attach"), "attach -i: \(attachedInput)")
            #expect(await k.eventually("get", "pod", "catter", "-o", "jsonpath={.status.phase}") { $0 == "Succeeded" })

            // A session whose client goes away takes its process with it.
            _ = try k.run(["exec", "shell", "--", "sleep", "1234"], timeout: .seconds(2))
            #expect(await k.eventually("exec", "shell", "--", "ps", "-o", "args") { !$0.contains("sleep 1234") }, "exec'd process outlived kubectl")

            // Numbers: latency of a trivial exec, and bulk stdout/stdin through the whole path.
            var latencies: [Duration] = []
            for _ in 0 ..< 5 {
                let start = ContinuousClock.now
                _ = try k.ok("exec", "shell", "--", "true")
                latencies.append(ContinuousClock.now - start)
            }
            print("kubectl exec true, 5 runs: \(latencies.sorted())")
            var baseline: [Duration] = []
            for _ in 0 ..< 5 {
                let start = ContinuousClock.now
                _ = try k.ok("get", "pod", "shell")
                baseline.append(ContinuousClock.now - start)
            }
            print("kubectl get pod (baseline), 5 runs: \(baseline.sorted())")
            let outStart = ContinuousClock.now
            let bulk = try k.run(["exec", "shell", "--", "head", "-c", "20000000", "/dev/zero"])
            let outTime = ContinuousClock.now - outStart
            #expect(bulk.0 == 0 && bulk.1.utf8.count == 20_000_000, "bulk stdout: \(bulk.0) \(bulk.1.utf8.count) bytes")
            print("kubectl exec stdout 20 MB: \(outTime)")
            let inStart = ContinuousClock.now
            let counted = try k.run(["exec", "-i", "shell", "--", "wc", "-c"], stdin: String(repeating: "x", count: 5_000_000))
            let inTime = ContinuousClock.now - inStart
            #expect(counted.1.trimmingCharacters(in: .whitespacesAndNewlines) == "5000000", "bulk stdin: \(counted)")
            print("kubectl exec -i stdin 5 MB: \(inTime)")

            for version in ["1.30", "1.31", "1.32"] {
                let binary = "/usr/lib/google-cloud-sdk/bin/kubectl.\(version)"
                guard FileManager.default.isExecutableFile(atPath: binary) else { continue }
                let older = Kubectl(binary: binary, kubeconfig: k.kubeconfig)
                let result = try older.run(["exec", "shell", "--", "sh", "-c", "echo from \(version); exit 5"])
                #expect(result.0 == 5 && result.1 == "from \(version)\n", "kubectl \(version): \(result)")
            }
            // kubectl 1.29 and older speak SPDY/3.1 only: the same exec (stdout, stderr, exit
            // code, stdin) and attach over SPDY streams.
            for version in ["1.29", "1.27"] {
                let binary = "/usr/lib/google-cloud-sdk/bin/kubectl.\(version)"
                guard FileManager.default.isExecutableFile(atPath: binary) else { continue }
                let older = Kubectl(binary: binary, kubeconfig: k.kubeconfig)
                let result = try older.run(["exec", "shell", "--", "sh", "-c", "echo from \(version); echo err >&2; exit 5"])
                #expect(result.0 == 5 && result.1 == "from \(version)\n" && result.2.contains("err"), "kubectl \(version) over SPDY: \(result)")
                let piped = try older.run(["exec", "-i", "shell", "--", "cat"], stdin: "spdy stdin \(version)\n")
                #expect(piped.0 == 0 && piped.1 == "spdy stdin \(version)\n", "kubectl \(version) exec -i over SPDY: \(piped)")
                let started = ContinuousClock.now
                _ = try older.ok("exec", "shell", "--", "true")
                print("kubectl \(version) exec true over SPDY took \(ContinuousClock.now - started)")
            }
            let spdyOnly = "/usr/lib/google-cloud-sdk/bin/kubectl.1.29"
            if FileManager.default.isExecutableFile(atPath: spdyOnly) {
                let attach = try Kubectl(binary: spdyOnly, kubeconfig: k.kubeconfig).run(["attach", "shell", "--pod-running-timeout=5s"], timeout: .seconds(3))
                #expect(attach.1.contains("tick"), "kubectl 1.29 attach over SPDY: \(attach)")
                // -it on a terminal over SPDY: a pty, a resize stream, no stderr stream.
                if let script = which("script") {
                    let command = "\(spdyOnly) --kubeconfig \(k.kubeconfig) exec -it shell -- sh -c 'tty; exit 4'"
                    let (status, out) = try setup.captureStatus(script, ["-qec", command, "/dev/null"])
                    #expect(status == 4 && out.contains("/dev/pts/"), "kubectl 1.29 exec -it over SPDY: \(status) \(out)")
                }
            }

            try await portForward(setup, up: up)
        } catch {
            print("capstan up (exit code \(up.exitCode.map { String($0) } ?? "none: still running")):\n\(up.output.suffix(8000))")
            await up.stop()
            throw error
        }
        // Ctrl-C with an exec session open: the server ends it and exits cleanly.
        let open = try ChildProcess.start(setup.kubectl.binary, ["--kubeconfig", setup.kubectl.kubeconfig, "exec", "shell", "--", "sleep", "300"],
                                          outputPath: setup.root + "/open-exec.log")
        #expect(await setup.kubectl.eventually("exec", "shell", "--", "ps", "-o", "args") { $0.contains("sleep 300") })
        let stopping = ContinuousClock.now
        await up.stop()
        print("capstan up stopped with an exec session open in \(ContinuousClock.now - stopping)")
        await open.waitForExit(timeout: .seconds(10))
        #expect(open.exitCode != nil, "kubectl exec still running after the server stopped")
        await open.stop()
        #expect(up.exitCode == 0, "capstan up exit: \(up.output)")
        #expect(setup.runningContainers().isEmpty, "containers left: \(setup.runningContainers())")
    }

    /// `kubectl port-forward pod/web LOCAL:80` to busybox httpd in the pod: kubectl 1.33 (SPDY
    /// in WebSocket) and 1.30 (raw SPDY); a GET through the loopback port returns the served
    /// file. A port nothing listens on in the pod fails on the error stream. Each forwarder is
    /// stopped by its PID.
    func portForward(_ setup: IntegrationSetup, up: ChildProcess) async throws {
        let k = setup.kubectl
        #expect(await k.eventually("get", "pod", "web", "-o", "jsonpath={.status.phase}", timeout: .seconds(60)) { $0 == "Running" },
                "web pod not running: \(up.output.suffix(3000))")
        // A 20 MB file for a throughput number.
        try k.ok("exec", "web", "--", "sh", "-c", "head -c 20000000 /dev/zero > /www/big")
        for version in ["1.33", "1.30"] {
            let binary = "/usr/lib/google-cloud-sdk/bin/kubectl.\(version)"
            guard FileManager.default.isExecutableFile(atPath: binary) else { continue }
            let local = try freePort()
            let forwarder = try ChildProcess.start(binary, ["--kubeconfig", k.kubeconfig, "port-forward", "pod/web", "\(local):80", "--address", "127.0.0.1"],
                                                   outputPath: setup.root + "/port-forward-\(version).log")
            #expect(await forwarder.waitForOutput("Forwarding from 127.0.0.1:\(local) -> 80", timeout: .seconds(20)),
                    "kubectl \(version) port-forward: \(forwarder.output)")
            for _ in 0 ..< 3 {
                let page = httpGet(port: local, path: "/index.html")
                #expect(page?.status == 200 && page.map { String(decoding: $0.body, as: UTF8.self) } == "<h1>hello from busybox httpd</h1>\n",
                        "kubectl \(version) GET through port-forward: \(String(describing: page)) \(forwarder.output)")
            }
            var latencies: [Duration] = []
            for _ in 0 ..< 5 {
                let start = ContinuousClock.now
                _ = httpGet(port: local, path: "/index.html")
                latencies.append(ContinuousClock.now - start)
            }
            print("kubectl \(version) port-forward GET index.html, 5 runs: \(latencies.sorted())")
            // The pod closing its connection ends the pair at once (kubectl ≤1.30 waits for the
            // error stream's end before closing the local connection).
            #expect(latencies.allSatisfy { $0 < .seconds(5) }, "kubectl \(version): the local connection outlived the pod's")
            let start = ContinuousClock.now
            let big = httpGet(port: local, path: "/big")
            #expect(big?.status == 200 && big?.body.count == 20_000_000, "kubectl \(version) 20 MB through port-forward: \(big?.body.count ?? -1) bytes")
            print("kubectl \(version) port-forward GET 20 MB: \(ContinuousClock.now - start)")
            await forwarder.stop()
            #expect(forwarder.exitCode != nil, "kubectl \(version) port-forward still running")
        }
        // Nothing listens on port 81 in the pod: the agent's dial fails, reported on the error stream.
        let local = try freePort()
        let forwarder = try ChildProcess.start(k.binary, ["--kubeconfig", k.kubeconfig, "port-forward", "pod/web", "\(local):81", "--address", "127.0.0.1"],
                                               outputPath: setup.root + "/port-forward-81.log")
        #expect(await forwarder.waitForOutput("Forwarding from", timeout: .seconds(20)), "port-forward :81: \(forwarder.output)")
        #expect(httpGet(port: local, path: "/") == nil, "a response from a port nothing listens on")
        #expect(await forwarder.waitForOutput("error forwarding port 81", timeout: .seconds(10)), "port-forward :81: \(forwarder.output)")
        await forwarder.stop()
    }
}
