import ArgumentParser
import FrontierSupport

@main
struct FrontierAgent: ParsableCommand {

    static let configuration = CommandConfiguration(
        commandName: "frontier-agent",
        abstract: "Runs Frontier's Swift BERT engine on this machine: tokenize, score, evaluate and benchmark.",
        discussion: """
            The agent is the part of Frontier that touches models. Each subcommand loads a Hugging Face \
            checkpoint folder (config.json, vocab.txt, model.safetensors) and runs the engine on this \
            machine's CPU with an explicit thread count.
            """,
        version: "frontier-agent \(FrontierVersion.string)",
        subcommands: [InfoCommand.self, TokenizeCommand.self, LogitsCommand.self, EvalCommand.self, BenchCommand.self, TrainingBenchCommand.self,
                      RunCommand.self, ConnectCommand.self, WorkerCommand.self, FinetuneCommand.self,
                      ImpCommand.self, ImpControlCommand.self, PruneStructuredCommand.self]
    )
}
