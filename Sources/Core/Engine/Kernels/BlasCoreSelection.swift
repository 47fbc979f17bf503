import CKernels
import Foundation

/// Picks OpenBLAS's kernel family for CPUs the installed OpenBLAS does not recognise.
///
/// OpenBLAS's DYNAMIC_ARCH build chooses kernels from the CPU model at library load. Releases
/// older than the CPU (Debian 12 ships 0.3.21, which predates Zen 4 and Zen 5) fall back to the
/// AVX2 "Haswell" or "Zen" kernels even when the CPU has AVX-512, which measured 2–3× slower on
/// our GEMMs on a Zen 5 machine. The choice can only be changed through `OPENBLAS_CORETYPE`
/// before the library loads, so an executable re-executes itself once with it set. A value the
/// user already set is always respected, and the decision is recorded in results.
public enum BlasCoreSelection {
    public static let environmentKey = "OPENBLAS_CORETYPE"
    /// Set on the re-executed process so it never loops and so results can say why.
    public static let markerKey = "FRONTIER_BLAS_CORE_SELECTED"

    /// The core type to request, or nil when OpenBLAS's own choice should stand.
    public static func recommendedCore(current: String, environment: [String: String], hasAVX512: Bool) -> String? {
        guard environment[environmentKey] == nil, environment[markerKey] == nil else { return nil }
        guard hasAVX512, ["Haswell", "Zen"].contains(current) else { return nil }
        return "SkylakeX"
    }

    /// Re-executes the running binary with `OPENBLAS_CORETYPE` set when `recommendedCore` says
    /// so. Returns normally when nothing needs changing or the re-exec is impossible.
    public static func reexecIfNeeded(arguments: [String] = CommandLine.arguments) {
        let environment = ProcessInfo.processInfo.environment
        guard let core = recommendedCore(current: Blas.coreName, environment: environment,
                                         hasAVX512: fk_cpu_has_avx512() == 1) else { return }
        setenv(environmentKey, core, 1)
        setenv(markerKey, "1", 1)
        let cArguments = arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", cArguments)
        // execv only returns on failure; carry on with OpenBLAS's own choice.
        unsetenv(environmentKey)
        for pointer in cArguments { free(pointer) }
    }

    /// How the running process's OpenBLAS kernels were chosen, for fingerprints and reports.
    public static var provenance: String {
        let environment = ProcessInfo.processInfo.environment
        if environment[markerKey] != nil { return "selected by frontier (AVX-512 CPU unknown to this OpenBLAS)" }
        if environment[environmentKey] != nil { return "OPENBLAS_CORETYPE set by the user" }
        return "OpenBLAS's own detection"
    }
}
