import FrontierEngine
import FrontierMeasurement
import FrontierTasks
import FrontierTechniques
import FrontierWire

/// What this build of the agent can run, for its Hello: every technique and kernel form the
/// engine has, every task it reads, and the machine's ISA and memory. Derived from the code's
/// own enumerations, so a technique added to the engine is advertised without anyone editing
/// a list — and one removed stops being promised.
public enum AgentCapabilities {
    public static func current(device: DeviceFingerprint) -> WireCapabilities {
        var c = WireCapabilities()
        c.techniques = TechniqueSpec.Name.allCases.map(\.rawValue)
        c.kernels = LinearForm.allCases.map(\.rawValue)
        c.tasks = TaskRegistry.benchmarkTasks.map { $0.lowercased() } + ["squad"]
        c.isaFeatures = device.cpuFlags
        c.memoryBytes = device.memoryTotalBytes ?? 0
        // Training stages and trained checkpoints (this release's agent does both).
        c.trains = true
        c.features = [WireProtocol.featureTraining, WireProtocol.featureArtifacts]
        return c
    }
}
