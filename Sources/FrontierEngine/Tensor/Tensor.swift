/// A parameter: a shape and its fp32 values, row-major, held as a value.
///
/// A value rather than a view of shared storage so that a model can cross threads, and a
/// technique can derive a variant of it, without anyone seeing another's edits: `[Float]`
/// copies on write, so passing a tensor around costs a reference count and changing one copies
/// it once. Kernels read the values through `withUnsafeBufferPointer`; a later backward pass
/// pairs each parameter with a gradient of the same shape.
public struct Tensor: Sendable, Equatable {
    public let shape: [Int]
    public let values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count,
                     "Tensor shape \(shape) does not match \(values.count) elements")
        self.shape = shape
        self.values = values
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, values: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    /// Values written in place by `fill`, which gets the elements zeroed: a loader converts
    /// straight into the tensor's storage instead of into a temporary array first.
    public init(shape: [Int], filling fill: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        try values.withUnsafeMutableBufferPointer { try fill($0) }
        self.init(shape: shape, values: values)
    }

    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try values.withUnsafeBufferPointer(body)
    }

    public var count: Int { values.count }
    public var rows: Int { shape.count >= 2 ? shape[0] : 1 }
    public var columns: Int { shape.last ?? 1 }
}
