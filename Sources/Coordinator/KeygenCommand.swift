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
              frontier keygen --out keys/agent --name agent
              mkdir -p keys/coordinator/authorized
              cp keys/agent/agent.pub keys/coordinator/authorized/
              cp keys/coordinator/coordinator.pub keys/agent/

            then `frontier serve … --keys keys/coordinator` and, on each agent machine, \
            `frontier-agent connect … --keys keys/agent`. Agents may share one pair or have one each \
            (put every agent's .pub in authorized/; removing a file there locks that agent out of new \
            connections without a restart).
            """
    )

    @Option(help: "The folder to write into (created if missing).")
    var out: String

    @Option(help: "The file name stem: coordinator, agent, or an agent's own name.")
    var name: String = "coordinator"

    @Flag(help: "Overwrite an existing pair.")
    var force = false

    func validate() throws {
        guard !name.isEmpty, !name.contains("/") else { throw ValidationError("--name must be a plain file name") }
    }

    func run() throws {
        do {
            let pair = try CurveKeyPair.generate()
            let dir = URL(fileURLWithPath: out)
            try pair.write(to: dir, name: name, overwrite: force)
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
