import Foundation

/// Resident memory from `/proc/PID/status`, read by the trial worker (its own peak) and by the
/// agent watching a worker against its memory limit.
public enum ProcessMemory {
    /// `VmHWM`: the peak resident set, in KiB.
    public static func peakResidentKB(pid: String = "self", proc: String = "/proc") -> Int? {
        field("VmHWM", pid: pid, proc: proc)
    }

    /// `VmRSS`: the resident set now, in KiB.
    public static func residentKB(pid: String = "self", proc: String = "/proc") -> Int? {
        field("VmRSS", pid: pid, proc: proc)
    }

    /// Parses a `Name:   1234 kB` line out of a status file's text.
    public static func parse(_ name: String, status: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            let number = line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first
            return number.flatMap { Int($0) }
        }
        return nil
    }

    private static func field(_ name: String, pid: String, proc: String) -> Int? {
        // procfs files report size 0: read them like sysfs files, to EOF.
        guard let status = try? DirectorySysfs(root: proc).read("\(pid)/status") else { return nil }
        return parse(name, status: status)
    }
}
