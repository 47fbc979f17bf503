import Foundation
import Testing

/// What the outside agent (`Tests/python/outside_agent.py`) needs: a Python 3 that can
/// `import zmq, google.protobuf` (Debian: python3-zmq, python3-protobuf) and `protoc` on PATH
/// (protobuf-compiler) to generate `frontier_pb2` from proto/frontier.proto at test time.
enum PythonWire {
    static let script = SharedData.packageRoot.appendingPathComponent("Tests/python/outside_agent.py")
    static let proto = SharedData.packageRoot.appendingPathComponent("proto/frontier.proto")

    /// `/usr/bin/python3` first (a pyenv shim earlier on PATH usually lacks the Debian
    /// modules), then `python3` on PATH; the first that imports both modules.
    static let python: URL? = {
        let candidates = [URL(fileURLWithPath: "/usr/bin/python3")] + onPath("python3")
        return candidates.first { url in
            guard FileManager.default.isExecutableFile(atPath: url.path) else { return false }
            return (try? exitStatus(url, ["-c", "import zmq, google.protobuf"])) == 0
        }
    }()

    static let protoc: URL? = onPath("protoc").first

    /// Why the outside agent cannot run here; empty when it can.
    static let missing: [String] = {
        var problems: [String] = []
        if python == nil {
            problems.append("no python3 (/usr/bin/python3, then PATH) imports zmq and google.protobuf (apt install python3-zmq python3-protobuf)")
        }
        if protoc == nil { problems.append("no protoc on PATH (apt install protobuf-compiler)") }
        if !FileManager.default.fileExists(atPath: script.path) { problems.append("\(script.path) is absent") }
        return problems
    }()

    static func onPath(_ name: String) -> [URL] {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map {
            URL(fileURLWithPath: String($0)).appendingPathComponent(name)
        }.filter { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Runs a short probe with its output discarded; its exit status (killed after 20 s).
    static func exitStatus(_ executable: URL, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Generates `frontier_pb2.py` into `folder` (created) from proto/frontier.proto.
    static func generate(into folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let status = try exitStatus(protoc!, ["--python_out=\(folder.path)", "-I", proto.deletingLastPathComponent().path,
                                              proto.path])
        try #require(status == 0, "protoc --python_out failed (status \(status))")
    }
}

extension Trait where Self == ConditionTrait {
    /// Python with pyzmq and protobuf, and protoc: the outside agent's tests.
    static var needsPythonWire: Self {
        .enabled(if: PythonWire.missing.isEmpty,
                 Comment(rawValue: "needs python wire: \(PythonWire.missing.joined(separator: "; "))"))
    }
}
