import ArgumentParser

/// Roles that later capabilities build. They exist now so the command line is stable,
/// and each says plainly that it is not available yet instead of pretending.
enum ReservedCommand {
    static func unavailable(_ role: String) -> ValidationError {
        ValidationError("'capstan \(role)' is not available in this build yet.")
    }

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "up", abstract: "Run a one-node cluster on this machine (not available yet).")
        func run() throws { throw ReservedCommand.unavailable("up") }
    }

    struct Agent: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "agent", abstract: "Run a node agent (not available yet).")
        func run() throws { throw ReservedCommand.unavailable("agent") }
    }

    struct Simulate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "simulate", abstract: "Register simulated nodes (not available yet).")
        func run() throws { throw ReservedCommand.unavailable("simulate") }
    }
}
