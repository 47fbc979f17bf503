/// Why an archive could not be written or read back, with where: the archive's path, the entry
/// being handled (when there is one) and the byte offset of its header in the archive.
public struct ArtifactArchiveError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Problem: Error, Equatable, Sendable {
        /// The archive ends inside a header, inside an entry's data, or before the two zero
        /// blocks that close a tar archive (so a cut at an entry boundary is noticed too).
        case truncated
        case checksumMismatch(stored: Int, computed: Int)
        /// No "ustar" magic: an old-style or foreign header.
        case notUstar
        /// A numeric header field that is not octal digits (base-256 sizes are not accepted).
        case badNumber(field: String)
        /// An absolute path, a `..` or `.` component, an empty component, a non-UTF-8 name, or a
        /// file below something the archive already made a file.
        case unsafeName(reason: String)
        /// A type other than a regular file or a folder: links, devices, FIFOs, pax and GNU
        /// extension headers (the ASCII type flag).
        case unsupportedType(flag: UInt8)
        /// A name that does not fit ustar's 100-byte name and 155-byte prefix fields.
        case nameTooLong(bytes: Int)
        /// Deeper than a checkpoint folder's files plus one level of subfolders.
        case tooDeep
        case duplicateEntry
        /// The entries' sizes add up past the limit given for this unpack.
        case tooLarge(size: Int64, limit: Int64)
        case tooManyEntries(limit: Int)
        /// Unpacking never merges into or replaces an existing folder.
        case destinationExists
        /// A source file grew or shrank while it was being packed.
        case sourceChanged
        /// A symbolic link, device, socket or FIFO in the folder being packed.
        case unsupportedFile
    }

    public let archive: String
    public let entry: String?
    public let offset: Int64?
    public let problem: Problem

    public init(archive: String, entry: String? = nil, offset: Int64? = nil, problem: Problem) {
        self.archive = archive
        self.entry = entry
        self.offset = offset
        self.problem = problem
    }

    public var description: String {
        var place = "archive \(archive)"
        if let entry { place += ", entry \"\(entry)\"" }
        if let offset { place += " at offset \(offset)" }
        return "\(place): \(problemText)"
    }

    private var problemText: String {
        switch problem {
        case .truncated: "the archive is truncated"
        case let .checksumMismatch(stored, computed): "header checksum \(stored) does not match the computed \(computed)"
        case .notUstar: "not a ustar header (no \"ustar\" magic)"
        case let .badNumber(field): "the \(field) field is not an octal number"
        case let .unsafeName(reason): "unsafe name: \(reason)"
        case let .unsupportedType(flag): "unsupported entry type '\(Character(Unicode.Scalar(flag)))' (only regular files and folders)"
        case let .nameTooLong(bytes): "name of \(bytes) bytes does not fit ustar's 100-byte name and 155-byte prefix"
        case .tooDeep: "nested deeper than one level of subfolders"
        case .duplicateEntry: "the name appears twice"
        case let .tooLarge(size, limit): "entries add up to \(size) bytes, over the limit of \(limit)"
        case let .tooManyEntries(limit): "more than \(limit) entries"
        case .destinationExists: "the destination folder already exists"
        case .sourceChanged: "the file changed size while it was being packed"
        case .unsupportedFile: "not a regular file or folder (links, devices and sockets are not packed)"
        }
    }
}
