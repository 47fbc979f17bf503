import Foundation

/// The label that groups machines whose measurements may be compared with one another.
///
/// Reports put trials side by side only within a class, so the label must be the same on two
/// identical machines (hence no host names, clock speeds or core counts that a BIOS setting or
/// a VM size changes) and differ between different hardware. A GPU decides a GPU trial's
/// numbers, so the first GPU's name wins over the CPU's. Labels are slugs, `[a-z0-9-]`, at most
/// 64 characters, so they are safe as file names and report keys and always pass `validated`.
public enum DeviceClass {
    /// Why an override was refused, with the offending name.
    public struct InvalidName: Error, CustomStringConvertible, LocalizedError, Equatable, Sendable {
        public let name: String
        public let reason: String

        public var description: String {
            "invalid device class \"\(name)\": \(reason); use at most \(DeviceClass.maximumLength) characters of a-z, 0-9, '.', '_' and '-'"
        }

        public var errorDescription: String? { description }
    }

    public static let maximumLength = 64

    /// Groups comparable machines: the first GPU's name when there is a GPU (e.g.
    /// "nvidia-h100-80gb-hbm3"), else the CPU model, slugged: lowercase, drop "(R)", "(TM)",
    /// "CPU", "Processor", a trailing "@ 2.10GHz" and "N-Core" words, runs of non-alphanumerics
    /// → "-", trimmed. "Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz" → "intel-xeon-platinum-8480";
    /// "AMD EPYC 9654 96-Core Processor" → "amd-epyc-9654". Unknown → "unknown-cpu".
    public static func automatic(cpuModel: String, gpuNames: [String]) -> String {
        if let gpu = gpuNames.first {
            let slug = slug(gpu)
            if !slug.isEmpty { return slug }
        }
        let slug = slug(cpuModel)
        return slug.isEmpty || slug == "unknown" ? "unknown-cpu" : slug
    }

    /// Validates an override: non-empty, at most 64 characters of [a-z0-9._-] after lowercasing.
    /// Returns the lowercased name, so "H100-Lab" and "h100-lab" are one class.
    public static func validated(_ name: String) throws(InvalidName) -> String {
        let lowered = name.lowercased()
        guard !lowered.isEmpty else { throw InvalidName(name: name, reason: "it is empty") }
        guard lowered.count <= maximumLength else {
            throw InvalidName(name: name, reason: "it has \(lowered.count) characters")
        }
        if let bad = lowered.unicodeScalars.first(where: { !isAllowedInOverride($0) }) {
            throw InvalidName(name: name, reason: "it contains \(bad.escaped(asASCII: true).debugDescription)")
        }
        return lowered
    }

    static func isAllowedInOverride(_ scalar: Unicode.Scalar) -> Bool {
        isASCIIAlphanumeric(scalar) || scalar == "." || scalar == "_" || scalar == "-"
    }

    static func isASCIIAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
    }

    /// The slug of a marketing name; empty when nothing alphanumeric is left.
    static func slug(_ name: String) -> String {
        var text = name
        for mark in ["(R)", "(TM)"] {
            text = text.replacingOccurrences(of: mark, with: " ", options: .caseInsensitive)
        }
        text = droppingTrailingFrequency(text)
        let words = text.split(whereSeparator: \.isWhitespace).filter { !isNoiseWord($0) }
        var slug = ""
        var pendingDash = false
        for scalar in words.joined(separator: " ").lowercased().unicodeScalars {
            if isASCIIAlphanumeric(scalar) {
                if pendingDash && !slug.isEmpty { slug.append("-") }
                pendingDash = false
                slug.unicodeScalars.append(scalar)
            } else {
                pendingDash = true
            }
        }
        if slug.count > maximumLength {
            slug = String(slug.prefix(maximumLength))
            while slug.hasSuffix("-") { slug.removeLast() }
        }
        return slug
    }

    /// "… @ 2.10GHz" → "…": the nominal clock differs between SKUs' bins of one part and says
    /// nothing the model number does not.
    static func droppingTrailingFrequency(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@") else { return text }
        let tail = text[text.index(after: at)...].trimmingCharacters(in: .whitespaces).lowercased()
        guard tail.hasSuffix("ghz") || tail.hasSuffix("mhz") else { return text }
        let number = tail.dropLast(3).trimmingCharacters(in: .whitespaces)
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) else {
            return text
        }
        return String(text[..<at])
    }

    /// "CPU", "Processor" and core-count words ("96-Core", "64-Cores", "Quad-Core"): the count is
    /// implied by the model, and some VMs rewrite it.
    static func isNoiseWord(_ word: Substring) -> Bool {
        let lowered = word.lowercased()
        if lowered == "cpu" || lowered == "processor" { return true }
        for suffix in ["-core", "-cores"] where lowered.hasSuffix(suffix) {
            let head = lowered.dropLast(suffix.count)
            if !head.isEmpty && head.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) { return true }
        }
        return false
    }
}
