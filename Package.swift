// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // A section per function, so the release link can place the code Capstan runs together.
    .unsafeFlags(["-Xfrontend", "-function-sections"], .when(configuration: .release)),
]

/// The release binary links the Swift runtime and Foundation statically (no shared-library
/// relocations at start) with lld, packed relative relocations and no exported symbols. `scripts/build-release` adds
/// the link order of scripts/release/capstan.order.xz: the functions a running cluster executes
/// first, placed together, so the pages they touch are few.
let releaseLink: [LinkerSetting] = [
    .unsafeFlags(["-static-stdlib", "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                  // What the shared Foundation libraries bring in themselves.
                  "-l_FoundationICU", "-l_FoundationCollections", "-l_FoundationCShims", "-lCoreFoundation",
                  // The toolchain's static link exports every symbol (3 MB of .dynsym/.dynstr
                  // read at start); nothing looks Capstan's symbols up at run time.
                  "-Xlinker", "--no-export-dynamic"],
                 .when(configuration: .release)),
]

let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
    .product(name: "NIOHTTP1", package: "swift-nio"),
    .product(name: "NIOSSL", package: "swift-nio-ssl"),
]

let package = Package(
    name: "Capstan",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "capstan", targets: ["capstan"]),
        // The per-container shim the node agent starts; it must sit next to `capstan`.
        .executable(name: "capstan-shim", targets: ["capstan-shim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.100.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.0"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.38.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.0"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        // MARK: Pure
        // Generated Kubernetes API types and hand-written special types.
        .target(name: "CapstanAPI", swiftSettings: strict),
        // API machinery: selectors, patches, Status errors, object metadata rules.
        .target(name: "CapstanAPIMachinery", dependencies: ["CapstanAPI"], swiftSettings: strict),
        // Discovery documents (legacy and aggregated) and OpenAPI v2/v3, derived from the schema.
        .target(name: "CapstanDiscovery", dependencies: ["CapstanAPI"], swiftSettings: strict),
        // Server-side printing: Table columns and rows for every built-in kind.
        .target(name: "CapstanTables", dependencies: ["CapstanAPI", "CapstanAPIMachinery"], swiftSettings: strict),
        // The storage protocol and its in-memory reference implementation.
        .target(name: "CapstanStorage", swiftSettings: strict),
        // The system zlib (Debian: zlib1g-dev), for SPDY header compression.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // SPDY/3.1 (kubectl's exec fallback and port-forward): frame codec, compressed header
        // blocks, and the session state machine with flow control. Bytes in, events and bytes out.
        .target(
            name: "CapstanSPDY",
            dependencies: ["CZlib", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),

        // MARK: Implementations
        .target(
            name: "CapstanStorageSQLite",
            dependencies: [
                "CapstanStorage",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
            ],
            swiftSettings: strict
        ),
        // etcd v3 over gRPC, with stubs generated from shared/upstream/etcd-api-proto.
        .target(
            name: "CapstanStorageEtcd",
            dependencies: [
                "CapstanStorage",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Kubernetes protobuf request bodies (`k8s\0` + runtime.Unknown), decoded into JSON trees;
        // messages generated from shared/upstream/kubernetes-api-proto.
        .target(
            name: "CapstanProtobuf",
            dependencies: ["CapstanAPI", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: strict
        ),
        // A Kubernetes API client: kubeconfig, HTTPS, typed and raw requests, watches, informers' base.
        .target(
            name: "CapstanClient",
            dependencies: [
                "CapstanAPI", "CapstanAPIMachinery",
                .product(name: "Logging", package: "swift-log"),
                // TLS handshake events; part of swift-nio, already built for NIOSSL.
                .product(name: "NIOTLS", package: "swift-nio"),
                // HTTP/2 (already in the graph for gRPC to etcd).
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ] + nio,
            swiftSettings: strict
        ),
        // Pure scheduling framework: extension points, profiles, queue and cache logic.
        .target(name: "CapstanSchedulerFramework", dependencies: ["CapstanAPI", "CapstanAPIMachinery"], swiftSettings: strict),
        // The default plugins, one folder each.
        .target(name: "CapstanSchedulerPlugins", dependencies: ["CapstanSchedulerFramework", "CapstanAPI", "CapstanAPIMachinery"], swiftSettings: strict),
        // Cluster CA, serving and client certificates, kubeconfig files.
        .target(
            name: "CapstanPKI",
            dependencies: [
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict
        ),
        // The generic, schema-driven registry and the watch cache, over a StorageBackend.
        .target(
            name: "CapstanRegistry",
            dependencies: ["CapstanAPI", "CapstanAPIMachinery", "CapstanStorage"],
            swiftSettings: strict
        ),

        // MARK: Adapters
        // HTTP upgrades as raw byte connections: taking a server connection out of HTTP, dialing
        // an upgrading backend, splicing two connections (exec/attach/port-forward streams).
        .target(name: "CapstanHTTPUpgrade", dependencies: nio, swiftSettings: strict),
        // The Kubernetes REST API over HTTPS.
        .target(
            name: "CapstanAPIServer",
            dependencies: [
                "CapstanAPI", "CapstanAPIMachinery", "CapstanDiscovery", "CapstanTables", "CapstanRegistry",
                "CapstanStorage", "CapstanStorageSQLite", "CapstanStorageEtcd", "CapstanPKI", "CapstanProtobuf", "CapstanClient",
                "CapstanHTTPUpgrade",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOHTTPCompression", package: "swift-nio-extras"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ] + nio,
            swiftSettings: strict
        ),

        // Informers, work queues, expectations, event recording and leader election over CapstanClient.
        .target(
            name: "CapstanControllerRuntime",
            dependencies: ["CapstanAPI", "CapstanAPIMachinery", "CapstanClient", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // Pure OCI image and runtime-spec types.
        .target(name: "CapstanOCI", swiftSettings: strict),
        // Pulls images from OCI registries and imports archives into a content store of unpacked layers.
        .target(
            name: "CapstanImageStore",
            dependencies: ["CapstanOCI", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log")] + nio,
            swiftSettings: strict
        ),
        // The CRI-like container runtime protocol the node agent drives.
        .target(name: "CapstanContainerRuntime", dependencies: ["CapstanAPI", "CapstanOCI", "CCapstanHost"], swiftSettings: strict),
        // The per-container shim in C: runs `create`, holds the container's stdio, writes its CRI
        // log, records its exit; small, since one runs per container.
        .target(name: "CCapstanShim"),
        // Host helpers in C for the agent and its runtime: statfs, pidfds, and a pod's namespaces
        // and veth made by a child sharing the agent's memory (rtnetlink), without `unshare` or `ip`.
        .target(name: "CCapstanHost"),
        .executableTarget(name: "capstan-shim", dependencies: ["CCapstanShim"],
                          linkerSettings: [.unsafeFlags(["-static-executable"])]),
        // runc/crun behind the ContainerRuntime protocol: bundles, overlayfs, cgroups, log files.
        .target(
            name: "CapstanRuntimeOCI",
            dependencies: ["CapstanContainerRuntime", "CapstanOCI", "CapstanImageStore", "CapstanAPI", "CCapstanHost",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),

        // MARK: Components
        // The controller manager and its controllers, one folder each.
        .target(
            name: "CapstanControllers",
            dependencies: ["CapstanControllerRuntime", "CapstanAPI", "CapstanAPIMachinery", "CapstanClient", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // The scheduler service: informers feeding the framework, bindings and events through the API.
        .target(
            name: "CapstanScheduler",
            dependencies: [
                "CapstanSchedulerFramework", "CapstanSchedulerPlugins", "CapstanClient",
                "CapstanAPI", "CapstanAPIMachinery", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Simulated nodes (as kwok): Node objects, Leases, pods moved to Running without containers.
        .target(
            name: "CapstanNodeSimulator",
            dependencies: ["CapstanClient", "CapstanAPI", "CapstanAPIMachinery", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // The node agent (kubelet's job): node registration, pod workers, probes, volumes, pod network, streaming.
        .target(
            name: "CapstanNodeAgent",
            dependencies: [
                "CapstanContainerRuntime", "CapstanControllerRuntime", "CapstanClient", "CapstanAPI", "CapstanAPIMachinery",
                "CapstanPKI", "CapstanHTTPUpgrade", "CapstanSPDY", .product(name: "Logging", package: "swift-log"),
                // gRPC probes (grpc.health.v1).
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                // SHA-1 for the WebSocket handshake.
                .product(name: "Crypto", package: "swift-crypto"),
            ] + nio,
            // Swift 6.3.1's optimizer crashes (signal 11, LLVM coroutine splitting) on this module's
            // async actor methods; it is built unoptimized in release until the toolchain is fixed.
            swiftSettings: strict
        ),

        // MARK: Test support
        .target(name: "CapstanStorageConformance", dependencies: ["CapstanStorage"], swiftSettings: strict),
        // An in-process API server on loopback with clients for component tests, and a manual clock.
        .target(
            name: "CapstanTesting",
            dependencies: [
                "CapstanAPIServer", "CapstanClient", "CapstanPKI", "CapstanStorage", "CapstanStorageConformance",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // MARK: Executable
        .executableTarget(
            name: "capstan",
            dependencies: [
                "CapstanAPI",
                "CapstanStorage",
                "CapstanStorageSQLite",
                "CapstanStorageEtcd",
                "CapstanAPIServer",
                "CapstanClient",
                "CapstanControllers",
                "CapstanScheduler",
                "CapstanNodeSimulator",
                "CapstanNodeAgent",
                "CapstanRuntimeOCI",
                "CapstanImageStore",
                "CCapstanHost",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict,
            linkerSettings: releaseLink
        ),

        // MARK: Tests
        .testTarget(
            name: "CapstanAPITests",
            dependencies: ["CapstanAPI"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(name: "CapstanAPIMachineryTests", dependencies: ["CapstanAPIMachinery"], swiftSettings: strict),
        .testTarget(name: "CapstanDiscoveryTests", dependencies: ["CapstanDiscovery"], swiftSettings: strict),
        .testTarget(name: "CapstanTablesTests", dependencies: ["CapstanTables"], swiftSettings: strict),
        .testTarget(name: "CapstanPKITests", dependencies: ["CapstanPKI"], swiftSettings: strict),
        .testTarget(name: "CapstanSPDYTests", dependencies: ["CapstanSPDY"], swiftSettings: strict),
        .testTarget(
            name: "CapstanStorageTests",
            dependencies: ["CapstanStorage", "CapstanStorageSQLite", "CapstanStorageConformance"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CapstanStorageEtcdTests",
            dependencies: [
                "CapstanStorage", "CapstanStorageEtcd", "CapstanStorageConformance",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "CapstanProtobufTests", dependencies: ["CapstanProtobuf", "CapstanAPI"], swiftSettings: strict),
        .testTarget(name: "CapstanClientTests", dependencies: ["CapstanClient", "CapstanAPIServer", "CapstanPKI", "CapstanTesting"], swiftSettings: strict),
        .testTarget(name: "CapstanControllerRuntimeTests", dependencies: ["CapstanControllerRuntime", "CapstanTesting"], swiftSettings: strict),
        .testTarget(
            name: "CapstanControllersTests",
            dependencies: ["CapstanControllers", "CapstanControllerRuntime", "CapstanNodeSimulator", "CapstanScheduler", "CapstanTesting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CapstanSchedulerComponentTests",
            dependencies: ["CapstanScheduler", "CapstanNodeSimulator", "CapstanTesting"],
            swiftSettings: strict
        ),
        .testTarget(name: "CapstanImageStoreTests", dependencies: ["CapstanImageStore", "CapstanOCI"], swiftSettings: strict),
        .testTarget(
            name: "CapstanRuntimeOCITests",
            dependencies: ["CapstanRuntimeOCI", "CapstanContainerRuntime", "CapstanImageStore", "CapstanOCI", "CCapstanShim", "CCapstanHost"],
            swiftSettings: strict
        ),
        // Processes as users run them: `capstan up` with real runc and real kubectl.
        .testTarget(name: "CapstanIntegrationTests", swiftSettings: strict),
        .testTarget(
            name: "CapstanNodeAgentTests",
            dependencies: [
                "CapstanNodeAgent", "CapstanRuntimeOCI", "CapstanContainerRuntime", "CapstanTesting", "CapstanHTTPUpgrade", "CapstanSPDY",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CapstanSchedulerTests",
            dependencies: ["CapstanSchedulerFramework", "CapstanSchedulerPlugins"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CapstanAPIServerTests",
            dependencies: ["CapstanAPIServer", "CapstanRegistry", "CapstanStorage", "CapstanStorageEtcd", "CapstanPKI", "CapstanHTTPUpgrade"],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
