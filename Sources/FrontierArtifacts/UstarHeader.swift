/// One 512-byte POSIX ustar header (IEEE Std 1003.1, "pax" utility, ustar interchange format),
/// restricted to what an artifact needs: regular files and folders, written with fixed owner,
/// mode and time so the same folder always gives the same bytes.
///
/// Field offsets: name 0 (100), mode 100 (8), uid 108 (8), gid 116 (8), size 124 (12),
/// mtime 136 (12), checksum 148 (8), type 156 (1), linkname 157 (100), magic 257 (6),
/// version 263 (2), uname 265 (32), gname 297 (32), devmajor 329 (8), devminor 337 (8),
/// prefix 345 (155).
struct UstarHeader: Equatable {
    enum Kind: Equatable {
        case file, folder
    }

    static let blockSize = 512
    /// 11 octal digits: 8 GiB - 1.
    static let maximumSize: Int64 = (1 << 33) - 1

    /// The path inside the archive, "/"-separated, without a folder's trailing slash.
    var path: String
    var kind: Kind
    var size: Int64

    /// The header block. Throws `nameTooLong` when the path fits neither the name field nor a
    /// prefix/name split at a slash.
    func encoded() throws(ArtifactArchiveError.Problem) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: Self.blockSize)
        let full = Array((kind == .folder ? path + "/" : path).utf8)
        let (prefix, name) = try Self.split(full)
        block.replaceSubrange(0..<name.count, with: name)
        block.replaceSubrange(345..<(345 + prefix.count), with: prefix)
        Self.putOctal(kind == .folder ? 0o755 : 0o644, into: &block, at: 100, width: 8)
        Self.putOctal(0, into: &block, at: 108, width: 8)
        Self.putOctal(0, into: &block, at: 116, width: 8)
        Self.putOctal(kind == .folder ? 0 : size, into: &block, at: 124, width: 12)
        Self.putOctal(0, into: &block, at: 136, width: 12)
        block[156] = kind == .folder ? UInt8(ascii: "5") : UInt8(ascii: "0")
        block.replaceSubrange(257..<265, with: Array("ustar\u{0}00".utf8))
        Self.putOctal(0, into: &block, at: 329, width: 8)
        Self.putOctal(0, into: &block, at: 337, width: 8)
        // The checksum is summed with its own field as spaces, then written as six octal
        // digits, a NUL and a space (what GNU and BSD tar write).
        block.replaceSubrange(148..<156, with: [UInt8](repeating: 0x20, count: 8))
        let sum = block.reduce(0) { $0 + Int($1) }
        Self.putOctal(Int64(sum), into: &block, at: 148, width: 7)
        block[155] = 0x20
        return block
    }

    /// The header in `block`, or nil for an all-zero block (the end-of-archive marker).
    /// The name is only decoded here; `validatedPath` judges it.
    static func decode(_ block: UnsafeRawBufferPointer) throws(ArtifactArchiveError.Problem) -> UstarHeader? {
        precondition(block.count == blockSize)
        if block.allSatisfy({ $0 == 0 }) { return nil }
        let stored = try octal(block, 148, 8, field: "checksum")
        var unsigned = 0, signed = 0
        for (index, byte) in block.enumerated() {
            let value = (148..<156).contains(index) ? 0x20 : byte
            unsigned += Int(value)
            signed += Int(Int8(bitPattern: value))
        }
        // Some historic writers summed signed bytes; both sums name the same header.
        guard stored == Int64(unsigned) || stored == Int64(signed) else {
            throw .checksumMismatch(stored: Int(stored), computed: unsigned)
        }
        guard Array(block[257..<262]) == Array("ustar".utf8) else { throw .notUstar }
        let kind: Kind
        switch block[156] {
        case UInt8(ascii: "0"), 0: kind = .file
        case UInt8(ascii: "5"): kind = .folder
        case let flag: throw .unsupportedType(flag: flag)
        }
        let size = try octal(block, 124, 12, field: "size")
        let name = field(block, 0, 100), prefix = field(block, 345, 155)
        var full = prefix.isEmpty ? name : prefix + [UInt8(ascii: "/")] + name
        if kind == .folder, full.last == UInt8(ascii: "/") { full.removeLast() }
        guard let path = String(validating: full, as: UTF8.self) else { throw .unsafeName(reason: "not UTF-8") }
        return UstarHeader(path: path, kind: kind, size: kind == .folder ? 0 : size)
    }

    /// Checks a path taken from an archive or a folder before anything is created from it:
    /// relative, no `.`/`..`/empty components, files at most one subfolder down, folders only
    /// at the top.
    static func validate(path: String, kind: Kind) throws(ArtifactArchiveError.Problem) {
        if path.isEmpty { throw .unsafeName(reason: "empty name") }
        if path.hasPrefix("/") { throw .unsafeName(reason: "absolute path") }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        for component in components {
            if component.isEmpty { throw .unsafeName(reason: "empty path component (a trailing or doubled \"/\")") }
            if component == ".." { throw .unsafeName(reason: "\"..\" component") }
            if component == "." { throw .unsafeName(reason: "\".\" component") }
        }
        if components.count > (kind == .folder ? 1 : 2) { throw .tooDeep }
    }

    /// ustar's name field takes 100 bytes; longer paths go into the 155-byte prefix up to a
    /// slash, the rest (at most 100 bytes, not empty) into the name.
    private static func split(_ full: [UInt8]) throws(ArtifactArchiveError.Problem) -> (prefix: [UInt8], name: [UInt8]) {
        if full.count <= 100 { return ([], full) }
        for index in full.indices where full[index] == UInt8(ascii: "/") {
            let prefix = Array(full[..<index]), name = Array(full[(index + 1)...])
            if prefix.count <= 155 && name.count <= 100 && !name.isEmpty { return (prefix, name) }
        }
        throw .nameTooLong(bytes: full.count)
    }

    /// `value` as zero-padded octal digits filling `width - 1` bytes, then a NUL.
    private static func putOctal(_ value: Int64, into block: inout [UInt8], at offset: Int, width: Int) {
        var remaining = value
        for index in stride(from: offset + width - 2, through: offset, by: -1) {
            block[index] = UInt8(ascii: "0") + UInt8(remaining & 7)
            remaining >>= 3
        }
        block[offset + width - 1] = 0
    }

    /// An octal field: optional leading spaces, digits, then NULs or spaces to the end.
    private static func octal(_ block: UnsafeRawBufferPointer, _ offset: Int, _ width: Int, field: String) throws(ArtifactArchiveError.Problem) -> Int64 {
        var value: Int64 = 0
        var index = offset
        let end = offset + width
        while index < end && block[index] == 0x20 { index += 1 }
        let firstDigit = index
        while index < end, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(block[index]) {
            value = value * 8 + Int64(block[index] - UInt8(ascii: "0"))
            index += 1
        }
        if index == firstDigit { throw .badNumber(field: field) }
        while index < end {
            guard block[index] == 0 || block[index] == 0x20 else { throw .badNumber(field: field) }
            index += 1
        }
        return value
    }

    /// A NUL-terminated (or full-width) text field's bytes.
    private static func field(_ block: UnsafeRawBufferPointer, _ offset: Int, _ width: Int) -> [UInt8] {
        Array(block[offset..<(offset + width)].prefix(while: { $0 != 0 }))
    }
}
