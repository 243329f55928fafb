@testable import CapstanImageStore
import CapstanOCI
import Testing

@Suite("OCI references and documents")
struct ReferenceTests {
    @Test("references normalize like Docker's", arguments: [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest"),
        ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
        ("docker.io/busybox", "docker.io/library/busybox:latest"),
        ("index.docker.io/library/nginx", "docker.io/library/nginx:latest"),
        ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
        ("127.0.0.1:5000/demo/busybox", "127.0.0.1:5000/demo/busybox:latest"),
        ("localhost/app:v1.2.3-rc_1", "localhost/app:v1.2.3-rc_1"),
        ("ghcr.io/a/b/c__d-e.f:x", "ghcr.io/a/b/c__d-e.f:x"),
        ("busybox@sha256:" + String(repeating: "ab", count: 32), "docker.io/library/busybox@sha256:" + String(repeating: "ab", count: 32)),
        ("quay.io/x/y:tag@sha256:" + String(repeating: "0", count: 64), "quay.io/x/y:tag@sha256:" + String(repeating: "0", count: 64)),
    ])
    func normalize(_ input: String, _ expected: String) throws {
        #expect(try ImageReference(parsing: input).description == expected)
    }

    @Test("bad references are errors", arguments: [
        "", "Busybox", "busybox:", "busybox:-x", "bad//name", "-lead/x", "a b", "busybox@sha256:abc", "busybox@md5:" + String(repeating: "a", count: 32), "x:" + String(repeating: "t", count: 129),
    ])
    func invalid(_ input: String) {
        #expect(throws: OCIError.self) { try ImageReference(parsing: input) }
    }

    @Test("Docker Hub is reached at registry-1.docker.io; manifests by digest win over tags")
    func apiHost() throws {
        let hub = try ImageReference(parsing: "nginx:1.27")
        #expect(hub.apiHost == "registry-1.docker.io" && hub.repository == "library/nginx" && hub.manifestReference == "1.27")
        let pinned = try ImageReference(parsing: "ghcr.io/o/r:1@sha256:" + String(repeating: "c", count: 64))
        #expect(pinned.apiHost == "ghcr.io" && pinned.manifestReference == "sha256:" + String(repeating: "c", count: 64))
    }

    @Test("an index resolves to the platform's manifest")
    func platformSelection() throws {
        func descriptor(_ n: Character, _ os: String, _ arch: String, _ variant: String? = nil, type: String = MediaType.ociManifest) throws -> Descriptor {
            Descriptor(mediaType: type, digest: try ContentDigest.sha256(hex: String(repeating: n, count: 64)), size: 1, platform: Platform(architecture: arch, os: os, variant: variant))
        }
        let index = ImageIndex(manifests: [
            try descriptor("1", "linux", "arm", "v7"), try descriptor("2", "windows", "amd64"),
            try descriptor("3", "linux", "arm64", "v8"), try descriptor("4", "linux", "amd64"),
            try descriptor("5", "unknown", "unknown", type: MediaType.ociManifest),
        ])
        #expect(index.manifest(for: Platform(architecture: "amd64", os: "linux"))?.digest.encoded.first == "4")
        #expect(index.manifest(for: Platform(architecture: "arm64", os: "linux", variant: "v8"))?.digest.encoded.first == "3")
        #expect(index.manifest(for: Platform(architecture: "s390x", os: "linux")) == nil)
    }

    @Test("WWW-Authenticate challenges parse")
    func challenges() {
        let bearer = AuthChallenge(header: #"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#)
        #expect(bearer?.scheme == "bearer")
        #expect(bearer?.parameters == ["realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:library/busybox:pull"])
        let basic = AuthChallenge(header: #"Basic realm="Registry Realm""#)
        #expect(basic?.scheme == "basic" && basic?.parameters["realm"] == "Registry Realm")
        #expect(AuthChallenge(header: "  ") == nil)
    }

    @Test("config and manifest documents decode with their JSON names")
    func documents() throws {
        let config = #"{"architecture":"amd64","os":"linux","config":{"Env":["A=1"],"Cmd":["/bin/sh"],"User":"nobody","WorkingDir":"/w"},"rootfs":{"type":"layers","diff_ids":["sha256:\#(String(repeating: "a", count: 64))"]}}"#
        let decoded = try JSONDecoder().decode(ImageConfiguration.self, from: Data(config.utf8))
        #expect(decoded.config?.cmd == ["/bin/sh"] && decoded.config?.user == "nobody" && decoded.rootfs.diffIDs.count == 1)
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(ImageConfiguration.self, from: Data(config.replacingOccurrences(of: "sha256:a", with: "sha256:Z").utf8))
        }
        #expect(MediaType.layerCompression(MediaType.dockerLayerGzip) == .gzip)
        #expect(MediaType.layerCompression(MediaType.ociConfig) == nil)
    }
}

import Foundation
