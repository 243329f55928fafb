import ArgumentParser
import CapstanAPI

enum CapstanVersion {
    static let capstan = "0.1.0"

    static func describe() -> String {
        "Capstan \(capstan) (Kubernetes API \(KubernetesAPIVersion.gitVersion))"
    }
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the Capstan version and the Kubernetes API version it serves."
    )

    @Flag(name: .long, help: "Print only the Kubernetes API version (vMAJOR.MINOR).")
    var short = false

    func run() {
        if short {
            print(KubernetesAPIVersion.short)
        } else {
            print("Capstan version: \(CapstanVersion.capstan)")
            print("Kubernetes API version: \(KubernetesAPIVersion.short) (\(KubernetesAPIVersion.gitVersion))")
        }
    }
}
