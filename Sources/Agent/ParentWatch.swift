import CKernels
import Foundation

/// A child started by an agent for a training stage dies with the agent (`FRONTIER_PARENT_PID`
/// in its environment): killed agents must not leave trainers writing a stage folder that the
/// agent, restarted, resumes.
enum ParentWatch {
    static let variable = "FRONTIER_PARENT_PID"

    /// Arms the request when the environment asks for it; exits at once when the parent that
    /// asked is already gone.
    static func honourRequest() {
        guard let text = ProcessInfo.processInfo.environment[variable], let parent = Int32(text) else { return }
        if fk_die_with_parent(parent) == -1 {
            note("Error: the agent that started this process (pid \(parent)) is gone; not training")
            exit(70)
        }
    }
}
