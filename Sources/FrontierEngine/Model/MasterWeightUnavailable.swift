/// An inference-only `Linear` was asked for its fp32 `[out, in]` master weight, which it no
/// longer holds.
///
/// An inference-only layer keeps only what its kernel reads (panels, compressed rows, int8 and
/// scales, 16-bit panels, or the row-major weight OpenBLAS multiplies), so that a trial's
/// memory is that of the configuration it measures. Anything that needs the master weight —
/// masks, pruning, re-deriving another form, saving, training — must run before
/// `EncoderModel.inferenceOnly(gemm:)`; asking afterwards throws this instead of reading a
/// weight that is not there.
public struct MasterWeightUnavailable: Error, CustomStringConvertible, Equatable {
    public let outFeatures: Int
    public let inFeatures: Int
    public let form: LinearForm
    /// What the caller wanted the master weight for (`"read its weight"`, `"execute as int8"`).
    public let purpose: String

    public init(outFeatures: Int, inFeatures: Int, form: LinearForm, purpose: String) {
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.form = form
        self.purpose = purpose
    }

    public var description: String {
        "cannot \(purpose): this \(outFeatures)×\(inFeatures) \(form.rawValue) layer is inference-only and holds only what its kernel reads, not its fp32 [out, in] master weight; apply techniques before inferenceOnly(gemm:)"
    }
}
