import Foundation

/// Finds the bytes of the `TrialResult` inside an encoded `Envelope{result: Result{result: …}}`
/// without re-encoding it: the coordinator stores a validated result as the agent sent it, and
/// re-serialising a decoded message costs the loop about a third of what decoding did.
///
/// Protobuf may split one message field over several occurrences (they merge on decoding); a
/// frame that does so, or anything this scanner does not expect, gives nil and the caller
/// encodes the decoded message instead. So the scanner can only save work, never change what
/// is stored.
public enum WireFrameScanner {
    public static func trialResultBytes(in frame: Data) -> Data? {
        frame.withUnsafeBytes { raw -> Data? in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard let result = onlyField(8, in: bytes, range: 0..<bytes.count),
                  let trial = onlyField(13, in: bytes, range: result) else { return nil }
            return Data(bytes[trial])
        }
    }

    /// The byte range of length-delimited field `number` in `range`, when it occurs exactly once.
    static func onlyField(_ number: UInt64, in bytes: UnsafeBufferPointer<UInt8>, range: Range<Int>) -> Range<Int>? {
        var i = range.lowerBound
        var found: Range<Int>?
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while i < range.upperBound, shift < 64 {
                let b = bytes[i]
                i += 1
                value |= UInt64(b & 0x7f) << shift
                if b & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        while i < range.upperBound {
            guard let key = varint() else { return nil }
            switch key & 7 {
            case 0:
                guard varint() != nil else { return nil }
            case 1:
                i += 8
            case 5:
                i += 4
            case 2:
                guard let length = varint(), length <= UInt64(range.upperBound - i) else { return nil }
                let field = i..<(i + Int(length))
                if key >> 3 == number {
                    guard found == nil else { return nil }
                    found = field
                }
                i = field.upperBound
            default:
                return nil
            }
        }
        return i == range.upperBound ? found : nil
    }
}
