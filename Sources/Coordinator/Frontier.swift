import ArgumentParser
import FrontierSupport

@main
struct Frontier: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frontier",
        abstract: "Frontier's coordinator: shards a sweep grid over agents and aggregates Pareto frontiers.",
        discussion: """
            A sweep is a grid file (YAML: tasks × models × technique variants × parameters; see \
            examples/README.md). `frontier local GRID --agents N` runs it on this machine; `frontier \
            serve GRID --bind tcp://0.0.0.0:5555 --store DIR --keys DIR` serves it to \
            `frontier-agent connect` processes on other machines. Results live in the store folder \
            (SQLite); `frontier status` and `frontier report` read it, also while the sweep runs.
            """,
        version: "frontier \(FrontierVersion.string)",
        subcommands: [LocalCommand.self, ServeCommand.self, StatusCommand.self, ReportCommand.self, RetryCommand.self, KeygenCommand.self, BenchCommand.self,
                      VersionCommand.self]
    )
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print Frontier's version.")

    func run() {
        print("frontier \(FrontierVersion.string)")
    }
}
