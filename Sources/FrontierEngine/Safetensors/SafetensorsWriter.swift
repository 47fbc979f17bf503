import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `.safetensors` files that the reference Python library reads back unchanged.
///
/// Output is deterministic (same tensors and metadata → same bytes) so that files can be
/// compared by hash and golden fixtures stay stable:
/// - the header is compact JSON with `__metadata__` first and tensor names sorted by UTF-8 bytes;
/// - the header is padded with spaces so the data section starts on an 8-byte boundary;
/// - tensor data is contiguous, without holes (the reference reader rejects holes). Tensors
///   are grouped by element size, largest first, and keep the caller's order within a
///   group — the reference writer does the same grouping — so that every tensor is
///   naturally aligned for its dtype when mapped, without padding.
public enum SafetensorsWriter {
    public struct Tensor: Sendable {
        public var name: String
        /// `.f32`, `.f16` or `.bf16`; the values are rounded to nearest even when narrowed.
        public var dtype: SafetensorsDType
        public var shape: [Int]
        public var values: [Float]

        public init(name: String, dtype: SafetensorsDType, shape: [Int], values: [Float]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.values = values
        }
    }

    /// The complete file contents in memory.
    public static func encode(_ tensors: [Tensor], metadata: [String: String] = [:]) throws -> [UInt8] {
        let layout = try Layout(tensors, metadata: metadata, path: nil)
        let total = layout.prefix.count + layout.dataSize
        return [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            raw.copyBytes(from: layout.prefix)
            for slot in layout.slots {
                let start = layout.prefix.count + slot.range.lowerBound
                encodeValues(tensors[slot.index], into: UnsafeMutableRawBufferPointer(rebasing: raw[start..<(start + slot.range.count)]))
            }
            initialized = total
        }
    }

    /// Writes the file atomically: the data goes to a temporary file in the destination's
    /// directory, is flushed to disk, and is then renamed over `url`. Readers (which map the
    /// file) therefore never see a half-written model, and a crash leaves the old file intact.
    /// Tensor data is converted and written in chunks, so memory use stays bounded.
    public static func write(_ tensors: [Tensor], metadata: [String: String] = [:], to url: URL) throws {
        guard url.isFileURL else {
            throw SafetensorsError(.io, path: url.absoluteString, "is not a file URL")
        }
        let path = url.path
        let layout = try Layout(tensors, metadata: metadata, path: path)
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")

        let fd = temporary.withUnsafeFileSystemRepresentation { fsPath -> Int32 in
            guard let fsPath else { return -1 }
            return open(fsPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        }
        guard fd >= 0 else { throw ioError(temporary.path, "cannot create temporary file for \(path)") }
        var descriptorOpen = true
        var temporaryExists = true
        defer {
            if descriptorOpen { close(fd) }
            if temporaryExists {
                temporary.withUnsafeFileSystemRepresentation { fsPath in
                    if let fsPath { _ = unlink(fsPath) }
                }
            }
        }

        try layout.prefix.withUnsafeBytes { try writeAll(fd, $0, path: temporary.path) }
        let chunkElements = 1 << 16
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkElements * 4, alignment: 16)
        defer { chunk.deallocate() }
        for slot in layout.slots {
            let tensor = tensors[slot.index]
            let size = tensor.dtype.byteSize
            try tensor.values.withUnsafeBufferPointer { values in
                var start = 0
                while start < values.count {
                    let count = min(chunkElements, values.count - start)
                    let bytes = UnsafeMutableRawBufferPointer(rebasing: chunk[0..<(count * size)])
                    encode(UnsafeBufferPointer(rebasing: values[start..<(start + count)]), as: tensor.dtype, into: bytes)
                    try writeAll(fd, UnsafeRawBufferPointer(bytes), path: temporary.path)
                    start += count
                }
            }
        }
        guard fsync(fd) == 0 else { throw ioError(temporary.path, "cannot flush temporary file for \(path)") }
        descriptorOpen = false
        guard close(fd) == 0 else { throw ioError(temporary.path, "cannot close temporary file for \(path)") }
        let renamed = temporary.withUnsafeFileSystemRepresentation { from in
            url.withUnsafeFileSystemRepresentation { to in
                guard let from, let to else { return Int32(-1) }
                return rename(from, to)
            }
        }
        guard renamed == 0 else { throw ioError(path, "cannot rename temporary file into place") }
        temporaryExists = false
    }

    // MARK: - Layout

    /// Validated tensors, their data placement, and the serialised length + header + padding.
    private struct Layout {
        struct Slot {
            var index: Int
            var range: Range<Int>
        }

        var prefix: [UInt8] = []
        var slots: [Slot] = []
        var dataSize = 0

        init(_ tensors: [Tensor], metadata: [String: String], path: String?) throws {
            var names = Set<String>()
            for tensor in tensors {
                func invalid(_ kind: SafetensorsError.Kind, _ detail: String) -> SafetensorsError {
                    SafetensorsError(kind, path: path, tensor: tensor.name, detail)
                }
                guard tensor.name != "__metadata__" else {
                    throw invalid(.invalidTensor, "uses the reserved name '__metadata__'")
                }
                guard names.insert(tensor.name).inserted else {
                    throw invalid(.invalidTensor, "appears more than once")
                }
                guard tensor.dtype.isFloatConvertible else {
                    throw invalid(.unsupportedDType, "has dtype \(tensor.dtype.rawValue); the writer stores only F32, F16 and BF16")
                }
                var count = 1
                for dimension in tensor.shape {
                    guard dimension >= 0 else {
                        throw invalid(.invalidTensor, "has negative dimension in shape \(SafetensorsFile.format(tensor.shape))")
                    }
                    let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
                    guard !overflow else { throw invalid(.invalidTensor, "has shape \(SafetensorsFile.format(tensor.shape)) whose element count overflows Int") }
                    count = product
                }
                guard count == tensor.values.count else {
                    throw invalid(.countMismatch, "has \(tensor.values.count) values but shape \(SafetensorsFile.format(tensor.shape)) needs \(count)")
                }
            }

            let order = tensors.indices.sorted { a, b in
                let (sa, sb) = (tensors[a].dtype.byteSize, tensors[b].dtype.byteSize)
                return sa != sb ? sa > sb : a < b
            }
            var offset = 0
            var ranges = [Range<Int>](repeating: 0..<0, count: tensors.count)
            for index in order {
                let tensor = tensors[index]
                let (bytes, o1) = tensor.values.count.multipliedReportingOverflow(by: tensor.dtype.byteSize)
                let (end, o2) = offset.addingReportingOverflow(bytes)
                guard !o1, !o2 else {
                    throw SafetensorsError(.invalidTensor, path: path, tensor: tensor.name, "does not fit: total data size overflows Int")
                }
                ranges[index] = offset..<end
                slots.append(Slot(index: index, range: offset..<end))
                offset = end
            }
            dataSize = offset

            var json: [UInt8] = Array("{".utf8)
            var first = true
            func key(_ name: String) {
                if !first { json.append(UInt8(ascii: ",")) }
                first = false
                appendJSONString(name, to: &json)
                json.append(UInt8(ascii: ":"))
            }
            if !metadata.isEmpty {
                key("__metadata__")
                json.append(UInt8(ascii: "{"))
                for (position, entry) in metadata.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
                    if position > 0 { json.append(UInt8(ascii: ",")) }
                    appendJSONString(entry.key, to: &json)
                    json.append(UInt8(ascii: ":"))
                    appendJSONString(entry.value, to: &json)
                }
                json.append(UInt8(ascii: "}"))
            }
            for index in tensors.indices.sorted(by: { tensors[$0].name.utf8.lexicographicallyPrecedes(tensors[$1].name.utf8) }) {
                let tensor = tensors[index]
                key(tensor.name)
                let shape = tensor.shape.map(String.init).joined(separator: ",")
                let range = ranges[index]
                json += Array("{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(range.lowerBound),\(range.upperBound)]}".utf8)
            }
            json.append(UInt8(ascii: "}"))
            // 8 + N is a multiple of 8 exactly when N is.
            while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
            guard json.count <= SafetensorsFile.maxHeaderLength else {
                throw SafetensorsError(.invalidTensor, path: path, "header of \(json.count) bytes exceeds the \(SafetensorsFile.maxHeaderLength)-byte limit readers enforce")
            }
            var length = UInt64(json.count)
            prefix.reserveCapacity(8 + json.count)
            for _ in 0..<8 {
                prefix.append(UInt8(truncatingIfNeeded: length))
                length >>= 8
            }
            prefix += json
        }
    }

    private static func appendJSONString(_ text: String, to json: inout [UInt8]) {
        json.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): json += [0x5c, 0x22]
            case UInt8(ascii: "\\"): json += [0x5c, 0x5c]
            case 0x0a: json += [0x5c, UInt8(ascii: "n")]
            case 0x0d: json += [0x5c, UInt8(ascii: "r")]
            case 0x09: json += [0x5c, UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                json += [0x5c, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xf)]]
            default: json.append(byte)
            }
        }
        json.append(UInt8(ascii: "\""))
    }

    // MARK: - Data

    private static func encodeValues(_ tensor: Tensor, into destination: UnsafeMutableRawBufferPointer) {
        tensor.values.withUnsafeBufferPointer { encode($0, as: tensor.dtype, into: destination) }
    }

    private static func encode(_ values: UnsafeBufferPointer<Float>, as dtype: SafetensorsDType, into destination: UnsafeMutableRawBufferPointer) {
        switch dtype {
        case .f32: HalfFloat.convertFloatToLittleEndian(values, into: destination)
        case .f16: HalfFloat.convertFloatToHalf(values, into: destination)
        case .bf16: HalfFloat.convertFloatToBFloat(values, into: destination)
        default: preconditionFailure("Layout admits only float dtypes, got \(dtype)")
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        guard var pointer = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = systemWrite(fd, pointer, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                throw ioError(path, "cannot write")
            }
            pointer += written
            remaining -= written
        }
    }

    private static func ioError(_ path: String, _ what: String) -> SafetensorsError {
        let reason = String(cString: strerror(errno))
        return SafetensorsError(.io, path: path, "\(what): \(reason)")
    }
}

/// `write(2)`, reachable under another name because `SafetensorsWriter.write` shadows it.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
