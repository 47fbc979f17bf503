import Foundation
import FrontierWire

/// Finished results waiting for the coordinator's Ack, one file each in the spool folder.
/// A result is written (to a temporary name, fsync'd, renamed) before it is first sent and
/// removed only on Ack, so neither the agent crashing nor the coordinator vanishing loses a
/// measurement: the next connection re-sends whatever is here.
public struct ResultSpool: Sendable {
    public let folder: URL

    public init(folder: URL) throws {
        self.folder = folder
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw SweepAgentError.spool(folder.path, "cannot create the spool folder: \(error.localizedDescription)")
        }
    }

    func url(trialId: String, attempt: UInt32) -> URL {
        // Trial ids are grid keys plus a device class: keep only filename-safe characters.
        let safe = String(trialId.map { $0.isLetter || $0.isNumber || "-_.@".contains($0) ? $0 : "_" })
        return folder.appendingPathComponent("\(safe).a\(attempt).result.pb")
    }

    public func put(_ result: WireResult) throws {
        let target = url(trialId: result.trialID, attempt: result.attempt)
        let temporary = folder.appendingPathComponent(".\(UUID().uuidString).tmp")
        let data = (try? result.serializedData()) ?? Data()
        guard FileManager.default.createFile(atPath: temporary.path, contents: data) else {
            throw SweepAgentError.spool(temporary.path, "cannot write a spooled result")
        }
        let fd = open(temporary.path, O_RDONLY)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
        guard rename(temporary.path, target.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw SweepAgentError.spool(target.path, "cannot rename a spooled result into place: \(reason)")
        }
    }

    public func remove(trialId: String, attempt: UInt32) {
        try? FileManager.default.removeItem(at: url(trialId: trialId, attempt: attempt))
    }

    /// Every spooled result, oldest first; unreadable files are reported and set aside with a
    /// `.corrupt` suffix rather than re-sent forever.
    public func all(report: (String) -> Void = { _ in }) -> [WireResult] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var out: [(Date, WireResult)] = []
        for name in names where name.hasSuffix(".result.pb") {
            let path = folder.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path.path),
                  let result = try? WireResult(serializedBytes: data), !result.trialID.isEmpty
            else {
                report("\(path.path): unreadable spooled result; renamed to .corrupt")
                _ = rename(path.path, path.path + ".corrupt")
                continue
            }
            let date = (try? FileManager.default.attributesOfItem(atPath: path.path)[.modificationDate] as? Date) ?? Date()
            out.append((date, result))
        }
        return out.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
