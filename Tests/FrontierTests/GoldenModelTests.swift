import Foundation
import Testing
@testable import FrontierEngine
@testable import FrontierTasks


/// Logits against Hugging Face transformers (fp32, eager attention) on the goldens written by
/// tools/make_goldens.py. Random checkpoints are regenerated here from the shared PRNG and
/// written through `SafetensorsWriter`, so the whole load path is exercised.
@Suite struct GoldenModelTests {
    static let tolerance: Float = 1e-4

    @Test func prngMatchesPythonReference() throws {
        let manifest = try Golden.load("manifest.json")
        let references = manifest["prng_reference"] as? [[String: Any]] ?? []
        #expect(!references.isEmpty)
        for reference in references {
            let name = reference["name"] as? String ?? ""
            let index = reference["index"] as? Int ?? 0
            let bits = UInt32((reference["bits"] as? String ?? "").dropFirst(2), radix: 16)
            let value = DeterministicWeights.values(name: name, count: index + 1)[index]
            #expect(value.bitPattern == bits, "\(name)[\(index)] = \(value)")
        }
    }

    /// Writes config.json + model.safetensors for a golden's random checkpoint and loads it.
    static func randomCheckpoint(_ golden: [String: Any]) throws -> EncoderModel {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("frontier-golden-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try JSONSerialization.data(withJSONObject: golden["config"] ?? [:])
        try config.write(to: folder.appendingPathComponent("config.json"))
        let tensors = (golden["tensors"] as? [[String: Any]] ?? []).map { entry -> SafetensorsWriter.Tensor in
            let name = entry["name"] as? String ?? ""
            let shape = (entry["shape"] as? [Int]) ?? []
            return SafetensorsWriter.Tensor(name: name, dtype: .f32, shape: shape,
                                            values: DeterministicWeights.values(name: name, count: shape.reduce(1, *)))
        }
        try SafetensorsWriter.write(tensors, to: folder.appendingPathComponent("model.safetensors"))
        return try EncoderModel.load(directory: folder)
    }

    static func batch(_ golden: [String: Any]) -> EncoderBatch {
        var batch = EncoderBatch()
        for input in golden["inputs"] as? [[String: Any]] ?? [] {
            batch.append(ids: Golden.ints(input["input_ids"]), typeIds: Golden.ints(input["token_type_ids"]))
        }
        return batch
    }

    static func maxDifference(_ a: [[Float]], _ b: [[Float]]) -> Float {
        guard a.count == b.count, zip(a, b).allSatisfy({ $0.count == $1.count }) else { return .infinity }
        return zip(a, b).flatMap { zip($0, $1).map { abs($0 - $1) } }.max() ?? .infinity
    }

    @Test(arguments: ["random_bert_base.json", "random_distilbert.json", "random_bert_regression.json"])
    func classificationLogitsMatchTransformers(file: String) throws {
        let golden = try Golden.load(file)
        let model = try Self.randomCheckpoint(golden)
        let output = try model.forward(Self.batch(golden), workspace: Workspace(threads: 2))
        let difference = Self.maxDifference(output.logits, Golden.matrix(golden["logits"]))
        print("\(file): max |logits - transformers| = \(difference)")
        #expect(difference < Self.tolerance, "\(file): max |logits - transformers| = \(difference)")
    }

    @Test func spanLogitsMatchTransformers() throws {
        let golden = try Golden.load("random_bert_qa.json")
        let model = try Self.randomCheckpoint(golden)
        let output = try model.forward(Self.batch(golden), workspace: Workspace())
        let start = Self.maxDifference(output.startLogits, Golden.matrix(golden["start_logits"]))
        let end = Self.maxDifference(output.endLogits, Golden.matrix(golden["end_logits"]))
        print("random_bert_qa.json: max |start - transformers| = \(start), |end - transformers| = \(end)")
        #expect(start < Self.tolerance && end < Self.tolerance)
    }

    /// All 872 SST-2 dev sentences through our tokenizer and engine against transformers'
    /// logits: same predictions, logits within 1e-4.
    @Test(.needsShared("models/minilm-l6-sst2/model.safetensors", "data/glue/SST-2/dev.tsv")) func minilmSST2MatchesTransformersOnEveryDevSentence() throws {
        let golden = try Golden.load("minilm_sst2_logits.json")
        let checkpoint = try Checkpoint.load(directory: SharedData.path("models/minilm-l6-sst2"))
        let examples = try SST2Reader.read(path: SharedData.path("data/glue/SST-2/dev.tsv").path)
        let encodings = examples.map { checkpoint.tokenizer.encode($0.textA, maxLength: 128) }
        #expect(encodings.map(\.count) == (golden["num_tokens"] as? [Int] ?? []))
        let logits = try Self.logits(checkpoint.model, encodings)
        let expected = Golden.matrix(golden["logits"])
        let difference = Self.maxDifference(logits, expected)
        let predictions = logits.map { $0[1] > $0[0] ? 1 : 0 }
        print("minilm-l6-sst2 SST-2 dev: max |logits - transformers| = \(difference); accuracy \(Double(zip(predictions, examples).filter { $0 == $1.label }.count) / Double(examples.count))")
        #expect(difference < Self.tolerance)
        #expect(predictions == (golden["predictions"] as? [Int] ?? []))
    }

    /// MRPC pairs with fp16-stored weights (upcast to fp32 at load, as transformers does).
    @Test(.needsShared("models/minilm-l6-mrpc/model.safetensors", "data/glue/MRPC/dev.tsv")) func minilmMRPCMatchesTransformersOnEveryDevPair() throws {
        let golden = try Golden.load("minilm_mrpc_logits.json")
        let checkpoint = try Checkpoint.load(directory: SharedData.path("models/minilm-l6-mrpc"))
        let file = try TSVFile(path: SharedData.path("data/glue/MRPC/dev.tsv").path)
        let encodings = file.rows.dropFirst().map { checkpoint.tokenizer.encode($0.fields[3], pair: $0.fields[4], maxLength: 128) }
        let logits = try Self.logits(checkpoint.model, encodings)
        let difference = Self.maxDifference(logits, Golden.matrix(golden["logits"]))
        print("minilm-l6-mrpc MRPC dev: max |logits - transformers| = \(difference)")
        #expect(difference < Self.tolerance)
        #expect(logits.map { $0[1] > $0[0] ? 1 : 0 } == (golden["predictions"] as? [Int] ?? []))
    }

    static func logits(_ model: EncoderModel, _ encodings: [Encoding]) throws -> [[Float]] {
        let workspace = Workspace(threads: 2)
        var logits: [[Float]] = []
        for start in stride(from: 0, to: encodings.count, by: 32) {
            let batch = EncoderBatch(Array(encodings[start..<min(start + 32, encodings.count)]))
            logits += try model.forward(batch, workspace: workspace).logits
        }
        return logits
    }
}
