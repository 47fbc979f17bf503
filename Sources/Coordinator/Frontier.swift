import ArgumentParser
import Core

@main
struct Frontier: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frontier",
        abstract: "Frontier's coordinator: shards a sweep grid over agents and aggregates Pareto frontiers.",
        discussion: """
            This release ships the engine (see frontier-agent); the sweep commands (local, serve, \
            status, keygen, report) arrive with the distributed sweep. `frontier version` prints \
            the version that agents must match.
            """,
        subcommands: [VersionCommand.self]
    )
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print Frontier's version.")

    func run() {
        print("frontier \(FrontierVersion.string)")
    }
}
