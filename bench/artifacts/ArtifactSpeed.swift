// Speeds of the artifact layer on this machine: our SHA-256 on a buffer in memory, the store's
// append + complete of a file against `cp` of it, and packing/unpacking a checkpoint-sized
// folder. Built and run by bench/artifacts_speed.sh against the release build's modules; not a
// test, since timings depend on the machine and its load.
import Foundation
import FrontierArtifacts
import FrontierSupport

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// The best of `repeats` runs: the least disturbed by the other work on the machine.
func best(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<repeats { times.append(try seconds(body)) }
    return times.min()!
}

func rate(_ bytes: Int, _ time: Double) -> String { String(format: "%7.0f MB/s (%.3f s)", Double(bytes) / 1e6 / time, time) }

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    print("usage: artifact-speed SOURCE_FILE WORK_FOLDER")
    exit(2)
}
let source = URL(fileURLWithPath: arguments[1])
let work = URL(fileURLWithPath: arguments[2])
let data = try Data(contentsOf: source)
let size = data.count
let repeats = 3
print("file: \(size) bytes")

// SHA-256 of the buffer, no I/O.
var digest = ""
let hashTime = best(repeats) {
    var hasher = SHA256()
    data.withUnsafeBytes { hasher.update(bytes: $0) }
    digest = hasher.finalize()
}
print("SHA256 in memory            \(rate(size, hashTime))")
let hash = try ArtifactHash(hex: digest)

// cp of the same file (page cache to page cache, no flush, as cp does).
let cpTime = try best(repeats) {
    let copy = work.appendingPathComponent("copy")
    try? FileManager.default.removeItem(at: copy)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/cp")
    process.arguments = [source.path, copy.path]
    try process.run()
    process.waitUntilExit()
}
print("cp                          \(rate(size, cpTime))")
// cp, then the copy flushed to the disk (`sync FILE`): what the store's durability costs on top.
let cpSyncTime = try best(repeats) {
    let copy = work.appendingPathComponent("copy")
    try? FileManager.default.removeItem(at: copy)
    for (tool, arguments) in [("/bin/cp", [source.path, copy.path]), ("/bin/sync", [copy.path])] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
    }
}
print("cp + sync of the copy        \(rate(size, cpSyncTime))")

// The store: 1 MiB chunks read from the file (as they would arrive), then complete, which
// flushes, hashes the partial and renames it. Once per checkpoint interval setting.
for interval in [Int64(32 << 20), Int64(8 << 20), Int64(1 << 20)] {
    var appendTimes: [Double] = [], completeTimes: [Double] = []
    for _ in 0..<repeats {
        let root = work.appendingPathComponent("store")
        try? FileManager.default.removeItem(at: root)
        let store = try ArtifactStore(root: root, settings: .init(checkpointInterval: interval))
        let input = try FileHandle(forReadingFrom: source)
        defer { try? input.close() }
        appendTimes.append(try seconds {
            var offset: Int64 = 0
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                offset = try store.append(hash, offset: offset, bytes: chunk, declaredSize: Int64(size))
            }
        })
        completeTimes.append(try seconds { try store.complete(hash, declaredSize: Int64(size)) })
    }
    let total = zip(appendTimes, completeTimes).map { $0 + $1 }.min()!
    print("store append+complete, flush every \(interval >> 20) MiB \(rate(size, total))  = \(String(format: "%.0f", 100 * cpTime / total)) % of cp, "
          + String(format: "%.0f", 100 * cpSyncTime / total) + " % of cp + sync"
          + String(format: " (appends %.3f s, complete %.3f s)", appendTimes.min()!, completeTimes.min()!))
}

// Reading it back for a download, 1 MiB at a time.
let store = try ArtifactStore(root: work.appendingPathComponent("store"))
let readTime = try best(repeats) {
    var offset: Int64 = 0
    while true {
        let chunk = try store.readChunk(hash, offset: offset, maxBytes: 1 << 20)
        if chunk.isEmpty { break }
        offset += Int64(chunk.count)
    }
}
print("store readChunk (1 MiB)     \(rate(size, readTime))")

// A checkpoint folder with the file as its weights, packed and unpacked.
let folder = work.appendingPathComponent("checkpoint")
try? FileManager.default.removeItem(at: folder)
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
try FileManager.default.copyItem(at: source, to: folder.appendingPathComponent("model.safetensors"))
try Data(#"{"model_type": "bert"}"#.utf8).write(to: folder.appendingPathComponent("config.json"))
let archive = work.appendingPathComponent("checkpoint.tar")
let packTime = try best(repeats) { try ArtifactArchive.pack(folder: folder, to: archive) }
print("archive pack (hash included) \(rate(size, packTime))")
let unpackTime = try best(repeats) {
    let out = work.appendingPathComponent("unpacked")
    try? FileManager.default.removeItem(at: out)
    try ArtifactArchive.unpack(archive, into: out)
}
print("archive unpack (flushed)    \(rate(size, unpackTime))")
