import Foundation
import Testing

/// Conditions for tests that cannot run everywhere. Each one is a trait, so the runner reports
/// the test as skipped with the reason — never as a pass that did nothing — and
/// `scripts/test.sh` counts the skips. The comments start with a fixed phrase per cause, which
/// CI greps for: with `../shared` present, nothing may skip for `needs shared data`.
extension Trait where Self == ConditionTrait {
    /// Every path must exist under the shared folder (`../shared` or `FRONTIER_SHARED`).
    static func needsShared(_ relatives: String...) -> Self { needsShared(relatives) }

    static func needsShared(_ relatives: [String]) -> Self {
        let missing = relatives.filter { !SharedData.exists($0) }.map { SharedData.path($0).path }
        return .enabled(if: missing.isEmpty,
                        Comment(rawValue: "needs shared data: \(missing.joined(separator: ", ")) absent (set FRONTIER_SHARED)"))
    }

    /// A built `frontier-agent` beside the test bundle (`swift test` builds it) or named by
    /// `FRONTIER_AGENT_BINARY`.
    static var needsAgentBinary: Self {
        .enabled(if: AgentCommandLineTests.agent != nil,
                 "needs a built frontier-agent: none beside the test bundle (set FRONTIER_AGENT_BINARY)")
    }

    /// Both executables, for tests that run whole sweeps as processes.
    static var needsSweepBinaries: Self {
        .enabled(if: AgentCommandLineTests.agent != nil && SweepProcessTests.frontier != nil,
                 "needs built frontier and frontier-agent binaries beside the test bundle")
    }

    /// The base MiniLM-L6 model, fetched by `scripts/fetch-base-model.sh` (the test command runs it).
    static var needsBaseModel: Self {
        .enabled(if: FileManager.default.fileExists(atPath: SharedData.baseModel.appendingPathComponent("model.safetensors").path),
                 Comment(rawValue: "needs the base model: \(SharedData.baseModel.path) is absent (run scripts/fetch-base-model.sh)"))
    }
}
