import Foundation
@testable import FrontierMeasurement
@testable import FrontierSweep
@testable import FrontierWire

/// Typed results and capabilities as a well-behaved agent sends them, for protocol tests.
enum WireResults {
    static func device(_ deviceClass: String = "cpu-a") -> WireDeviceFingerprint {
        var d = WireDeviceFingerprint()
        d.hostname = "test-host"
        d.cpuVendor = "GenuineIntel"
        d.cpuModel = "Test CPU"
        d.logicalCpus = 2
        d.threadsUsed = 1
        d.kernel = "6.1"
        d.openblasConfig = "OpenBLAS"
        d.openblasThreads = 1
        d.engineVersion = "test"
        d.deviceClass = deviceClass
        d.deviceClassSource = "override"
        return d
    }

    /// A valid OK result for `task` (SST-2 accuracy 0.9 by default).
    static func ok(task: String = "SST-2", deviceClass: String = "cpu-a", metrics: [String: Double]? = nil,
                   latencyMs: Double = 4.2) -> WireTrialResult {
        var r = WireTrialResult()
        r.status = .ok
        r.configuration = WireTrialConfiguration(TrialSpec(model: "/m", task: task, data: "/d"))
        r.task = task
        r.model = "/m"
        r.examples = 872
        r.metrics = metrics ?? (task.lowercased() == "squad" ? ["exact_match": 80, "f1": 88] : ["accuracy": 0.9])
        r.latencyP50Ms = latencyMs
        r.latencyP90Ms = latencyMs * 1.1
        r.latencyP99Ms = latencyMs * 1.3
        r.throughputExamplesPerS = 400
        r.peakRssMb = 200
        r.device = device(deviceClass)
        r.startedAt = "2026-12-06T08:00:00Z"
        r.finishedAt = "2026-12-06T08:00:05Z"
        r.engineVersion = "test"
        return r
    }

    static func failed(_ reason: String = "worker crashed", deviceClass: String = "cpu-a") -> WireTrialResult {
        var r = WireTrialResult()
        r.status = .failed
        r.failureReason = reason
        r.device = device(deviceClass)
        return r
    }

    /// Everything the real engine can run.
    static var allCapabilities: WireCapabilities {
        var c = WireCapabilities()
        c.techniques = ["magnitude-pruning", "head-pruning", "ffn-pruning", "layer-dropping", "early-exit", "token-pruning",
                        "quantization", "max-seq-len"]
        c.kernels = ["dense", "sparse", "int8", "fp16", "bf16"]
        c.tasks = ["sst-2", "mrpc", "cola", "sts-b", "qqp", "mnli", "qnli", "rte", "wnli", "squad"]
        c.memoryBytes = 16 << 30
        return c
    }
}
