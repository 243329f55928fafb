import ArgumentParser
import CapstanImageStore
import CapstanOCI
import Foundation

/// `capstan image import|ls|rm|pull|gc`: the node's image store, offline or from registries.
struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Manage the node's image store (the agent runs containers from it).",
        subcommands: [Import.self, List.self, Remove.self, Pull.self, Collect.self]
    )

    /// The store's root; the agent uses the same default.
    static let defaultRoot = "/var/lib/capstan/images"

    struct StoreOptions: ParsableArguments {
        @Option(name: .long, help: "Image store directory (blobs, unpacked layers, images.json).")
        var root = ImageCommand.defaultRoot

        func open() throws -> ImageStore {
            try ImageStore(root: root)
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import an OCI image layout (directory or tarball) or a docker-archive tarball (docker save)."
        )

        @OptionGroup var store: StoreOptions
        @Option(name: .long, help: "Repository for OCI layout images named only by a tag.")
        var baseName = "localhost/import"
        @Argument(help: "The archive or layout directory.")
        var file: String

        func run() async throws {
            let images = try await store.open().importArchive(file, baseName: baseName)
            for image in images {
                print("imported \(image.names.first ?? "<untagged>") \(image.id)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List images.")

        @OptionGroup var store: StoreOptions
        @Flag(name: .shortAndLong, help: "Print only image ids.")
        var quiet = false

        func run() async throws {
            let images = try await store.open().list()
            if quiet {
                images.forEach { print($0.id) }
                return
            }
            var rows = [["IMAGE", "IMAGE ID", "SIZE"]]
            for image in images {
                let id = String(image.id.encoded.prefix(12))
                let size = ByteCountFormatter.string(fromByteCount: image.size, countStyle: .file)
                if image.names.isEmpty {
                    rows.append(["<none>", id, size])
                } else {
                    rows += image.names.map { [$0, id, size] }
                }
            }
            let widths = (0 ..< 3).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "   "))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove image names (the image goes with its last name), then free unused content.")

        @OptionGroup var store: StoreOptions
        @Argument(help: "Image names or ids.")
        var references: [String]

        func run() async throws {
            let images = try store.open()
            var missing: [String] = []
            for reference in references {
                if try await images.remove(reference) {
                    print("removed \(reference)")
                } else {
                    missing.append(reference)
                }
            }
            let collected = try await images.garbageCollect()
            if collected.removedBlobs + collected.removedLayers > 0 {
                print("freed \(collected.removedBlobs) blobs and \(collected.removedLayers) layers")
            }
            if !missing.isEmpty { throw ValidationError("no such image: \(missing.joined(separator: ", "))") }
        }
    }

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "pull", abstract: "Pull an image from an OCI registry.")

        @OptionGroup var store: StoreOptions
        @Option(name: .long, help: "Registry user name (password from CAPSTAN_REGISTRY_PASSWORD).")
        var username: String?
        @Option(name: .long, help: "Registries reached over plain HTTP (loopback always is).")
        var insecureRegistry: [String] = []
        @Argument(help: "Image reference, e.g. busybox:1.36 or 127.0.0.1:5000/demo/app:v1.")
        var reference: String

        func run() async throws {
            let images = try ImageStore(root: store.root, plainHTTPRegistries: Set(insecureRegistry))
            let credentials = username.map { RegistryCredentials(username: $0, password: ProcessInfo.processInfo.environment["CAPSTAN_REGISTRY_PASSWORD"] ?? "") }
            let started = ContinuousClock.now
            let image = try await images.pull(reference, credentials: credentials)
            print("pulled \(reference) \(image.id) in \(ContinuousClock.now - started)")
        }
    }

    struct Collect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "gc", abstract: "Delete blobs and layers no image uses.")

        @OptionGroup var store: StoreOptions

        func run() async throws {
            let collected = try await store.open().garbageCollect()
            print("freed \(collected.removedBlobs) blobs, \(collected.removedLayers) layers, \(collected.freedBytes) bytes")
        }
    }
}
