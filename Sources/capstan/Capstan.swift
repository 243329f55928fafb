import ArgumentParser

@main
struct Capstan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capstan",
        abstract: "A Kubernetes-compatible container orchestrator.",
        version: CapstanVersion.describe(),
        subcommands: [
            VersionCommand.self,
            BenchCommand.self,
            UpCommand.self,
            ServerCommand.self,
            AgentCommand.self,
            SimulateCommand.self,
            ImageCommand.self,
        ]
    )
}
