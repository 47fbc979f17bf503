import ArgumentParser
import Foundation
import FrontierTransport

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a CURVE key pair: DIR/NAME.pub (share it) and DIR/NAME.secret (mode 0600, keep it).",
        discussion: """
            A fleet needs two pairs:

              frontier keygen --out keys/coordinator --name coordinator
              frontier keygen --out keys/agent --name agent --agent-ids '*'
              cp keys/agent/agent.pub keys/coordinator/authorized/fleet.pub
              cp keys/coordinator/coordinator.pub keys/agent/

            then `frontier serve … --keys keys/coordinator` and, on each agent machine, \
            `frontier-agent connect … --keys keys/agent`.

            The coordinator binds every agent id to the key it connected with. A key filed as \
            authorized/NAME.pub admits the agent ids NAME and NAME-*, unless its file has a \
            `# agent-ids: GLOB, GLOB` line (--agent-ids writes one): '*' for a pair the whole \
            fleet shares, or one pair per machine (frontier keygen --out keys/node7 --name agent, \
            filed as authorized/node7.pub, for agents node7, node7-0, …) so that a stolen key acts \
            only under its own names. Removing a file from authorized/ locks that key out of new \
            connections without a restart.
            """
    )

    @Option(help: "The folder to write into (created if missing).")
    var out: String

    @Option(help: "The file name stem: coordinator, agent, or an agent's own name.")
    var name: String = "coordinator"

    @Option(name: .customLong("agent-ids"), parsing: .upToNextOption,
            help: "Agent-id globs this key may use, written into NAME.pub (e.g. '*' for a fleet-wide key, 'node7-*').")
    var agentIds: [String] = []

    @Flag(help: "Overwrite an existing pair.")
    var force = false

    func validate() throws {
        guard !name.isEmpty, !name.contains("/") else { throw ValidationError("--name must be a plain file name") }
        for glob in agentIds where glob.isEmpty || glob.contains(where: { $0 == "," || $0.isWhitespace }) {
            throw ValidationError("--agent-ids: '\(glob)' is not one glob (give several as separate words)")
        }
    }

    func run() throws {
        do {
            let pair = try CurveKeyPair.generate()
            let dir = URL(fileURLWithPath: out)
            try pair.write(to: dir, name: name, overwrite: force, agentIds: agentIds)
            if name == "coordinator" {
                try FileManager.default.createDirectory(at: dir.appendingPathComponent("authorized"),
                                                        withIntermediateDirectories: true)
            }
            note("frontier: wrote \(dir.appendingPathComponent("\(name).pub").path) and \(name).secret")
            print(pair.publicKey)
        } catch {
            note("Error: \(error)")
            throw ExitCode(1)
        }
    }
}
