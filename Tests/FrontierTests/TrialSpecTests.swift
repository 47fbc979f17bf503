import Foundation
import Testing
@testable import FrontierMeasurement
@testable import FrontierSupport


/// Trial specs as users write them: minimal ones take the defaults; typos and bad values are
/// errors that name the file and the key.
@Suite struct TrialSpecTests {
    func decode(_ json: String) throws -> TrialSpec {
        try TrialSpec.decode(Data(json.utf8), source: "spec.json")
    }

    func message(_ json: String) -> String {
        do {
            _ = try decode(json)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func minimalSpecTakesTheDefaults() throws {
        let spec = try decode(#"{"model": "m", "task": "SST-2", "data": "d"}"#)
        #expect(spec.batch == 32 && spec.threads == 1 && spec.gemm == .packed)
        #expect(spec.measurement == MeasurementSettings())
        #expect(spec.measurement.energy.meter == .auto)
        #expect(spec.measurement.energy.sysfsRoot == "/sys")
    }

    @Test func everyKeyRoundTripsThroughTheEncoder() throws {
        var spec = TrialSpec(trialId: "t-1", model: "m", task: "squad", data: "d", limit: 5, batch: 8, threads: 2, maxSeqLen: 256,
                             gemm: .openblas, deviceClass: "lab-a")
        spec.measurement.scenarios = [.singleStream]
        spec.measurement.memoryLimitMb = 512
        spec.measurement.energy = EnergySettings(meter: .estimated, sysfsRoot: "/host/sys", nvmlLibrary: "/opt/nvml.so",
                                                 pollIntervalS: 0.5, estimate: EnergyEstimateParameters(wattsPerCore: 7, idleWatts: 3))
        let json = try JSONCoding.encoder.encode(spec)
        #expect(String(decoding: json, as: UTF8.self).contains("\"single-stream\""))
        #expect(try TrialSpec.decode(json, source: "x") == spec)
    }

    @Test func unknownKeysAreErrorsAtEveryLevel() {
        #expect(message(#"{"model": "m", "task": "SST-2", "data": "d", "bach": 4}"#).hasPrefix("spec.json: unknown key 'bach'"))
        #expect(message(#"{"model": "m", "task": "SST-2", "data": "d", "measurement": {"min_duraton_s": 4}}"#)
            .hasPrefix("spec.json: unknown key 'measurement.min_duraton_s'"))
        #expect(message(#"{"model": "m", "task": "SST-2", "data": "d", "measurement": {"energy": {"meter": "rapl", "root": "/"}}}"#)
            .hasPrefix("spec.json: unknown key 'measurement.energy.root'"))
    }

    @Test func malformedJsonAndWrongTypesNameWhere() {
        let broken = message("{\"model\": \"m\",\n  \"task\": SST-2}")
        #expect(broken.hasPrefix("spec.json: invalid JSON"), "\(broken)")
        #expect(message(#"{"model": "m", "task": "SST-2"}"#) == "spec.json: missing key 'data'")
        #expect(message(#"{"model": "m", "task": "SST-2", "data": "d", "batch": "big"}"#).hasPrefix("spec.json: batch: expected Int"))
        #expect(message(#"{"model": "m", "task": "SST-2", "data": "d", "measurement": {"energy": {"meter": "wattmeter"}}}"#)
            .hasPrefix("spec.json: measurement.energy.meter:"))
        #expect(message("[1, 2]") == "spec.json: the top level must be a JSON object")
    }

    @Test func invalidValuesAreRejected() {
        #expect(message(#"{"model": "m", "task": "SST-3", "data": "d"}"#).contains("unknown task 'SST-3'"))
        #expect(message(#"{"model": "m", "task": "SST-2", "data": "d", "batch": 0}"#) == "spec.json: batch must be ≥ 1; got 0")
        #expect(message(#"{"model": "m", "task": "SST-2", "data": "d", "measurement": {"timeout_s": 0}}"#).contains("timeout_s must be > 0"))
        #expect(message(#"{"model": "m", "task": "SST-2", "data": "d", "measurement": {"scenarios": []}}"#).contains("at least one"))
        #expect(message(#"{"model": "m", "task": "SST-2", "data": "d", "measurement": {"min_duration_s": 5, "max_duration_s": 1}}"#)
            .contains("max_duration_s must be ≥ min_duration_s"))
    }
}
