import ArgumentParser

/// `capstan bench ...`: rerunnable measurements; each subcommand ends with one `RESULT` line.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark and print medians, percentiles and a RESULT line.",
        subcommands: [BenchStorageCommand.self, BenchCodecCommand.self, BenchAPICommand.self, BenchStorageWriterCommand.self, BenchSchedulerCommand.self, BenchScaleCommand.self, BenchUpCommand.self, BenchPodsCommand.self, BenchControllersCommand.self]
    )
}
