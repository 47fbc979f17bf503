/// A named shape over `FloatBuffer` storage, row-major.
///
/// Parameters are `Tensor`s so that a later backward pass can pair each with a gradient of the
/// same shape without changing the layer types.
public struct Tensor: Sendable {
    public let shape: [Int]
    public let storage: FloatBuffer

    public init(shape: [Int], storage: FloatBuffer) {
        precondition(shape.reduce(1, *) == storage.count, "Tensor shape \(shape) does not match \(storage.count) elements")
        self.shape = shape
        self.storage = storage
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, storage: FloatBuffer(count: shape.reduce(1, *)))
    }

    public var count: Int { storage.count }
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer }
    public var rows: Int { shape.count >= 2 ? shape[0] : 1 }
    public var columns: Int { shape.last ?? 1 }
}
