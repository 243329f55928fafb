// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Capstan",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "capstan", targets: ["capstan"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.0"),
    ],
    targets: [
        // Pure: generated Kubernetes API types and hand-written special types.
        .target(name: "CapstanAPI", swiftSettings: strict),

        // Pure logic: the storage protocol and its in-memory reference implementation.
        .target(name: "CapstanStorage", swiftSettings: strict),
        // Implementations.
        .target(
            name: "CapstanStorageSQLite",
            dependencies: [
                "CapstanStorage",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
            ],
            swiftSettings: strict
        ),
        // Test support: the conformance suite every storage backend passes.
        .target(name: "CapstanStorageConformance", dependencies: ["CapstanStorage"], swiftSettings: strict),

        // The one executable.
        .executableTarget(
            name: "capstan",
            dependencies: [
                "CapstanAPI",
                "CapstanStorage",
                "CapstanStorageSQLite",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),

        .testTarget(
            name: "CapstanAPITests",
            dependencies: ["CapstanAPI"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CapstanStorageTests",
            dependencies: ["CapstanStorage", "CapstanStorageSQLite", "CapstanStorageConformance"],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
