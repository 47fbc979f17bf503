import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One tensor's header entry, after validation against the file it came from.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    /// Byte range relative to the start of the data section (the byte after the header).
    public let dataOffsets: Range<Int>
    /// Product of `shape` (1 for a scalar). Stored rather than computed: it was checked for
    /// overflow once, at open time, and callers use it in hot paths.
    public let elementCount: Int

    public var byteCount: Int { dataOffsets.count }
}

/// A memory-mapped `.safetensors` file.
///
/// The whole file is mapped read-only and every header entry is validated in `init`, so that
/// a corrupt or truncated download fails once, up front, with a message naming the file and
/// tensor — never later with an out-of-bounds read or an arithmetic trap in the middle of
/// model construction. Tensor bytes are only touched when asked for, so opening a large
/// model costs the header parse, not a read of the weights; and a tensor's pages leave the
/// process's resident set once it is converted, so a model load never holds the whole file
/// resident beside the fp32 tensors made from it (a trial's peak RSS would count both).
///
/// Immutable after `init`, hence `@unchecked Sendable`: every stored property is a `let` set in
/// `init`, the mapping is `PROT_READ` (only read after, never written) and is unmapped in
/// `deinit`. As with any `mmap`, truncating the file on disk while it is open makes later
/// accesses fault (SIGBUS); model files are expected to be replaced by rename, not rewritten.
public final class SafetensorsFile: @unchecked Sendable {
    /// Headers beyond this are treated as corruption rather than allocated and parsed
    /// (the reference implementation uses the same limit).
    public static let maxHeaderLength = 100_000_000

    public let url: URL
    public let metadata: [String: String]
    /// All tensor names, sorted.
    public let tensorNames: [String]

    private let path: String
    private let tensors: [String: SafetensorsTensorInfo]
    private let base: UnsafeRawPointer
    private let mappedLength: Int
    private let dataStart: Int

    public init(url: URL) throws {
        let path = url.path
        let (base, length) = try Self.mapFile(url: url, path: path)
        let mapping = UnsafeRawBufferPointer(start: base, count: length)
        do {
            let header = try Self.parseHeader(mapping, path: path)
            self.url = url
            self.path = path
            self.base = UnsafeRawPointer(base)
            self.mappedLength = length
            self.dataStart = header.dataStart
            self.metadata = header.metadata
            self.tensors = header.tensors
            self.tensorNames = header.tensors.keys.sorted()
        } catch {
            munmap(base, length)
            throw error
        }
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), mappedLength)
    }

    public func info(_ name: String) -> SafetensorsTensorInfo? {
        tensors[name]
    }

    /// The tensor converted to fp32 (F32, F16 and BF16 only).
    public func floats(_ name: String) throws -> [Float] {
        let info = try floatTensor(name)
        return [Float](unsafeUninitializedCapacity: info.elementCount) { buffer, initialized in
            convert(info, into: buffer)
            initialized = info.elementCount
        }
    }

    /// Converts the tensor to fp32 straight into caller-owned memory (e.g. a weight arena),
    /// avoiding the intermediate array of `floats(_:)`.
    public func copyFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let info = try floatTensor(name)
        guard destination.count == info.elementCount else {
            throw SafetensorsError(
                .countMismatch, path: path, tensor: name,
                "has \(info.elementCount) elements (shape \(Self.format(info.shape)) × \(info.dtype.rawValue)) but the destination buffer holds \(destination.count) floats")
        }
        convert(info, into: destination)
    }

    /// The tensor's bytes exactly as stored (little-endian, possibly unaligned). The view
    /// points into the mapping, so it is valid only while this object is alive.
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let info = tensors[name] else { throw notFound(name) }
        return UnsafeRawBufferPointer(start: base + dataStart + info.dataOffsets.lowerBound, count: info.byteCount)
    }

    // MARK: - Conversion

    private func floatTensor(_ name: String) throws -> SafetensorsTensorInfo {
        guard let info = tensors[name] else { throw notFound(name) }
        guard info.dtype.isFloatConvertible else {
            throw SafetensorsError(
                .unsupportedDType, path: path, tensor: name,
                "has dtype \(info.dtype.rawValue); only F32, F16 and BF16 convert to Float")
        }
        return info
    }

    private func notFound(_ name: String) -> SafetensorsError {
        SafetensorsError(.notFound, path: path, tensor: name, "not found (the file has \(tensors.count) tensors)")
    }

    /// Requires `destination.count == info.elementCount` and a float-convertible dtype.
    private func convert(_ info: SafetensorsTensorInfo, into destination: UnsafeMutableBufferPointer<Float>) {
        let source = UnsafeRawBufferPointer(start: base + dataStart + info.dataOffsets.lowerBound, count: info.byteCount)
        switch info.dtype {
        case .f32: HalfFloat.convertLittleEndianFloat(source, into: destination)
        case .f16: HalfFloat.convertHalfToFloat(source, into: destination)
        case .bf16: HalfFloat.convertBFloatToFloat(source, into: destination)
        default: preconditionFailure("convert called for \(info.dtype)")
        }
        releaseResidentPages(source)
    }

    /// Drops `bytes` (widened to whole pages) from this process's resident set. The mapping is
    /// a private, read-only view of the file, so a later read faults the same bytes back in from
    /// the page cache (neighbours sharing a page included); only the RSS changes.
    private func releaseResidentPages(_ bytes: UnsafeRawBufferPointer) {
        guard let start = bytes.baseAddress, bytes.count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = Int(bitPattern: start) / page * page
        let end = Int(bitPattern: start) + bytes.count
        _ = madvise(UnsafeMutableRawPointer(bitPattern: first), end - first, Int32(MADV_DONTNEED))
    }

    // MARK: - Mapping

    private static func mapFile(url: URL, path: String) throws -> (UnsafeMutableRawPointer, Int) {
        guard url.isFileURL else {
            throw SafetensorsError(.io, path: url.absoluteString, "is not a file URL")
        }
        let fd = url.withUnsafeFileSystemRepresentation { fsPath -> Int32 in
            guard let fsPath else { return -1 }
            return open(fsPath, O_RDONLY | O_CLOEXEC)
        }
        guard fd >= 0 else { throw ioError(path, "cannot open") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw ioError(path, "cannot stat") }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw SafetensorsError(.io, path: path, "is not a regular file")
        }
        guard let length = Int(exactly: status.st_size) else {
            throw SafetensorsError(.io, path: path, "has an unrepresentable size \(status.st_size)")
        }
        // Checked before mapping because mmap rejects a zero length.
        guard length >= 8 else {
            throw SafetensorsError(
                .fileTooShort, path: path,
                "is \(length) bytes long, too short to hold the 8-byte header length; the file is truncated or not a safetensors file")
        }
        guard let base = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw ioError(path, "cannot memory-map \(length) bytes")
        }
        return (base, length)
    }

    private static func ioError(_ path: String, _ what: String) -> SafetensorsError {
        let reason = String(cString: strerror(errno))
        return SafetensorsError(.io, path: path, "\(what): \(reason)")
    }

    // MARK: - Header validation

    private struct Header {
        var dataStart: Int
        var metadata: [String: String]
        var tensors: [String: SafetensorsTensorInfo]
    }

    private static func parseHeader(_ file: UnsafeRawBufferPointer, path: String) throws -> Header {
        // The length is little-endian on disk whatever the host; assemble it byte by byte.
        var declared: UInt64 = 0
        for i in 0..<8 { declared |= UInt64(file[i]) << (8 * UInt64(i)) }
        let available = file.count - 8
        guard declared != 0 else {
            throw SafetensorsError(.invalidHeaderLength, path: path, "declares a header length of 0; not a safetensors file")
        }
        guard declared <= UInt64(maxHeaderLength) else {
            throw SafetensorsError(
                .invalidHeaderLength, path: path,
                "declares a header length of \(declared) bytes, above the \(maxHeaderLength)-byte limit; the file is corrupt or not a safetensors file")
        }
        let headerLength = Int(declared)
        guard headerLength <= available else {
            throw SafetensorsError(
                .invalidHeaderLength, path: path,
                "declares a \(headerLength)-byte header but only \(available) bytes follow the length field (file size \(file.count)); the file is truncated or not a safetensors file")
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: file[8..<(8 + headerLength)])
        if let offset = firstInvalidUTF8Offset(headerBytes) {
            throw SafetensorsError(.invalidHeader, path: path, "header is not valid UTF-8 (bad byte at header offset \(offset))")
        }
        let root: JSONValue
        do {
            var parser = JSONParser(bytes: headerBytes)
            root = try parser.parseDocument()
        } catch let failure as JSONParser.Failure {
            let what = failure.isSyntaxError ? "header is not valid JSON" : "header is ambiguous"
            throw SafetensorsError(.invalidHeader, path: path, "\(what): \(failure.message) at header offset \(failure.offset)")
        }
        guard case .object(let entries) = root else {
            throw SafetensorsError(.invalidHeader, path: path, "header must be a JSON object, found \(root.kindName)")
        }

        let dataStart = 8 + headerLength
        let dataSize = file.count - dataStart
        var metadata: [String: String] = [:]
        var tensors: [String: SafetensorsTensorInfo] = [:]
        tensors.reserveCapacity(entries.count)
        for (name, value) in entries {
            if name == "__metadata__" {
                metadata = try parseMetadata(value, path: path)
            } else {
                tensors[name] = try parseTensor(name: name, value, dataSize: dataSize, path: path)
            }
        }
        try checkOverlaps(tensors.values, path: path)
        return Header(dataStart: dataStart, metadata: metadata, tensors: tensors)
    }

    private static func parseMetadata(_ value: JSONValue, path: String) throws -> [String: String] {
        guard case .object(let pairs) = value else {
            throw SafetensorsError(.invalidHeader, path: path, "'__metadata__' must be an object of strings, found \(value.kindName)")
        }
        var metadata: [String: String] = [:]
        for (key, item) in pairs {
            guard case .string(let text) = item else {
                throw SafetensorsError(.invalidHeader, path: path, "'__metadata__' entry '\(key)' must be a string, found \(item.described)")
            }
            metadata[key] = text
        }
        return metadata
    }

    private static func parseTensor(name: String, _ value: JSONValue, dataSize: Int, path: String) throws -> SafetensorsTensorInfo {
        func entryError(_ detail: String) -> SafetensorsError {
            SafetensorsError(.invalidTensorEntry, path: path, tensor: name, detail)
        }
        guard case .object(let fields) = value else {
            throw entryError("must be a JSON object with dtype, shape and data_offsets, found \(value.described)")
        }
        func field(_ key: String) throws -> JSONValue {
            guard let found = fields.first(where: { $0.key == key }) else { throw entryError("is missing '\(key)'") }
            return found.value
        }
        func nonNegativeIntegers(_ key: String, _ value: JSONValue) throws -> [Int] {
            guard case .array(let items) = value else {
                throw entryError("has a '\(key)' that is not an array of non-negative integers: found \(value.described)")
            }
            return try items.map { item in
                guard case .integer(let number) = item, number >= 0 else {
                    throw entryError("has a '\(key)' element that is not a non-negative integer fitting in Int: found \(item.described) in \(value.preview)")
                }
                return number
            }
        }

        let dtypeValue = try field("dtype")
        guard case .string(let dtypeName) = dtypeValue else {
            throw entryError("has a 'dtype' that is not a string: found \(dtypeValue.described)")
        }
        let shape = try nonNegativeIntegers("shape", try field("shape"))
        let offsets = try nonNegativeIntegers("data_offsets", try field("data_offsets"))
        guard offsets.count == 2 else {
            throw entryError("has \(offsets.count) 'data_offsets' values instead of [begin, end]")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            let known = SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
            throw SafetensorsError(.unknownDType, path: path, tensor: name, "has unknown dtype '\(dtypeName)' (supported: \(known))")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else {
            throw SafetensorsError(.invalidOffsets, path: path, tensor: name, "has data_offsets [\(begin), \(end)] with begin > end")
        }
        guard end <= dataSize else {
            throw SafetensorsError(
                .outOfBounds, path: path, tensor: name,
                "has data_offsets [\(begin), \(end)] reaching past the end of the data section (\(dataSize) bytes); the file is truncated or the header is corrupt")
        }
        let shapeText = "shape \(format(shape)) × \(dtype.rawValue)"
        var elementCount = 1
        for dimension in shape {
            let (product, overflow) = elementCount.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw SafetensorsError(.sizeMismatch, path: path, tensor: name, "has \(shapeText) whose element count overflows Int")
            }
            elementCount = product
        }
        let (needed, overflow) = elementCount.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else {
            throw SafetensorsError(.sizeMismatch, path: path, tensor: name, "has \(shapeText) whose byte size overflows Int")
        }
        guard needed == end - begin else {
            throw SafetensorsError(
                .sizeMismatch, path: path, tensor: name,
                "needs \(needed) bytes (\(shapeText)) but data_offsets span \(end - begin) bytes")
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end, elementCount: elementCount)
    }

    /// No real writer produces overlapping tensors; they mean a corrupt or crafted header in
    /// which two weights would silently share bytes. Holes between tensors are tolerated
    /// (the Python reader rejects them, to rule out polyglot files): they cannot cause a bad
    /// read, and refusing them would only turn away files from lenient writers.
    private static func checkOverlaps(_ tensors: some Collection<SafetensorsTensorInfo>, path: String) throws {
        // Zero-byte tensors occupy nothing and cannot overlap anything.
        let ordered = tensors.filter { !$0.dataOffsets.isEmpty }
            .sorted { ($0.dataOffsets.lowerBound, $0.name) < ($1.dataOffsets.lowerBound, $1.name) }
        guard var previous = ordered.first else { return }
        for current in ordered.dropFirst() {
            if current.dataOffsets.lowerBound < previous.dataOffsets.upperBound {
                throw SafetensorsError(
                    .overlap, path: path, tensor: current.name,
                    "has data_offsets [\(current.dataOffsets.lowerBound), \(current.dataOffsets.upperBound)] overlapping tensor '\(previous.name)' at [\(previous.dataOffsets.lowerBound), \(previous.dataOffsets.upperBound)]")
            }
            previous = current
        }
    }

    static func format(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ", ") + "]"
    }

    /// The strict UTF-8 decoder of the standard library rejects overlong forms, surrogates and
    /// truncated sequences, which is what "valid UTF-8" means for the header.
    private static func firstInvalidUTF8Offset(_ bytes: UnsafeRawBufferPointer) -> Int? {
        // Fast path: pure ASCII (the common case) needs no decoding.
        if !bytes.contains(where: { $0 >= 0x80 }) { return nil }
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }
}

// MARK: - Minimal strict JSON

/// A JSON value as far as the safetensors header needs it.
///
/// A hand-written parser instead of JSONSerialization, because the header is untrusted input
/// and NSNumber blurs exactly the distinctions validation needs: `true` reads back as 1,
/// `1.0` and `1e3` as integers, and out-of-range integers become lossy doubles. Here an
/// integer is only a literal without fraction or exponent that fits in `Int`; duplicate keys
/// are an error (which of two conflicting entries wins would otherwise be unspecified); and
/// nesting depth is capped so a hostile header cannot exhaust the stack.
private enum JSONValue {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    /// A literal without fraction or exponent that fits in `Int` (may be negative).
    case integer(Int)
    /// Any other number, kept as written for error messages.
    case number(String)
    case bool(Bool)
    case null

    var kindName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .integer: "an integer"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    /// Kind and value, e.g. `a string "4"`, for error messages.
    var described: String {
        if case .null = self { return "null" }
        return "\(kindName) \(preview)"
    }

    /// Compact rendering for error messages, cut short so a huge value cannot flood a log.
    var preview: String {
        let text = rendered(limit: 80)
        return text.count > 80 ? String(text.prefix(77)) + "..." : text
    }

    private func rendered(limit: Int) -> String {
        switch self {
        case .object(let pairs):
            var out = "{"
            for (index, pair) in pairs.enumerated() {
                if out.count > limit { out += "..."; break }
                if index > 0 { out += ", " }
                out += "\"\(pair.key)\": " + pair.value.rendered(limit: limit)
            }
            return out + "}"
        case .array(let items):
            var out = "["
            for (index, item) in items.enumerated() {
                if out.count > limit { out += "..."; break }
                if index > 0 { out += ", " }
                out += item.rendered(limit: limit)
            }
            return out + "]"
        case .string(let text): return "\"\(text.count > limit ? String(text.prefix(limit)) + "..." : text)\""
        case .integer(let number): return String(number)
        case .number(let literal): return literal
        case .bool(let flag): return flag ? "true" : "false"
        case .null: return "null"
        }
    }
}

private struct JSONParser {
    struct Failure: Error {
        let message: String
        let offset: Int
        var isSyntaxError = true
    }

    static let maxDepth = 64

    let bytes: UnsafeRawBufferPointer
    private var index = 0

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// One value, surrounded only by whitespace (the spec pads headers with trailing spaces).
    mutating func parseDocument() throws -> JSONValue {
        skipWhitespace()
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected \(describeCurrent()) after the top-level value") }
        return value
    }

    private func fail(_ message: String) -> Failure {
        Failure(message: message, offset: index)
    }

    private func describeCurrent() -> String {
        guard index < bytes.count else { return "end of header" }
        let byte = bytes[index]
        if byte >= 0x21 && byte < 0x7f { return "character '\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0a, 0x0d: index += 1
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws {
        guard index < bytes.count, bytes[index] == byte else { throw fail("expected \(what), found \(describeCurrent())") }
        index += 1
    }

    private mutating func parseValue(depth: Int) throws -> JSONValue {
        guard depth < Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth) levels") }
        guard index < bytes.count else { throw fail("unexpected end of header") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        default: throw fail("unexpected \(describeCurrent())")
        }
    }

    private mutating func parseLiteral(_ word: StaticString) throws {
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard bytes.count - index >= expected.count,
              bytes[index..<(index + expected.count)].elementsEqual(expected)
        else { throw fail("unexpected \(describeCurrent())") }
        index += expected.count
    }

    private mutating func parseObject(depth: Int) throws -> JSONValue {
        index += 1  // {
        var pairs: [(key: String, value: JSONValue)] = []
        var keys = Set<String>()
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(pairs)
        }
        while true {
            skipWhitespace()
            let keyOffset = index
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw fail("expected a string key, found \(describeCurrent())")
            }
            let key = try parseString()
            guard keys.insert(key).inserted else {
                throw Failure(message: "duplicate key '\(key)'", offset: keyOffset, isSyntaxError: false)
            }
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':'")
            skipWhitespace()
            let value = try parseValue(depth: depth + 1)
            pairs.append((key, value))
            skipWhitespace()
            guard index < bytes.count else { throw fail("unterminated object") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "}"), "',' or '}'")
            return .object(pairs)
        }
    }

    private mutating func parseArray(depth: Int) throws -> JSONValue {
        index += 1  // [
        var items: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard index < bytes.count else { throw fail("unterminated array") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "]"), "',' or ']'")
            return .array(items)
        }
    }

    private mutating func parseNumber() throws -> JSONValue {
        let start = index
        func digits() -> Int {
            let first = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
            return index - first
        }
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let integerStart = index
        let integerDigits = digits()
        guard integerDigits > 0 else { throw fail("expected a digit, found \(describeCurrent())") }
        if integerDigits > 1, bytes[integerStart] == UInt8(ascii: "0") {
            throw Failure(message: "number with a leading zero", offset: integerStart)
        }
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard digits() > 0 else { throw fail("expected a digit after '.', found \(describeCurrent())") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw fail("expected a digit in the exponent, found \(describeCurrent())") }
        }
        let literal = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard isInteger else { return .number(literal) }
        // Accumulate negatively so Int.min parses; any overflow leaves it a non-integer number.
        var value = 0
        for byte in bytes[integerStart..<index] {
            let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = shifted.subtractingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            if o1 || o2 { return .number(literal) }
            value = next
        }
        if negative { return .integer(value) }
        let (positive, overflow) = (0).subtractingReportingOverflow(value)
        return overflow ? .number(literal) : .integer(positive)
    }

    private mutating func parseString() throws -> String {
        let open = index
        index += 1  // "
        var segmentStart = index
        var result = ""
        var scratch: [UInt8] = []
        while true {
            guard index < bytes.count else { throw Failure(message: "unterminated string", offset: open) }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                if scratch.isEmpty {
                    result = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[segmentStart..<index]), as: UTF8.self)
                } else {
                    scratch.append(contentsOf: bytes[segmentStart..<index])
                    result = String(decoding: scratch, as: UTF8.self)
                }
                index += 1
                return result
            }
            if byte < 0x20 { throw fail("unescaped control character in string") }
            if byte != UInt8(ascii: "\\") { index += 1; continue }
            // Escape: flush the plain segment, then decode.
            scratch.append(contentsOf: bytes[segmentStart..<index])
            index += 1
            guard index < bytes.count else { throw Failure(message: "unterminated string", offset: open) }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): scratch.append(0x22)
            case UInt8(ascii: "\\"): scratch.append(0x5c)
            case UInt8(ascii: "/"): scratch.append(0x2f)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0c)
            case UInt8(ascii: "n"): scratch.append(0x0a)
            case UInt8(ascii: "r"): scratch.append(0x0d)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                var code = try parseHex4()
                if (0xd800..<0xdc00).contains(code) {
                    // High surrogate: must be followed by \u low surrogate.
                    guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate in \\u escape")
                    }
                    index += 2
                    let low = try parseHex4()
                    guard (0xdc00..<0xe000).contains(low) else { throw fail("unpaired surrogate in \\u escape") }
                    code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00)
                } else if (0xdc00..<0xe000).contains(code) {
                    throw fail("unpaired surrogate in \\u escape")
                }
                guard let scalar = Unicode.Scalar(code) else { throw fail("invalid \\u escape") }
                scratch.append(contentsOf: String(Character(scalar)).utf8)
            default:
                throw Failure(message: "invalid escape '\\\(Character(Unicode.Scalar(escape)))'", offset: index - 2)
            }
            segmentStart = index
        }
    }

    private mutating func parseHex4() throws -> UInt32 {
        guard bytes.count - index >= 4 else { throw fail("truncated \\u escape") }
        var code: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("invalid hex digit in \\u escape")
            }
            code = code << 4 | UInt32(digit)
            index += 1
        }
        return code
    }
}
