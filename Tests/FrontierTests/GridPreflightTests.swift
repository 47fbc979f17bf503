import Foundation
import Testing
@testable import FrontierEngine
@testable import FrontierGrid


/// The coordinator's check before the first trial: each way a grid cannot work is one problem
/// naming its file, found without running anything.
@Suite struct GridPreflightTests {
    /// A grid over `models` (paths) and `tasks` with the test fixtures' GLUE data unless `data`.
    static func points(models: [String], tasks: [String] = ["SST-2"], data: String = RunCommandTests.glue,
                       variants: String = "  - { name: dense, techniques: [] }") throws -> [SweepPoint] {
        let text = """
            name: preflight
            data_root: \(data)
            tasks: [\(tasks.joined(separator: ", "))]
            models: [\(models.map { "\"\($0)\"" }.joined(separator: ", "))]
            variants:
            \(variants)
            """
        return try SweepGrid(file: GridFile.parse(text: text, source: "preflight.yaml")).points
    }

    static func check(_ points: [SweepPoint], files: GridPreflight.Files = .required) -> GridPreflight.Report {
        GridPreflight(files: files, environment: [:], sharedRoot: URL(fileURLWithPath: "/nonexistent-shared")).check(points)
    }

    @Test func aGoodGridPasses() throws {
        let model = try AgentCommandLineTests.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: model) }
        let report = Self.check(try Self.points(models: [model.path], variants: """
              - { name: dense, techniques: [] }
              - { name: int8, techniques: [{ name: quantization, mode: int8 }] }
            """))
        #expect(report.ok, "\(report.problems)")
        #expect(report.modelsChecked == 1 && report.dataChecked == 1 && report.configurationsChecked == 2)
    }

    @Test func aMissingModelIsNamedOnceForAllItsPoints() throws {
        let report = Self.check(try Self.points(models: ["/nonexistent/models/gone"], tasks: ["SST-2", "MRPC"]))
        #expect(report.problems.count == 1)
        let problem = try #require(report.problems.first)
        #expect(problem.subject == "/nonexistent/models/gone" && problem.pointCount == 2)
        #expect("\(problem)".contains("model folder not found"))
    }

    @Test func missingDataIsNamed() throws {
        let model = try AgentCommandLineTests.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: model) }
        let report = Self.check(try Self.points(models: [model.path], data: "/nonexistent/glue"))
        #expect(report.problems.map(\.subject) == ["/nonexistent/glue/SST-2/dev.tsv"])
    }

    @Test func aBrokenCheckpointIsNamedByFile() throws {
        let model = try AgentCommandLineTests.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: model) }
        // A config that says 3 layers over weights with 2.
        let config = model.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "\"num_hidden_layers\": 2",
                                                                                       with: "\"num_hidden_layers\": 3")
        try text.write(to: config, atomically: true, encoding: .utf8)
        var report = Self.check(try Self.points(models: [model.path]))
        #expect(report.problems.first?.subject == model.appendingPathComponent("model.safetensors").path)
        #expect(report.problems.first?.message.contains("encoder.layer.2") == true, "\(report.problems)")

        try FileManager.default.removeItem(at: model.appendingPathComponent("vocab.txt"))
        report = Self.check(try Self.points(models: [model.path]))
        #expect(report.problems.first?.subject == model.appendingPathComponent("vocab.txt").path, "\(report.problems)")

        try "{ not json".write(to: config, atomically: true, encoding: .utf8)
        report = Self.check(try Self.points(models: [model.path]))
        #expect(report.problems.first?.subject == config.path, "\(report.problems)")
    }

    @Test func aHeadThatDoesNotFitItsTaskIsNamed() throws {
        let model = try AgentCommandLineTests.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: model) }
        // Two classes: fine for SST-2 and MRPC, not for MNLI (three) or STS-B (a regression).
        let report = Self.check(try Self.points(models: [model.path], tasks: ["SST-2", "MNLI", "STS-B"]))
        let messages = report.problems.map(\.message)
        #expect(report.problems.count == 2, "\(report.problems)")
        #expect(messages.contains { $0.contains("MNLI needs at least 3") })
        #expect(messages.contains { $0.contains("STS-B is a regression task") })
        #expect(report.problems.allSatisfy { $0.subject.hasSuffix("config.json") })
    }

    /// A grid may fine-tune a model for a task it has no head for (a bare encoder, or one tuned on
    /// another task): the trained points run on the stage's checkpoint, which has one. Its
    /// untrained points are still checked.
    @Test func trainedPointsAreNotHeldToTheBaseModelsHead() throws {
        let model = try AgentCommandLineTests.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: model) }
        let report = Self.check(try Self.points(models: [model.path], tasks: ["STS-B"], variants: """
              - { name: finetuned, baseline: true, train: { epochs: 1 }, techniques: [] }
              - { name: finetuned-int8, train: { epochs: 1 }, techniques: [{ name: quantization, mode: int8 }] }
              - { name: int8, techniques: [{ name: quantization, mode: int8 }] }
            """))
        #expect(report.problems.count == 1, "\(report.problems)")
        #expect(report.problems.first?.message.contains("STS-B is a regression task") == true)
        #expect(report.problems.first?.points == ["int8 on STS-B with \(model.lastPathComponent)"], "\(report.problems)")
    }

    @Test func aModelFineTunedOnAnotherTaskIsNamed() throws {
        let model = try AgentCommandLineTests.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: model) }
        try #"{"task": "sst2", "dev_accuracy": 0.9}"#.write(to: model.appendingPathComponent("training.json"),
                                                            atomically: true, encoding: .utf8)
        let report = Self.check(try Self.points(models: [model.path], tasks: ["SST-2", "MRPC"]))
        let problem = try #require(report.problems.first)
        #expect(report.problems.count == 1)
        #expect(problem.subject == model.appendingPathComponent("training.json").path)
        #expect(problem.message.contains("fine-tuned on sst2, not MRPC"))
        #expect(problem.points == ["dense on MRPC with \(model.lastPathComponent)"])
    }

    @Test func serveChecksOnlyWhatIsHereUnlessAsked() throws {
        let points = try Self.points(models: ["/nonexistent/models/gone"], data: "/nonexistent/glue")
        let lenient = Self.check(points, files: .whereFound)
        #expect(lenient.ok)
        #expect(lenient.notes.count == 2, "\(lenient.notes)")
        let strict = Self.check(points, files: .required)
        #expect(strict.problems.count == 2)
        // An empty folder is not this machine's copy of the model either; a broken copy is checked.
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("frontier-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(Self.check(try Self.points(models: [empty.path]), files: .whereFound).ok)
        try "{}".write(to: empty.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        #expect(Self.check(try Self.points(models: [empty.path]), files: .whereFound).problems.first?.subject
                == empty.appendingPathComponent("config.json").path)
    }

    @Test func sharedPathsExpandAsOnTheAgent() throws {
        let model = try AgentCommandLineTests.tinyCheckpoint()
        defer { try? FileManager.default.removeItem(at: model) }
        let shared = model.deletingLastPathComponent()
        let points = try Self.points(models: ["${FRONTIER_SHARED}/\(model.lastPathComponent)"])
        let report = GridPreflight(files: .required, environment: [:], sharedRoot: shared).check(points)
        #expect(report.ok, "\(report.problems)")
        // An unset variable with no fallback cannot be resolved here: named, under local's rule.
        let unset = try Self.points(models: ["${FRONTIER_NO_SUCH_VARIABLE}/m"])
        let named = GridPreflight(files: .required, environment: [:], sharedRoot: shared).check(unset)
        #expect(named.problems.first?.message.contains("FRONTIER_NO_SUCH_VARIABLE") == true, "\(named.problems)")
    }
}
