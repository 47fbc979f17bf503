import ArgumentParser
import Foundation
import FrontierStore

struct RetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Make failed trials run again: they become pending, with a fresh count of attempts.",
        discussion: """
            A trial that failed --max-attempts times (or once, deterministically) stays failed in its store, \
            and `frontier serve` on that store does not run it again. After fixing the cause (a wrong \
            FRONTIER_SHARED, a missing model), `frontier retry --store DIR --failed` resets every failed \
            trial, or `--trial ID` (repeatable) the ones named; the next `frontier serve` on the store runs \
            them. Their earlier attempts and reasons are kept, with a line saying when they were reset. Done \
            trials are never touched.

            Run it while no `frontier serve` uses the store (a running coordinator does not see the change \
            until it is restarted). The Slurm job does it before starting the coordinator when \
            FRONTIER_RETRY_FAILED=1.

            Exit status: 0 (also when nothing was failed); 1 when the store cannot be opened or a named \
            trial is not failed; 64 for bad options.
            """
    )

    @Option(help: "The store folder.")
    var store: String

    @Flag(help: "Every failed trial.")
    var failed = false

    @Option(name: .customLong("trial"), help: "A failed trial's id (as `frontier status` lists it); repeatable.")
    var trials: [String] = []

    func validate() throws {
        guard failed || !trials.isEmpty else { throw ValidationError("say which trials: --failed, or --trial ID") }
    }

    func run() throws {
        do {
            let url = URL(fileURLWithPath: store)
            guard FileManager.default.fileExists(atPath: url.appendingPathComponent("frontier.sqlite").path) else {
                throw SweepStoreError.noStore(url.path)
            }
            let reset = try SweepStore(folder: url).retry(trialIds: trials, allFailed: failed)
            print("frontier retry: \(reset.count) failed trial(s) made pending again in \(url.path)"
                + (reset.isEmpty ? "" : "; the next `frontier serve` on this store runs them"))
            for id in reset.prefix(20) { print("  \(id)") }
            if reset.count > 20 { print("  … and \(reset.count - 20) more") }
        } catch {
            note("Error: \(error)")
            throw ExitCode(1)
        }
    }
}
