import CapstanImageStore
import CapstanOCI
import Foundation
import Testing

private let canUnpack = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/bin/busybox")

@Suite("ImageStore", .enabled(if: canUnpack, "needs root (layer ownership, whiteout devices) and busybox-static"))
struct ImageStoreTests {
    @Test("importing an OCI layout tarball unpacks shared layers once and converts whiteouts")
    func importLayout() async throws {
        let images = try #require(try TestImages.directory())
        try await withTemporaryRoot { root in
            let store = try ImageStore(root: root)
            let imported = try await store.importArchive(images + "/busybox-oci.tar")
            #expect(Set(imported.flatMap(\.names)) == ["localhost/import:latest", "localhost/import:latest-extra"])
            let base = try #require(await store.image("localhost/import"))
            let extra = try #require(await store.image("localhost/import:latest-extra"))
            #expect(base.diffIDs.count == 1 && extra.diffIDs.count == 2 && extra.diffIDs[0] == base.diffIDs[0])
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/layers").count == 2)
            let baseDir = store.layerDirectory(base.diffIDs[0])
            #expect(FileManager.default.isExecutableFile(atPath: baseDir + "/bin/busybox"))
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: baseDir + "/bin/sh") == "busybox")
            let topDir = store.layerDirectory(extra.diffIDs[1])
            var info = stat()
            #expect(lstat(topDir + "/www/index.html", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR && info.st_rdev == 0)
            #expect(!FileManager.default.fileExists(atPath: topDir + "/www/.wh.index.html"))
            let configDigest = try ContentDigest.sha256(hex: LayerDigest.sha256(root + "/blobs/sha256/" + base.id.encoded))
            #expect(base.config.cmd == ["/bin/sh"] && base.id == configDigest)
            // The records survive a restart.
            let reopened = try ImageStore(root: root)
            #expect(await reopened.list().map(\.id).sorted() == [base.id, extra.id].sorted())
        }
    }

    @Test("an image another process imports into a root in use is found, and survives this store's next save")
    func importBesideARunningStore() async throws {
        let images = try #require(try TestImages.directory())
        try await withTemporaryRoot { root in
            let running = try ImageStore(root: root)  // the agent's store, opened first
            #expect(await running.image("capstan.test/busybox:latest") == nil)
            let cli = try ImageStore(root: root)      // `capstan image import` beside it
            _ = try await cli.importArchive(images + "/busybox-oci.tar", baseName: "capstan.test/busybox")
            let found = try #require(await running.image("capstan.test/busybox:latest"))
            #expect(found.names.contains("capstan.test/busybox:latest"))
            // The running store writes its index (an import of its own): the other records stay.
            _ = try await running.importArchive(images + "/busybox-oci.tar", baseName: "other/name")
            let reopened = try ImageStore(root: root)
            #expect(await reopened.image("capstan.test/busybox:latest-extra") != nil)
            #expect(await reopened.image("other/name:latest") != nil)
        }
    }

    @Test("a docker-archive import names the image from RepoTags and shares the layer with the OCI import")
    func importDockerArchive() async throws {
        let images = try #require(try TestImages.directory())
        try await withTemporaryRoot { root in
            let store = try ImageStore(root: root)
            let layout = try await store.importArchive(images + "/oci")
            let docker = try await store.importArchive(images + "/busybox-docker.tar")
            // Same config, same layer: the docker-archive is the OCI layout's base image under another name.
            #expect(docker.count == 1 && docker[0].names.contains("docker.io/library/busybox:latest") && docker[0].names.contains("localhost/import:latest"))
            let image = try #require(await store.image("busybox"))
            #expect(image.diffIDs == layout.first { $0.diffIDs.count == 1 }?.diffIDs)
            #expect(image.id == layout.first { $0.diffIDs.count == 1 }?.id)
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/layers").count == 2)
        }
    }

    @Test("bad archives are clear errors")
    func badArchives() async throws {
        try await withTemporaryRoot { root in
            let store = try ImageStore(root: root)
            let junk = root + "/junk.tar"
            try Data("not a tar".utf8).write(to: URL(fileURLWithPath: junk))
            await #expect(throws: ImageStoreError.self) { try await store.importArchive(junk) }
            await #expect(throws: ImageStoreError.self) { try await store.importArchive(root + "/missing.tar") }
            try FileManager.default.createDirectory(atPath: root + "/empty", withIntermediateDirectories: true)
            await #expect(throws: ImageStoreError.self) { try await store.importArchive(root + "/empty") }
        }
    }

    @Test("remove drops names, GC frees only unreferenced blobs and layers")
    func removeAndCollect() async throws {
        let images = try #require(try TestImages.directory())
        try await withTemporaryRoot { root in
            let store = try ImageStore(root: root)
            try await store.importArchive(images + "/oci")
            let extra = try #require(await store.image("localhost/import:latest-extra"))
            #expect(try await store.remove("localhost/import:latest-extra"))
            #expect(try await store.remove("localhost/import:latest-extra") == false)
            #expect(await store.image(extra.id.description) == nil)
            let collected = try await store.garbageCollect()
            #expect(collected.removedLayers == 1 && collected.removedBlobs == 3)
            let base = try #require(await store.image("localhost/import:latest"))
            #expect(FileManager.default.fileExists(atPath: store.layerDirectory(base.diffIDs[0]) + "/bin/busybox"))
            #expect(try await store.garbageCollect().removedBlobs == 0)
            try await store.remove(base.id.description)
            #expect(await store.list().isEmpty)
            let all = try await store.garbageCollect()
            #expect(all.removedLayers == 1 && all.removedBlobs == 3)
        }
    }
}

@Suite("Registry pulls", .enabled(if: canUnpack && LocalRegistry.available, "needs root, busybox-static, docker-registry and skopeo"))
struct RegistryPullTests {
    @Test("pull from a loopback registry: digests checked, layers shared, second pull downloads nothing")
    func pull() async throws {
        let images = try #require(try TestImages.directory())
        let registry = try await LocalRegistry.start()
        defer { registry.stop() }
        try registry.push("oci:\(images)/oci:latest", as: "test/busybox:1")
        try registry.push("oci:\(images)/oci:latest-extra", as: "test/busybox:extra")
        try await withTemporaryRoot { root in
            let store = try ImageStore(root: root)
            let clock = ContinuousClock()
            let started = clock.now
            let image = try await store.pull("\(registry.address)/test/busybox:1")
            let firstPull = clock.now - started
            #expect(image.names == ["\(registry.address)/test/busybox:1"])
            #expect(image.repoDigests.first?.hasPrefix("\(registry.address)/test/busybox@sha256:") == true)
            #expect(FileManager.default.isExecutableFile(atPath: store.layerDirectory(image.diffIDs[0]) + "/bin/busybox"))
            let extra = try await store.pull("\(registry.address)/test/busybox:extra")
            #expect(extra.diffIDs.first == image.diffIDs.first)
            let again = clock.now
            let repeated = try await store.pull("\(registry.address)/test/busybox:1")
            let secondPull = clock.now - again
            #expect(repeated.id == image.id)
            let byDigest = try await store.pull("\(registry.address)/test/busybox@\(image.manifestDigest)")
            #expect(byDigest.id == image.id)
            print("pull timings: first \(firstPull), repeated \(secondPull)")
        }
    }

    @Test("missing tags, unreachable registries and corrupted blobs fail with their codes")
    func failures() async throws {
        let images = try #require(try TestImages.directory())
        let registry = try await LocalRegistry.start()
        defer { registry.stop() }
        try registry.push("oci:\(images)/oci:latest-extra", as: "test/corrupt:1")
        try await withTemporaryRoot { root in
            let store = try ImageStore(root: root)
            await expectCode(.notFound) { try await store.pull("\(registry.address)/test/none:1") }
            await expectCode(.registryUnreachable) { try await store.pull("127.0.0.1:1/test/busybox:1") }
            await expectCode(.invalidReference) { try await store.pull("UPPER/case") }
            // Overwrite the second layer's data in the registry's storage with other bytes of the same size.
            let blobs = registry.directory + "/data/docker/registry/v2/blobs/sha256"
            let manifest = try #require(FileManager.default.contents(atPath: images + "/oci/index.json"))
            _ = manifest
            let layout = try JSONDecoder().decode(ImageIndex.self, from: Data(contentsOf: URL(fileURLWithPath: images + "/oci/index.json")))
            let extraManifest = try JSONDecoder().decode(ImageManifest.self, from: Data(contentsOf: URL(fileURLWithPath: images + "/oci/blobs/sha256/" + layout.manifests[1].digest.encoded)))
            let layer = extraManifest.layers[1].digest.encoded
            let data = blobs + "/" + layer.prefix(2) + "/" + layer + "/data"
            try Data(repeating: 0x41, count: Int(extraManifest.layers[1].size)).write(to: URL(fileURLWithPath: data))
            await expectCode(.digestMismatch) { try await store.pull("\(registry.address)/test/corrupt:1") }
            #expect(await store.list().isEmpty)
        }
    }

    @Test("basic auth: anonymous pulls are refused, credentials work, wrong ones are unauthorized")
    func basicAuth() async throws {
        let images = try #require(try TestImages.directory())
        guard let htpasswd = LocalRegistry.htpasswd(user: "alice", password: "secret") else { return }
        let registry = try await LocalRegistry.start(htpasswd: htpasswd)
        defer { registry.stop() }
        try registry.push("oci:\(images)/oci:latest", as: "private/busybox:1", credentials: "alice:secret")
        try await withTemporaryRoot { root in
            let store = try ImageStore(root: root)
            let reference = "\(registry.address)/private/busybox:1"
            await expectCode(.unauthorized) { try await store.pull(reference) }
            await expectCode(.unauthorized) { try await store.pull(reference, credentials: RegistryCredentials(username: "alice", password: "wrong")) }
            let image = try await store.pull(reference, credentials: RegistryCredentials(username: "alice", password: "secret"))
            #expect(image.names == [reference])
        }
    }

    private func expectCode(_ code: ImageStoreError.Code, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected \(code), got success")
        } catch let error as ImageStoreError {
            #expect(error.code == code, "\(error)")
        } catch {
            Issue.record("expected \(code), got \(error)")
        }
    }
}

enum LayerDigest {
    static func sha256(_ path: String) throws -> String {
        try Shell.run(["sha256sum", path]).split(separator: " ").first.map(String.init) ?? ""
    }
}
