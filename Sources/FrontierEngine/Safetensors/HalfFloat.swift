/// IEEE binary16 and bfloat16 conversions to and from `Float`, as bit manipulation.
///
/// Why not `Float(Float16(bitPattern:))`? On x86_64 Linux, Swift targets baseline x86-64
/// without F16C, so every `Float16` ↔ `Float` conversion lowers to a call into
/// compiler-rt (`__extendhfsf2` / `__truncsfhf2`). A per-element call blocks vectorisation
/// and is roughly an order of magnitude slower than the branch-free integer code below,
/// which LLVM turns into SIMD. Every case is decided with selects, not branches, so the
/// loops stay vectorisable; the results are bit-identical to the IEEE conversions
/// (verified exhaustively for all 2^16 halves and all 2^32 floats when this was written).
///
/// All buffer functions read and write little-endian bytes, the safetensors byte order,
/// through unaligned loads: tensor data in a mapped file sits wherever the header length
/// and offsets put it, so no alignment can be assumed.
public enum HalfFloat {
    // MARK: Scalar conversions (inlinable so they inline into callers' loops)

    /// binary16 bit pattern → binary32 bit pattern, exact for zeros, subnormals, normals,
    /// infinities and NaNs (the NaN payload and its quiet bit are carried over unchanged).
    @inlinable @inline(__always)
    public static func floatBits(fromHalfBits half: UInt16) -> UInt32 {
        let h = UInt32(half)
        let sign = (h & 0x8000) << 16
        // Exponent and mantissa moved into float position; the exponent is still biased by 15.
        let shifted = (h & 0x7fff) << 13
        let exponent = shifted & 0x0f80_0000
        // Normal numbers: re-bias the exponent from 15 to 127.
        let normal = shifted &+ 0x3800_0000
        // Inf/NaN: re-bias once more so the exponent field becomes all ones; mantissa kept.
        let infOrNaN = normal &+ 0x3800_0000
        // Zero/subnormal: build 2^-14 × (1 + m/1024) as a normal float and subtract 2^-14,
        // leaving m × 2^-24 exactly. Avoids float subnormal arithmetic (slow on x86).
        let magic: UInt32 = 0x3880_0000  // 2^-14
        let subnormal = (Float(bitPattern: shifted &+ magic) - Float(bitPattern: magic)).bitPattern
        let magnitude = exponent == 0x0f80_0000 ? infOrNaN : (exponent == 0 ? subnormal : normal)
        return magnitude | sign
    }

    @inlinable @inline(__always)
    public static func float(fromHalfBits half: UInt16) -> Float {
        Float(bitPattern: floatBits(fromHalfBits: half))
    }

    /// `Float` → binary16 bit pattern with IEEE round-to-nearest-even. Values beyond the
    /// half range become ±infinity; NaNs stay NaN with their top payload bits, made quiet.
    @inlinable @inline(__always)
    public static func halfBits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = bits & 0x8000_0000
        let a = bits ^ sign  // |value|
        // |value| ≥ 65520 rounds to infinity; 2^16 (0x4780_0000) is the first power of two
        // that can no longer round down, values between are handled by the normal path.
        let nan = 0x7e00 | ((a >> 13) & 0x03ff)
        let infOrNaN: UInt32 = a > 0x7f80_0000 ? nan : 0x7c00
        // Below 2^-14 the result is subnormal or zero. Adding 0.5 pushes the value's
        // mantissa down so the FPU's own round-to-nearest-even drops exactly the bits
        // binary16 cannot hold; the low bits of the sum are then the half's mantissa.
        let denormMagic: UInt32 = 0x3f00_0000  // 0.5
        let subnormal = (Float(bitPattern: a) + Float(bitPattern: denormMagic)).bitPattern &- denormMagic
        // Normal range: re-bias the exponent (127 → 15) and round to nearest even by adding
        // 0xfff plus the lowest kept mantissa bit before truncating 13 bits; a carry out of
        // the mantissa correctly bumps the exponent (up to infinity).
        let mantissaOdd = (a >> 13) & 1
        let normal = (a &+ 0xc800_0fff &+ mantissaOdd) >> 13
        let magnitude = a >= 0x4780_0000 ? infOrNaN : (a < 0x3880_0000 ? subnormal : normal)
        return UInt16(truncatingIfNeeded: magnitude | (sign >> 16))
    }

    /// bfloat16 is the upper half of a binary32, so widening is a shift.
    @inlinable @inline(__always)
    public static func float(fromBFloatBits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// `Float` → bfloat16 with round-to-nearest-even (plain truncation would bias weights
    /// towards zero). NaNs keep sign and top payload bits and are made quiet, so rounding
    /// can never turn a NaN into infinity.
    @inlinable @inline(__always)
    public static func bfloatBits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let rounded = (bits &+ 0x7fff &+ ((bits >> 16) & 1)) >> 16
        let nan = (bits >> 16) | 0x0040
        let isNaN = (bits & 0x7fff_ffff) > 0x7f80_0000
        return UInt16(truncatingIfNeeded: isNaN ? nan : rounded)
    }

    // MARK: Bulk conversions

    /// Widens `destination.count` little-endian binary16 values from `source`.
    public static func convertHalfToFloat(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(source.count == destination.count &* 2, "HalfFloat: source holds \(source.count) bytes, destination \(destination.count) floats")
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        let n = destination.count
        // Raw pointers and no bounds checks: the loop body must be straight-line for LLVM to vectorise it.
        for i in 0..<n {
            let h = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))
            dst[i] = Float(bitPattern: floatBits(fromHalfBits: h))
        }
    }

    /// Widens `destination.count` little-endian bfloat16 values from `source`.
    public static func convertBFloatToFloat(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(source.count == destination.count &* 2, "HalfFloat: source holds \(source.count) bytes, destination \(destination.count) floats")
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        let n = destination.count
        for i in 0..<n {
            let b = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))
            dst[i] = Float(bitPattern: UInt32(b) << 16)
        }
    }

    /// Copies `destination.count` little-endian binary32 values (a plain copy on little-endian hosts).
    public static func convertLittleEndianFloat(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(source.count == destination.count &* 4, "HalfFloat: source holds \(source.count) bytes, destination \(destination.count) floats")
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        #if _endian(little)
        UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: source.count)
        #else
        for i in 0..<destination.count {
            let u = UInt32(littleEndian: src.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))
            dst[i] = Float(bitPattern: u)
        }
        #endif
    }

    /// Narrows `source` to little-endian binary16 (round-to-nearest-even) into `destination`.
    public static func convertFloatToHalf(
        _ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableRawBufferPointer
    ) {
        precondition(destination.count == source.count &* 2, "HalfFloat: destination holds \(destination.count) bytes, source \(source.count) floats")
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        for i in 0..<source.count {
            dst.storeBytes(of: halfBits(from: src[i]).littleEndian, toByteOffset: i &* 2, as: UInt16.self)
        }
    }

    /// Narrows `source` to little-endian bfloat16 (round-to-nearest-even) into `destination`.
    public static func convertFloatToBFloat(
        _ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableRawBufferPointer
    ) {
        precondition(destination.count == source.count &* 2, "HalfFloat: destination holds \(destination.count) bytes, source \(source.count) floats")
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        for i in 0..<source.count {
            dst.storeBytes(of: bfloatBits(from: src[i]).littleEndian, toByteOffset: i &* 2, as: UInt16.self)
        }
    }

    /// Writes `source` as little-endian binary32 into `destination`.
    public static func convertFloatToLittleEndian(
        _ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableRawBufferPointer
    ) {
        precondition(destination.count == source.count &* 4, "HalfFloat: destination holds \(destination.count) bytes, source \(source.count) floats")
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        #if _endian(little)
        dst.copyMemory(from: UnsafeRawPointer(src), byteCount: destination.count)
        #else
        for i in 0..<source.count {
            dst.storeBytes(of: src[i].bitPattern.littleEndian, toByteOffset: i &* 4, as: UInt32.self)
        }
        #endif
    }
}
