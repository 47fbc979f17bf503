/// Where named weights come from: a safetensors file in production, a dictionary in tests.
public protocol TensorSource {
    /// A name for error messages (the file path).
    var sourceName: String { get }
    var tensorNames: [String] { get }
    func shape(of name: String) -> [Int]?
    /// Converts to fp32 into `destination`, whose count equals the tensor's element count.
    func copyFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws
}

extension SafetensorsFile: TensorSource {
    public var sourceName: String { url.path }
    public func shape(of name: String) -> [Int]? { info(name)?.shape }
}

/// An in-memory `TensorSource`, for tests and for checkpoints built in code.
public struct InMemoryTensors: TensorSource {
    public var sourceName: String
    public var tensors: [String: (shape: [Int], values: [Float])]

    public init(sourceName: String = "<memory>", tensors: [String: (shape: [Int], values: [Float])]) {
        self.sourceName = sourceName
        self.tensors = tensors
    }

    public var tensorNames: [String] { tensors.keys.sorted() }
    public func shape(of name: String) -> [Int]? { tensors[name]?.shape }
    public func copyFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        guard let tensor = tensors[name] else { throw ModelError.missingTensor(file: sourceName, tensor: name) }
        precondition(tensor.values.count == destination.count)
        _ = destination.initialize(from: tensor.values)
    }
}
