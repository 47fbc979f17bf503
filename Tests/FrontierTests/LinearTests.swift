import Testing
@testable import FrontierEngine


/// A `Linear`'s kernel form is derived from its parameters when it is built, so a layer built
/// with new weights runs on them in every form, and changing the form keeps the parameters.
@Suite struct LinearTests {
    static let (n, k, m) = (24, 40, 7)

    static func layer(seed: UInt64, form: LinearForm = .dense) -> Linear {
        var rng = SplitMix64(seed: seed)
        // Half the weights zero, so the sparse form has something to skip.
        let weight = (0..<(n * k)).map { i in i % 2 == 0 ? 0 : rng.uniform(-1, 1) }
        let bias = (0..<n).map { _ in rng.uniform(-1, 1) }
        return Linear(weight: Tensor(shape: [n, k], values: weight), bias: Tensor(shape: [n], values: bias), form: form)
    }

    static func run(_ layer: Linear, _ a: [Float]) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        _ = a.withUnsafeBufferPointer { ap in
            c.withUnsafeMutableBufferPointer { cp in
                layer.apply(ap.baseAddress!, rows: m, lda: k, into: cp.baseAddress!, ldc: n, epilogue: .bias,
                            workspace: Workspace(), gemm: .packed)
            }
        }
        return c
    }

    @Test(arguments: LinearForm.allCases)
    func replacingTheWeightRebuildsTheForm(form: LinearForm) throws {
        var rng = SplitMix64(seed: 99)
        let a = (0..<(Self.m * Self.k)).map { _ in rng.uniform(-1, 1) }
        let old = Self.layer(seed: 1, form: form), new = Self.layer(seed: 2, form: form)
        let replaced = old.replacing(weight: try new.weight, bias: new.bias)
        #expect(replaced.form == form)
        #expect(Self.run(replaced, a) == Self.run(new, a), "the form must be derived from the new weights")
        #expect(Self.run(replaced, a) != Self.run(old, a))
    }

    @Test(arguments: LinearForm.allCases)
    func executingInAnotherFormKeepsTheParameters(form: LinearForm) throws {
        let dense = Self.layer(seed: 3)
        let other = try dense.executing(as: form)
        #expect(try other.form == form && other.weight == dense.weight && other.bias == dense.bias)
        #expect(try other.executing(as: .dense).form == .dense)
        #expect((other.packed != nil) == (form == .dense), "only the dense form holds packed panels")
    }
}
