/// Element types a safetensors header may name.
///
/// Only these are accepted when a file is opened; any other string (U16, F8_E4M3, …) is
/// rejected with `unknownDType` up front, so a model never half-loads before hitting a
/// tensor it cannot interpret. Only `f32`, `f16` and `bf16` convert to `Float`.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case f64 = "F64"
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case i64 = "I64"
    case i32 = "I32"
    case i16 = "I16"
    case i8 = "I8"
    case u8 = "U8"
    case bool = "BOOL"

    /// Bytes per element, as stored in the file (BOOL is one byte per element).
    public var byteSize: Int {
        switch self {
        case .f64, .i64: 8
        case .f32, .i32: 4
        case .f16, .bf16, .i16: 2
        case .i8, .u8, .bool: 1
        }
    }

    /// Whether `SafetensorsFile.floats` / `copyFloats` and the writer handle this dtype.
    public var isFloatConvertible: Bool {
        switch self {
        case .f32, .f16, .bf16: true
        default: false
        }
    }
}
