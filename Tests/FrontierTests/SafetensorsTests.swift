import Foundation
import Testing
@testable import FrontierEngine

// MARK: - Helpers

/// A fresh directory per use, removed afterwards, so concurrently running tests never share files.
private func withSafetensorsTempDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("safetensors-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// Length prefix (little-endian u64) + header text + data, built by hand so that every
/// malformed variant can be expressed.
private func safetensorsBytes(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
    safetensorsBytes(headerBytes: Array(header.utf8), data: data, declaredLength: declaredLength)
}

private func safetensorsBytes(headerBytes: [UInt8], data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
    var length = declaredLength ?? UInt64(headerBytes.count)
    var bytes: [UInt8] = []
    for _ in 0..<8 {
        bytes.append(UInt8(truncatingIfNeeded: length))
        length >>= 8
    }
    return bytes + headerBytes + data
}

/// Opens `bytes` as a file called `fileName` and returns the error it must raise, after
/// checking the error's kind and that the message names the file (and the tensor).
@discardableResult
private func expectOpenFailure(
    _ bytes: [UInt8], _ kind: SafetensorsError.Kind, tensor: String? = nil, mentions: [String] = [],
    fileName: String = "broken-\(UUID().uuidString.prefix(8)).safetensors",
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> SafetensorsError? {
    try withSafetensorsTempDirectory { directory in
        let url = directory.appendingPathComponent(fileName)
        try Data(bytes).write(to: url)
        let error = #expect(throws: SafetensorsError.self, sourceLocation: sourceLocation) {
            _ = try SafetensorsFile(url: url)
        }
        guard let error else { return nil }
        #expect(error.kind == kind, "\(error.message)", sourceLocation: sourceLocation)
        #expect(error.message.contains(fileName), "message lacks file name: \(error.message)", sourceLocation: sourceLocation)
        #expect(error.path == url.path, sourceLocation: sourceLocation)
        if let tensor {
            #expect(error.tensor == tensor, "\(error.message)", sourceLocation: sourceLocation)
            #expect(error.message.contains("'\(tensor)'"), "message lacks tensor name: \(error.message)", sourceLocation: sourceLocation)
        }
        for text in mentions {
            #expect(error.message.contains(text), "message lacks '\(text)': \(error.message)", sourceLocation: sourceLocation)
        }
        return error
    }
}

/// A header with a single tensor entry `t` whose JSON body is `entry`.
private func singleTensorFile(_ entry: String, data: [UInt8] = [UInt8](repeating: 0, count: 16)) -> [UInt8] {
    safetensorsBytes(header: "{\"t\":\(entry)}", data: data)
}

private func sameBits(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
}

/// The value a float takes after being stored as `dtype`, according to the scalar converters.
private func storedValue(_ value: Float, as dtype: SafetensorsDType) -> Float {
    switch dtype {
    case .f16: HalfFloat.float(fromHalfBits: HalfFloat.halfBits(from: value))
    case .bf16: HalfFloat.float(fromBFloatBits: HalfFloat.bfloatBits(from: value))
    default: value
    }
}

private let safetensorsSpecialValues: [Float] = [
    0, -0.0, 1, -1, 0.5, 3.140625, 65504, -65504, 1e-3, 6.1035156e-05 /* 2^-14 */, 5.9604645e-08 /* 2^-24 */,
    6.097555e-05 /* largest fp16 subnormal */, 1.1920929e-07 /* 2 × 2^-24 */, .infinity, -.infinity, .nan,
    1e30, -1e-30, .greatestFiniteMagnitude, .leastNonzeroMagnitude,
]

// MARK: - fp16 / bf16 conversion

@Suite struct SafetensorsHalfFloatTests {
    @Test func halfToFloatIsExactForEveryBitPattern() {
        var mismatches = 0
        for bits in 0...UInt16.max {
            let got = HalfFloat.float(fromHalfBits: bits)
            let exponent = (bits >> 10) & 0x1f
            let expected: UInt32
            if exponent == 0x1f {
                // Inf/NaN: sign, all-ones exponent, payload carried over bit for bit.
                expected = UInt32(bits & 0x8000) << 16 | 0x7f80_0000 | UInt32(bits & 0x03ff) << 13
            } else {
                // Independent reference: the IEEE value computed in Double.
                let magnitude = exponent == 0
                    ? Double(bits & 0x03ff) * 0x1p-24
                    : (1 + Double(bits & 0x03ff) / 1024) * Double(sign: .plus, exponent: Int(exponent) - 15, significand: 1)
                expected = Float(bits & 0x8000 != 0 ? -magnitude : magnitude).bitPattern
            }
            if got.bitPattern != expected { mismatches += 1 }
            #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
            if exponent != 0x1f, got.bitPattern != Float(Float16(bitPattern: bits)).bitPattern { mismatches += 1 }
            #endif
        }
        #expect(mismatches == 0)
        #expect(HalfFloat.float(fromHalfBits: 0x0001) == 0x1p-24)
        #expect(HalfFloat.float(fromHalfBits: 0x7c00) == .infinity)
        #expect(HalfFloat.float(fromHalfBits: 0xfc00) == -.infinity)
        #expect(HalfFloat.float(fromHalfBits: 0x7e00).isNaN)
        #expect(HalfFloat.float(fromHalfBits: 0x8000).bitPattern == (-0.0 as Float).bitPattern)
    }

    static let halfRoundingCases: [(Float, UInt16)] = [
        (65504, 0x7bff),
        (65519.996, 0x7bff),            // just below the rounding boundary to infinity
        (65520, 0x7c00),                // halfway to 2^16 rounds (to even) to infinity
        (1e9, 0x7c00),
        (-Float.infinity, 0xfc00),
        (0x1p-24, 0x0001),              // smallest subnormal
        (0x1p-25, 0x0000),              // tie between 0 and 2^-24 → even (0)
        (0x1.8p-24, 0x0002),            // tie between 1 and 2 ulps → even (2)
        (0x1.0002p-25, 0x0001),         // just above the tie rounds up
        (0x1.ff8p-15, 0x03ff),          // largest subnormal
        (0x1p-14, 0x0400),              // smallest normal
        (0x1.002p0, 0x3c00),            // 1 + 2^-11: tie → even mantissa (1.0)
        (0x1.006p0, 0x3c02),            // 1 + 3·2^-11: tie → even mantissa (1 + 2^-9)
        (-0.0, 0x8000),
        (Float.leastNonzeroMagnitude, 0x0000),
    ]

    @Test(arguments: halfRoundingCases)
    func floatToHalfRoundsToNearestEven(value: Float, expected: UInt16) {
        #expect(HalfFloat.halfBits(from: value) == expected, "\(value)")
    }

    @Test func floatToHalfMatchesFloat16OnSampledBitPatterns() {
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        var mismatches = 0
        var bits: UInt32 = 0
        // ~1M patterns spread over the whole range; the full 2^32 sweep was run offline.
        while true {
            let value = Float(bitPattern: bits)
            let got = HalfFloat.halfBits(from: value)
            if value.isNaN {
                if got & 0x7e00 != 0x7e00 || (got & 0x8000 != 0) != (value.sign == .minus) { mismatches += 1 }
            } else if got != Float16(value).bitPattern {
                mismatches += 1
            }
            let (next, overflow) = bits.addingReportingOverflow(4093)
            if overflow { break }
            bits = next
        }
        // Exact ties and their neighbours, which a sparse sweep almost never hits: every
        // 13-bit-dropping position in the normal and subnormal half range.
        for high in stride(from: UInt32(0x3300_0000) >> 13, to: UInt32(0x4780_0000) >> 13, by: 3) {
            for low: UInt32 in [0x0fff, 0x1000, 0x1001] {
                let value = Float(bitPattern: high << 13 | low)
                if HalfFloat.halfBits(from: value) != Float16(value).bitPattern { mismatches += 1 }
                if HalfFloat.halfBits(from: -value) != Float16(-value).bitPattern { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
        #endif
    }

    static let bfloatRoundingCases: [(Float, UInt16)] = [
        (1, 0x3f80),
        (0x1.01p0, 0x3f80),                      // 1 + 2^-8: tie → even (1.0)
        (0x1.03p0, 0x3f82),                      // 1 + 3·2^-8: tie → even (1 + 2^-6)
        (0x1.0101p0, 0x3f81),                    // just above the tie rounds up
        (Float.greatestFiniteMagnitude, 0x7f80), // rounds to infinity, as IEEE requires
        (-Float.infinity, 0xff80),
        (-0.0, 0x8000),
    ]

    @Test(arguments: bfloatRoundingCases)
    func floatToBFloatRoundsToNearestEven(value: Float, expected: UInt16) {
        #expect(HalfFloat.bfloatBits(from: value) == expected, "\(value)")
    }

    @Test func nanStaysNaNWhenNarrowed() {
        // A payload only in the low bits would become infinity under plain truncation.
        let lowPayloadNaN = Float(bitPattern: 0x7f80_0001)
        #expect(HalfFloat.float(fromHalfBits: HalfFloat.halfBits(from: lowPayloadNaN)).isNaN)
        #expect(HalfFloat.float(fromBFloatBits: HalfFloat.bfloatBits(from: lowPayloadNaN)).isNaN)
        #expect(HalfFloat.float(fromBFloatBits: HalfFloat.bfloatBits(from: -.nan)).sign == .minus)
        // Quiet fp16 NaNs survive a round trip through fp32 bit for bit.
        #expect(HalfFloat.halfBits(from: HalfFloat.float(fromHalfBits: 0x7e01)) == 0x7e01)
        #expect(HalfFloat.halfBits(from: HalfFloat.float(fromHalfBits: 0xfe00)) == 0xfe00)
    }

    @Test func bulkConversionsMatchScalarOnesAtAnyAlignment() {
        let count = 1037  // not a multiple of any vector width
        let halves = (0..<count).map { UInt16(truncatingIfNeeded: $0 &* 40503) }
        for misalignment in 0..<3 {
            var bytes = [UInt8](repeating: 0xAA, count: misalignment)
            for h in halves { bytes += [UInt8(h & 0xff), UInt8(h >> 8)] }
            var widened = [Float](repeating: 0, count: count)
            var widenedBF = [Float](repeating: 0, count: count)
            bytes.withUnsafeBytes { raw in
                let source = UnsafeRawBufferPointer(rebasing: raw[misalignment...])
                widened.withUnsafeMutableBufferPointer { HalfFloat.convertHalfToFloat(source, into: $0) }
                widenedBF.withUnsafeMutableBufferPointer { HalfFloat.convertBFloatToFloat(source, into: $0) }
            }
            #expect(sameBits(widened, halves.map(HalfFloat.float(fromHalfBits:))))
            #expect(sameBits(widenedBF, halves.map(HalfFloat.float(fromBFloatBits:))))
        }
        let floats = (0..<count).map { Float($0) * 0.37 - 190 } + safetensorsSpecialValues
        var narrowed = [UInt8](repeating: 0, count: floats.count * 2)
        floats.withUnsafeBufferPointer { source in
            narrowed.withUnsafeMutableBytes { HalfFloat.convertFloatToHalf(source, into: $0) }
        }
        let expected: [UInt16] = floats.map(HalfFloat.halfBits(from:))
        var decoded: [UInt16] = []
        for index in 0..<floats.count {
            decoded.append(UInt16(narrowed[2 * index]) | UInt16(narrowed[2 * index + 1]) << 8)
        }
        #expect(decoded == expected)
    }
}

// MARK: - Round trips through the writer and reader

@Suite struct SafetensorsRoundTripTests {
    @Test(arguments: [SafetensorsDType.f32, .f16, .bf16])
    func roundTrip(dtype: SafetensorsDType) throws {
        let matrix = (0..<6).map { Float($0) * 0.3 - 0.7 }
        let tensors = [
            SafetensorsWriter.Tensor(name: "layer.weight", dtype: dtype, shape: [2, 3], values: matrix),
            SafetensorsWriter.Tensor(name: "scalar", dtype: dtype, shape: [], values: [42.5]),
            SafetensorsWriter.Tensor(name: "empty", dtype: dtype, shape: [0, 4], values: []),
            SafetensorsWriter.Tensor(name: "also.empty", dtype: dtype, shape: [3, 0], values: []),
            SafetensorsWriter.Tensor(name: "specials", dtype: dtype, shape: [safetensorsSpecialValues.count], values: safetensorsSpecialValues),
        ]
        try withSafetensorsTempDirectory { directory in
            let url = directory.appendingPathComponent("round-trip.safetensors")
            try SafetensorsWriter.write(tensors, to: url)
            let file = try SafetensorsFile(url: url)
            #expect(file.tensorNames == ["also.empty", "empty", "layer.weight", "scalar", "specials"])
            #expect(file.metadata.isEmpty)
            for tensor in tensors {
                let info = try #require(file.info(tensor.name))
                #expect(info.dtype == dtype)
                #expect(info.shape == tensor.shape)
                #expect(info.elementCount == tensor.values.count)
                #expect(info.byteCount == tensor.values.count * dtype.byteSize)
                let expected = tensor.values.map { storedValue($0, as: dtype) }
                #expect(sameBits(try file.floats(tensor.name), expected), "\(tensor.name)")
                var copied = [Float](repeating: -1, count: tensor.values.count)
                try copied.withUnsafeMutableBufferPointer { try file.copyFloats(tensor.name, into: $0) }
                #expect(sameBits(copied, expected))
                #expect(try file.rawBytes(tensor.name).count == info.byteCount)
            }
            #expect(try file.floats("scalar") == [42.5])
            #expect(try file.floats("empty").isEmpty)
        }
    }

    @Test func fp16SpecialValuesSurviveExactly() throws {
        let values: [Float] = [0x1p-24, -0x1p-24, 0x1.ff8p-15, 0x1p-14, 65504, -65504, .infinity, -.infinity, -0.0, 0.099975586]
        let bytes = try SafetensorsWriter.encode([.init(name: "x", dtype: .f16, shape: [2, 5], values: values)])
        try withSafetensorsTempDirectory { directory in
            let url = directory.appendingPathComponent("specials.safetensors")
            try Data(bytes).write(to: url)
            let file = try SafetensorsFile(url: url)
            #expect(sameBits(try file.floats("x"), values))
        }
        let nan = try SafetensorsWriter.encode([.init(name: "n", dtype: .f16, shape: [1], values: [.nan])])
        try withSafetensorsTempDirectory { directory in
            let url = directory.appendingPathComponent("nan.safetensors")
            try Data(nan).write(to: url)
            #expect(try SafetensorsFile(url: url).floats("n")[0].isNaN)
        }
    }

    @Test func metadataRoundTripsWithEscaping() throws {
        let metadata = ["format": "pt", "quote\"and\\slash": "line\nbreak\ttab \u{1} é 🚀", "empty": ""]
        try withSafetensorsTempDirectory { directory in
            let url = directory.appendingPathComponent("meta.safetensors")
            try SafetensorsWriter.write([.init(name: "näme \"q\"", dtype: .f32, shape: [1], values: [1])], metadata: metadata, to: url)
            let file = try SafetensorsFile(url: url)
            #expect(file.metadata == metadata)
            #expect(file.tensorNames == ["näme \"q\""])
            #expect(file.info("__metadata__") == nil)
        }
    }

    @Test func writerOutputIsAlignedSortedContiguousAndDeterministic() throws {
        let tensors: [SafetensorsWriter.Tensor] = [
            .init(name: "z.half", dtype: .f16, shape: [3], values: [1, 2, 3]),
            .init(name: "a.float", dtype: .f32, shape: [2], values: [1, 2]),
            .init(name: "m.bf", dtype: .bf16, shape: [1], values: [1]),
            .init(name: "b.float", dtype: .f32, shape: [1], values: [3]),
        ]
        let bytes = try SafetensorsWriter.encode(tensors, metadata: ["k": "v"])
        #expect(bytes == (try SafetensorsWriter.encode(tensors, metadata: ["k": "v"])))
        let headerLength = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
        #expect((8 + headerLength) % 8 == 0)
        let header = try #require(String(bytes: bytes[8..<(8 + headerLength)], encoding: .utf8))
        #expect(header.hasPrefix("{\"__metadata__\":{\"k\":\"v\"},\"a.float\""))
        let positions = ["a.float", "b.float", "m.bf", "z.half"].map { header.range(of: "\"\($0)\"")?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil } && positions == positions.sorted { $0! < $1! })
        #expect(bytes.count == 8 + headerLength + 4 * 3 + 2 * 4)

        try withSafetensorsTempDirectory { directory in
            let url = directory.appendingPathComponent("layout.safetensors")
            try SafetensorsWriter.write(tensors, metadata: ["k": "v"], to: url)
            #expect(try Array(Data(contentsOf: url)) == bytes)
            // No temporary file is left behind, and a second write replaces the file.
            try SafetensorsWriter.write([.init(name: "only", dtype: .f32, shape: [], values: [7])], to: url)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["layout.safetensors"])
            let file = try SafetensorsFile(url: url)
            #expect(file.tensorNames == ["only"])
        }

        try withSafetensorsTempDirectory { directory in
            let url = directory.appendingPathComponent("offsets.safetensors")
            try Data(bytes).write(to: url)
            let file = try SafetensorsFile(url: url)
            // Largest element size first, caller order within a size: no holes, natural alignment.
            #expect(file.info("a.float")?.dataOffsets == 0..<8)
            #expect(file.info("b.float")?.dataOffsets == 8..<12)
            #expect(file.info("z.half")?.dataOffsets == 12..<18)
            #expect(file.info("m.bf")?.dataOffsets == 18..<20)
        }
    }

    @Test func rawBytesAndNonFloatTensors() throws {
        // I64 and U8 tensors are readable as bytes but not as floats.
        let data: [UInt8] = [1, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 9, 8]
        let bytes = safetensorsBytes(
            header: #"{"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"mask":{"dtype":"U8","shape":[2],"data_offsets":[16,18]}}   "#,
            data: data)
        try withSafetensorsTempDirectory { directory in
            let url = directory.appendingPathComponent("ints.safetensors")
            try Data(bytes).write(to: url)
            let file = try SafetensorsFile(url: url)
            #expect(Array(try file.rawBytes("ids")) == Array(data[0..<16]))
            #expect(Array(try file.rawBytes("mask")) == [9, 8])
            #expect(file.info("ids") == SafetensorsTensorInfo(name: "ids", dtype: .i64, shape: [2], dataOffsets: 0..<16, elementCount: 2))

            let error = #expect(throws: SafetensorsError.self) { try file.floats("ids") }
            #expect(error?.kind == .unsupportedDType)
            #expect(error?.message.contains("ints.safetensors") == true)
            #expect(error?.message.contains("'ids'") == true)
            #expect(error?.message.contains("I64") == true)
        }
    }

    @Test func lookupAndDestinationErrorsNameFileAndTensor() throws {
        try withSafetensorsTempDirectory { directory in
            let url = directory.appendingPathComponent("lookup.safetensors")
            try SafetensorsWriter.write([.init(name: "w", dtype: .f16, shape: [2, 2], values: [1, 2, 3, 4])], to: url)
            let file = try SafetensorsFile(url: url)
            #expect(file.info("missing") == nil)
            let operations: [() throws -> Void] = [{ _ = try file.floats("missing") }, { _ = try file.rawBytes("missing") }]
            for operation in operations {
                let error = #expect(throws: SafetensorsError.self) { try operation() }
                #expect(error?.kind == .notFound)
                #expect(error?.message.contains("lookup.safetensors: tensor 'missing'") == true, "\(error?.message ?? "")")
            }
            var tooSmall = [Float](repeating: 0, count: 3)
            let error = #expect(throws: SafetensorsError.self) {
                try tooSmall.withUnsafeMutableBufferPointer { try file.copyFloats("w", into: $0) }
            }
            #expect(error?.kind == .countMismatch)
            #expect(error?.message.contains("lookup.safetensors: tensor 'w' has 4 elements") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("holds 3 floats") == true)
        }
    }

    @Test func lenientButValidHeadersAreAccepted() throws {
        // Whitespace around the JSON, a zero-sized tensor at the very end, a hole between
        // tensors, escapes in names, unknown extra keys, and unaligned F32 data.
        let header = "\n {\"a\\u00e9\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[1,5],\"extra\":null},"
            + "\"z\":{\"dtype\":\"F16\",\"shape\":[0],\"data_offsets\":[7,7]}}   "
        var data: [UInt8] = [0xEE]
        data += withUnsafeBytes(of: Float(2.5).bitPattern.littleEndian, Array.init)
        data += [0xEE, 0xEE]
        try withSafetensorsTempDirectory { directory in
            let url = directory.appendingPathComponent("lenient.safetensors")
            try Data(safetensorsBytes(header: header, data: data)).write(to: url)
            let file = try SafetensorsFile(url: url)
            #expect(file.tensorNames == ["aé", "z"])
            #expect(try file.floats("aé") == [2.5])
            #expect(try file.floats("z") == [])
        }
    }

    @Test func writerRejectsInvalidTensors() throws {
        let cases: [([SafetensorsWriter.Tensor], SafetensorsError.Kind, String)] = [
            ([.init(name: "d", dtype: .f32, shape: [1], values: [1]), .init(name: "d", dtype: .f16, shape: [1], values: [1])], .invalidTensor, "d"),
            ([.init(name: "__metadata__", dtype: .f32, shape: [1], values: [1])], .invalidTensor, "__metadata__"),
            ([.init(name: "ints", dtype: .i64, shape: [1], values: [1])], .unsupportedDType, "ints"),
            ([.init(name: "short", dtype: .f32, shape: [2, 3], values: [1, 2, 3, 4, 5])], .countMismatch, "short"),
            ([.init(name: "neg", dtype: .f32, shape: [-1], values: [])], .invalidTensor, "neg"),
            ([.init(name: "huge", dtype: .f32, shape: [1 << 40, 1 << 40], values: [])], .invalidTensor, "huge"),
        ]
        for (tensors, kind, name) in cases {
            let error = #expect(throws: SafetensorsError.self) { try SafetensorsWriter.encode(tensors) }
            #expect(error?.kind == kind, "\(error?.message ?? "")")
            #expect(error?.tensor == name)
            #expect(error?.message.contains("'\(name)'") == true)
        }
        try withSafetensorsTempDirectory { directory in
            let url = directory.appendingPathComponent("never-written.safetensors")
            let error = #expect(throws: SafetensorsError.self) {
                try SafetensorsWriter.write([.init(name: "x", dtype: .f32, shape: [2], values: [1])], to: url)
            }
            #expect(error?.message.contains("never-written.safetensors") == true)
            #expect(!FileManager.default.fileExists(atPath: url.path))
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            #expect(leftovers.isEmpty)
            // Unwritable destination: the directory does not exist.
            let missing = directory.appendingPathComponent("no-such-dir/out.safetensors")
            let ioError = #expect(throws: SafetensorsError.self) {
                try SafetensorsWriter.write([.init(name: "x", dtype: .f32, shape: [1], values: [1])], to: missing)
            }
            #expect(ioError?.kind == .io)
            #expect(ioError?.message.contains("out.safetensors") == true)
        }
    }
}

// MARK: - Malformed files

@Suite struct SafetensorsMalformedFileTests {
    /// A valid two-tensor file to cut short at various points.
    private static func validFile() throws -> (bytes: [UInt8], dataStart: Int) {
        let bytes = try SafetensorsWriter.encode([
            .init(name: "first", dtype: .f32, shape: [4], values: [1, 2, 3, 4]),
            .init(name: "second", dtype: .f32, shape: [2], values: [5, 6]),
        ])
        let headerLength = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
        return (bytes, 8 + headerLength)
    }

    @Test(arguments: [0, 1, 7])
    func truncatedInsideTheLengthField(length: Int) throws {
        let (bytes, _) = try Self.validFile()
        try expectOpenFailure(Array(bytes.prefix(length)), .fileTooShort, mentions: ["\(length) bytes"])
    }

    @Test(arguments: [8, 9, 20, -1])
    func truncatedInsideTheHeader(cut: Int) throws {
        let (bytes, dataStart) = try Self.validFile()
        let length = cut >= 0 ? cut : dataStart - 1
        try expectOpenFailure(Array(bytes.prefix(length)), .invalidHeaderLength, mentions: ["truncated"])
    }

    @Test(arguments: [1, 17, 23])
    func truncatedInsideTheData(keptDataBytes: Int) throws {
        let (bytes, dataStart) = try Self.validFile()
        // "first" spans data bytes 0..<16 and "second" 16..<24.
        let victim = keptDataBytes < 16 ? "first" : "second"
        try expectOpenFailure(Array(bytes.prefix(dataStart + keptDataBytes)), .outOfBounds, tensor: victim, mentions: ["truncated"])
    }

    @Test func headerLengthPastTheEnd() throws {
        try expectOpenFailure(safetensorsBytes(header: "{}", declaredLength: 1000), .invalidHeaderLength, mentions: ["1000"])
    }

    @Test(arguments: [UInt64(100_000_001), 1 << 40, UInt64(Int.max), UInt64.max])
    func absurdHeaderLength(declared: UInt64) throws {
        try expectOpenFailure(safetensorsBytes(header: "{}", declaredLength: declared), .invalidHeaderLength, mentions: ["\(declared)"])
    }

    @Test func zeroHeaderLength() throws {
        try expectOpenFailure(safetensorsBytes(header: "", data: [1, 2, 3, 4]), .invalidHeaderLength)
    }

    @Test func headerIsNotUTF8() throws {
        var header = Array(#"{"t\#u{E9}":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#.utf8)
        header[3] = 0xFF  // inside the name
        try expectOpenFailure(safetensorsBytes(headerBytes: header, data: [0, 0, 0, 0]), .invalidHeader, mentions: ["UTF-8"])
        try expectOpenFailure(safetensorsBytes(headerBytes: [0x7B, 0xC3, 0x7D]), .invalidHeader, mentions: ["UTF-8"])  // truncated sequence
        try expectOpenFailure(safetensorsBytes(headerBytes: [0x7B, 0xED, 0xA0, 0x80, 0x7D]), .invalidHeader, mentions: ["UTF-8"])  // surrogate
    }

    @Test(arguments: [
        "not json", "{", "{\"a\":", "{\"a\" 1}", "{\"a\":1,}", "{} x", "{}\u{0}", "[01]", "{'a':1}",
        "{\"a\":tru}", "{\"a\":\"\\x\"}", "{\"a\":\"unterminated}", "{\"a\":\"\\ud800\"}", "{\"a\":-}", "{\"a\":1.}",
        String(repeating: "[", count: 100_000),
    ])
    func headerIsNotJSON(header: String) throws {
        try expectOpenFailure(safetensorsBytes(header: header), .invalidHeader, mentions: ["JSON"])
    }

    @Test func duplicateKeysAreRejected() throws {
        let entry = #"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#
        try expectOpenFailure(safetensorsBytes(header: "{\"w\":\(entry),\"w\":\(entry)}", data: [0, 0, 0, 0]), .invalidHeader, mentions: ["duplicate key 'w'"])
    }

    @Test(arguments: ["[]", "[{\"t\":1}]", "\"text\"", "42", "null", "true"])
    func headerIsNotAnObject(header: String) throws {
        try expectOpenFailure(safetensorsBytes(header: header), .invalidHeader, mentions: ["object"])
    }

    @Test(arguments: [
        #"{"__metadata__":[]}"#, #"{"__metadata__":{"k":1}}"#, #"{"__metadata__":{"k":null}}"#, #"{"__metadata__":"x"}"#,
    ])
    func malformedMetadata(header: String) throws {
        try expectOpenFailure(safetensorsBytes(header: header), .invalidHeader, mentions: ["__metadata__"])
    }

    @Test(arguments: ["dtype", "shape", "data_offsets"])
    func missingKey(key: String) throws {
        var fields = [#""dtype":"F32""#, #""shape":[4]"#, #""data_offsets":[0,16]"#]
        fields.removeAll { $0.hasPrefix("\"\(key)\"") }
        try expectOpenFailure(singleTensorFile("{\(fields.joined(separator: ","))}"), .invalidTensorEntry, tensor: "t", mentions: ["missing '\(key)'"])
    }

    @Test(arguments: [
        #""entry""#, "[1]", "null",
        #"{"dtype":5,"shape":[4],"data_offsets":[0,16]}"#,
        #"{"dtype":["F32"],"shape":[4],"data_offsets":[0,16]}"#,
        #"{"dtype":"F32","shape":"4","data_offsets":[0,16]}"#,
        #"{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}"#,
        #"{"dtype":"F32","shape":[1e0,4],"data_offsets":[0,16]}"#,
        #"{"dtype":"F32","shape":[true],"data_offsets":[0,16]}"#,
        #"{"dtype":"F32","shape":[[4]],"data_offsets":[0,16]}"#,
        #"{"dtype":"F32","shape":[4],"data_offsets":{"begin":0}}"#,
        #"{"dtype":"F32","shape":[4],"data_offsets":["0","16"]}"#,
        #"{"dtype":"F32","shape":[4],"data_offsets":[0]}"#,
        #"{"dtype":"F32","shape":[4],"data_offsets":[0,8,16]}"#,
        #"{"dtype":"F32","shape":[4],"data_offsets":[0,16.5]}"#,
        #"{"dtype":"F32","shape":[4],"data_offsets":[0,99999999999999999999]}"#,
    ])
    func wrongJSONTypes(entry: String) throws {
        try expectOpenFailure(singleTensorFile(entry), .invalidTensorEntry, tensor: "t")
    }

    @Test(arguments: [
        #"{"dtype":"F32","shape":[4],"data_offsets":[-4,12]}"#,
        #"{"dtype":"F32","shape":[4],"data_offsets":[0,-16]}"#,
        #"{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}"#,
        #"{"dtype":"F32","shape":[4],"data_offsets":[-9223372036854775808,16]}"#,
    ])
    func negativeNumbers(entry: String) throws {
        try expectOpenFailure(singleTensorFile(entry), .invalidTensorEntry, tensor: "t", mentions: ["non-negative"])
    }

    @Test func beginAfterEnd() throws {
        try expectOpenFailure(singleTensorFile(#"{"dtype":"F32","shape":[1],"data_offsets":[12,8]}"#), .invalidOffsets, tensor: "t", mentions: ["[12, 8]"])
    }

    @Test func endPastTheData() throws {
        try expectOpenFailure(singleTensorFile(#"{"dtype":"F32","shape":[2],"data_offsets":[12,20]}"#), .outOfBounds, tensor: "t", mentions: ["[12, 20]", "16 bytes"])
        // Far past the end, as a hostile header would.
        try expectOpenFailure(singleTensorFile(#"{"dtype":"F32","shape":[2],"data_offsets":[9223372036854775799,9223372036854775807]}"#), .outOfBounds, tensor: "t")
    }

    @Test func sizeMismatchNamesShapeAndSpan() throws {
        let name = "bert.encoder.layer.3.output.dense.weight"
        let bytes = safetensorsBytes(
            header: "{\"\(name)\":{\"dtype\":\"F32\",\"shape\":[768,3072],\"data_offsets\":[0,1000]}}",
            data: [UInt8](repeating: 0, count: 1000))
        let error = try expectOpenFailure(bytes, .sizeMismatch, tensor: name, fileName: "model.safetensors")
        #expect(error?.message.hasSuffix(
            "model.safetensors: tensor 'bert.encoder.layer.3.output.dense.weight' needs 9437184 bytes (shape [768, 3072] × F32) but data_offsets span 1000 bytes") == true,
            "\(error?.message ?? "")")
        // Scalars need one element, zero-sized shapes none.
        try expectOpenFailure(singleTensorFile(#"{"dtype":"F16","shape":[],"data_offsets":[0,4]}"#), .sizeMismatch, tensor: "t", mentions: ["needs 2 bytes"])
        try expectOpenFailure(singleTensorFile(#"{"dtype":"F16","shape":[5,0],"data_offsets":[0,2]}"#), .sizeMismatch, tensor: "t", mentions: ["needs 0 bytes"])
    }

    @Test(arguments: [
        "[4294967296,4294967296,4]",          // element count overflows
        "[4611686018427387904]",              // element count fits, × 4 bytes overflows
    ])
    func sizeOverflowIsAnErrorNotATrap(shape: String) throws {
        try expectOpenFailure(singleTensorFile("{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[0,16]}"), .sizeMismatch, tensor: "t", mentions: ["overflows"])
    }

    @Test func overlappingTensors() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        try expectOpenFailure(safetensorsBytes(header: header, data: [UInt8](repeating: 0, count: 12)), .overlap, tensor: "b", mentions: ["'a'"])
        // Identical ranges overlap too; zero-sized tensors inside another do not.
        let same = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#
        try expectOpenFailure(safetensorsBytes(header: same, data: [0, 0, 0, 0]), .overlap, tensor: "b")
        let zero = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}"#
        try withSafetensorsTempDirectory { directory in
            let url = directory.appendingPathComponent("zero.safetensors")
            try Data(safetensorsBytes(header: zero, data: [UInt8](repeating: 0, count: 8))).write(to: url)
            #expect(try SafetensorsFile(url: url).tensorNames == ["a", "b"])
        }
    }

    @Test(arguments: ["U16", "F8_E4M3", "f32", "FLOAT", ""])
    func unknownDType(dtype: String) throws {
        try expectOpenFailure(singleTensorFile("{\"dtype\":\"\(dtype)\",\"shape\":[4],\"data_offsets\":[0,16]}"), .unknownDType, tensor: "t", mentions: ["'\(dtype)'"])
    }

    @Test func notAFile() throws {
        try withSafetensorsTempDirectory { directory in
            for url in [directory, directory.appendingPathComponent("absent.safetensors")] {
                let error = #expect(throws: SafetensorsError.self) { _ = try SafetensorsFile(url: url) }
                #expect(error?.kind == .io)
                #expect(error?.message.contains(url.lastPathComponent) == true)
            }
        }
    }
}

// MARK: - Real model files

/// The shared checkpoints (`SharedData` finds `../shared` or `FRONTIER_SHARED`).
private enum SafetensorsSharedModels {
    static func model(_ name: String) -> URL? {
        let relative = "models/\(name)/model.safetensors"
        return SharedData.exists(relative) ? SharedData.path(relative) : nil
    }

    static let sst2 = model("minilm-l6-sst2")
    static let mrpc = model("minilm-l6-mrpc")
}

@Suite struct SafetensorsRealModelTests {
    /// Reference numbers computed with the Python `safetensors` + numpy packages.
    struct Reference: Sendable {
        var name: String
        var dtype: SafetensorsDType
        var firstWordEmbeddings: [Float]
        var wordEmbeddingSum: Double
        var totalAbsoluteSum: Double
    }

    static let fp32 = Reference(
        name: "minilm-l6-sst2", dtype: .f32,
        firstWordEmbeddings: [-0.019972234964370728, -0.0033998542930930853, -0.014666520059108734, 0.011693810112774372],
        wordEmbeddingSum: 141.28531723720363, totalAbsoluteSum: 1003587.6768592002)
    static let fp16 = Reference(
        name: "minilm-l6-mrpc", dtype: .f16,
        firstWordEmbeddings: [-0.019989013671875, -0.0034027099609375, -0.014678955078125, 0.0117034912109375],
        wordEmbeddingSum: 138.07816755771637, totalAbsoluteSum: 1003920.7083294392)

    @Test(.needsShared("models/minilm-l6-sst2/model.safetensors"))
    func fp32Model() throws {
        try check(try #require(SafetensorsSharedModels.sst2), Self.fp32)
    }

    @Test(.needsShared("models/minilm-l6-mrpc/model.safetensors"))
    func fp16Model() throws {
        try check(try #require(SafetensorsSharedModels.mrpc), Self.fp16)
    }

    private func check(_ url: URL, _ reference: Reference) throws {
        let file = try SafetensorsFile(url: url)
        #expect(file.metadata == ["format": "pt"])
        #expect(file.tensorNames.count == 105)
        #expect(file.tensorNames == file.tensorNames.sorted())
        let info = try #require(file.info("bert.embeddings.word_embeddings.weight"))
        #expect(info.shape == [30522, 384])
        #expect(info.dtype == reference.dtype)
        let embeddings = try file.floats("bert.embeddings.word_embeddings.weight")
        #expect(Array(embeddings.prefix(4)) == reference.firstWordEmbeddings)
        let sum = embeddings.reduce(0.0) { $0 + Double($1) }
        #expect(abs(sum - reference.wordEmbeddingSum) < 1e-9 * reference.totalAbsoluteSum)
        var total = 0.0
        for name in file.tensorNames {
            let values = try file.floats(name)
            #expect(values.count == file.info(name)?.elementCount)
            total += values.reduce(0.0) { $0 + Double(abs($1)) }
        }
        #expect(abs(total - reference.totalAbsoluteSum) < 1e-9 * reference.totalAbsoluteSum)
    }
}
