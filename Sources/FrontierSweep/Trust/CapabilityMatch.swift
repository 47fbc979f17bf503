import FrontierGrid
import FrontierWire

extension TrialRequirements {
    /// What `capabilities` lacks for this trial; empty when the agent can run it.
    public func missing(in capabilities: WireCapabilities) -> [String] {
        var out: [String] = []
        if !capabilities.tasks.contains(where: { $0.lowercased() == task }) { out.append("task \(task)") }
        for t in techniques where !capabilities.techniques.contains(t) { out.append("technique \(t)") }
        for k in kernels where !capabilities.kernels.contains(k) { out.append("kernel \(k)") }
        for f in features where !capabilities.features.contains(f) {
            out.append(f == WireProtocol.featureTraining ? "training (an agent that trains: frontier-agent connect on this release)"
                       : "feature \(f) (fetching trained checkpoints: frontier-agent on this release)")
        }
        if let memoryBytes, capabilities.memoryBytes < memoryBytes {
            out.append("\(memoryBytes >> 20) MiB of memory (has \(capabilities.memoryBytes >> 20))")
        }
        return out
    }

}
