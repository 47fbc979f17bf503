import Foundation

/// The single error type of the safetensors reader and writer.
///
/// A struct with a `kind` rather than an enum with payloads: callers and tests match on
/// the category (`error.kind == .notFound`), while humans get one finished sentence that
/// already names the file and the tensor. Model files arrive from outside the program, so
/// the message is what an operator sees when a download is corrupt; it has to say which
/// file and which tensor without a debugger.
public struct SafetensorsError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// The file could not be opened, inspected, mapped, written or renamed.
        case io
        /// Fewer than the 8 bytes that hold the header length.
        case fileTooShort
        /// Header length of 0, above the sanity limit, or reaching past the end of the file.
        case invalidHeaderLength
        /// Header is not UTF-8, not JSON, not an object, or has a malformed `__metadata__`.
        case invalidHeader
        /// A tensor entry lacks `dtype`/`shape`/`data_offsets` or holds the wrong JSON types.
        case invalidTensorEntry
        /// The `dtype` string is not one this reader knows.
        case unknownDType
        /// `data_offsets` has begin > end.
        case invalidOffsets
        /// `data_offsets` ends past the data section (typically a truncated file).
        case outOfBounds
        /// The byte span disagrees with shape × dtype size, or that product overflows.
        case sizeMismatch
        /// Two tensors claim the same bytes.
        case overlap
        /// No tensor of that name.
        case notFound
        /// The operation cannot handle this dtype (e.g. I64 requested as floats).
        case unsupportedDType
        /// A caller-supplied buffer or value array has the wrong element count.
        case countMismatch
        /// The writer was given a tensor it cannot store (duplicate or reserved name, bad shape).
        case invalidTensor
    }

    public let kind: Kind
    /// The file the error concerns; nil for in-memory encoding.
    public let path: String?
    /// The tensor the error concerns, where there is one.
    public let tensor: String?
    /// The complete human-readable message, already prefixed with path and tensor.
    public let message: String

    package init(_ kind: Kind, path: String?, tensor: String? = nil, _ detail: String) {
        self.kind = kind
        self.path = path
        self.tensor = tensor
        var text = path.map { "\($0): " } ?? "safetensors: "
        if let tensor { text += "tensor '\(tensor)' " }
        text += detail
        self.message = text
    }

    public var description: String { message }
    /// Foundation on Linux otherwise reports "The operation could not be completed".
    public var errorDescription: String? { message }
}
