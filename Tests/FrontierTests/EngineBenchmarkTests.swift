import Testing
@testable import FrontierMeasurement


/// What `frontier-agent bench` says about OpenBLAS's core: a generic fallback on a CPU with
/// wider vector units is named, never left for the reader to spot in a core name.
@Suite struct EngineBenchmarkTests {
    static let debian = "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Prescott MAX_THREADS=64"

    @Test func aGenericCoreOnAnAVX512MachineIsNamed() throws {
        let note = try #require(EngineBenchmark.openblasNote(core: "Prescott", config: Self.debian, isa: "avx512",
                                                             coretypeEnvironment: nil))
        #expect(note.contains("OpenBLAS 0.3.21 does not know this CPU"))
        #expect(note.contains("Prescott") && note.contains("AVX512") && note.contains("OPENBLAS_CORETYPE=SkylakeX"))
    }

    @Test func aChosenCoreIsSaidToBeChosen() throws {
        let note = try #require(EngineBenchmark.openblasNote(core: "Prescott", config: Self.debian, isa: "avx2",
                                                             coretypeEnvironment: "Prescott"))
        #expect(note.hasPrefix("OPENBLAS_CORETYPE=Prescott selected"))
    }

    @Test(arguments: [("Haswell", "avx512"), ("SkylakeX", "avx512"), ("Zen", "avx2"), ("Prescott", "generic")])
    func aFittingCoreGetsNoNote(core: String, isa: String) {
        #expect(EngineBenchmark.openblasNote(core: core, config: "OpenBLAS 0.3.26 \(core)", isa: isa, coretypeEnvironment: nil) == nil)
    }
}
