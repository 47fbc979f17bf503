import Foundation
import Testing
@testable import FrontierFleet
@testable import FrontierMeasurement
@testable import FrontierSupport
@testable import FrontierWire


/// What an agent's runner puts in a sweep trial's result besides the measurement.
@Suite struct MeasuredTrialRunnerTests {
    /// The agent's fingerprint is taken once with its default threads (1); a 2-thread trial's
    /// result must say 2 (the worker sets OpenBLAS to the spec's threads too).
    @Test func theResultCarriesTheThreadsTheTrialRanWith() throws {
        let device = DeviceProbe().fingerprint(threadsUsed: 1, gpus: [], openblasConfig: "", openblasThreads: 1,
                                               engineVersion: FrontierVersion.string, gitCommit: nil,
                                               deviceClassOverride: "test-cpu")
        var spec = TrialSpec(model: "/nonexistent-model", task: "SST-2", data: "/nonexistent-data", threads: 2)
        spec.measurement.idleBaselineS = 0
        var assignment = WireAssignment()
        assignment.trialID = "p0@test-cpu"
        assignment.attempt = 1
        assignment.specJson = String(decoding: try JSONCoding.encoder.encode(spec), as: UTF8.self)
        // A "worker" that exits 1 at once without an outcome: a failed result, fingerprint included.
        let runner = MeasuredTrialRunner(device: device, sharedRoot: URL(fileURLWithPath: "/"), environment: [:],
                                         executable: "/bin/false")
        let result = runner.run(assignment, cancellation: TrialCancellation())
        #expect(result.result.status == .failed)
        #expect(result.result.device.threadsUsed == 2)
        #expect(result.result.device.openblasThreads == 2)
    }
}
