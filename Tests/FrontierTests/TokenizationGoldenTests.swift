import Foundation
import Testing
@testable import FrontierEngine
@testable import FrontierTasks
import FrontierSupport


/// Every SST-2 and MRPC dev text and every SQuAD v1.1 dev question and context through our
/// tokenizer, hashed the way tools/make_goldens.py hashed `BertTokenizerFast`'s output.
@Suite struct TokenizationGoldenTests {
    static let vocab = "models/minilm-l6-sst2/vocab.txt"

    static func hash(_ rows: [[String]]) -> String {
        var hasher = SHA256()
        for (index, row) in rows.enumerated() {
            if index > 0 { hasher.update([0x0A]) }
            hasher.update(row.joined(separator: " ").utf8)
        }
        return hasher.finalize()
    }

    static func idRows(_ encodings: [Encoding]) -> [[String]] { encodings.map { $0.ids.map(String.init) } }
    static func offsetRows(_ encodings: [Encoding]) -> [[String]] {
        encodings.map { $0.offsets.map { "\($0.lowerBound):\($0.upperBound)" } }
    }

    @Test func sha256MatchesKnownVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(String(repeating: "a", count: 1000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test(.needsShared(Self.vocab, "data/glue/MRPC/dev.tsv")) func sst2AndMRPCMatchBertTokenizerFast() throws {
        let golden = try Golden.load("tokenization.json")
        let tokenizer = try BertTokenizer.load(directory: SharedData.path("models/minilm-l6-sst2"))

        let sst2 = try TSVFile(path: SharedData.path("data/glue/SST-2/dev.tsv").path).rows.dropFirst().map { $0.fields[0] }
        let sst2Encodings = sst2.map { tokenizer.encode($0) }
        let sst2Golden = golden["sst2_dev"] as? [String: Any] ?? [:]
        #expect(sst2.count == sst2Golden["count"] as? Int)
        #expect(Self.hash(Self.idRows(sst2Encodings)) == sst2Golden["ids_sha256"] as? String)
        #expect(Self.hash(Self.offsetRows(sst2Encodings)) == sst2Golden["offsets_sha256"] as? String)

        let mrpc = try TSVFile(path: SharedData.path("data/glue/MRPC/dev.tsv").path).rows.dropFirst()
        let mrpcEncodings = mrpc.map { tokenizer.encode($0.fields[3], pair: $0.fields[4]) }
        let mrpcGolden = golden["mrpc_dev"] as? [String: Any] ?? [:]
        #expect(mrpcEncodings.count == mrpcGolden["count"] as? Int)
        #expect(Self.hash(Self.idRows(mrpcEncodings)) == mrpcGolden["ids_sha256"] as? String)
        #expect(Self.hash(mrpcEncodings.map { $0.typeIds.map(String.init) }) == mrpcGolden["type_ids_sha256"] as? String)
    }

    @Test(.needsShared(Self.vocab, "data/squad/v1.1/dev-v1.1.json")) func squadQuestionsAndContextsMatchBertTokenizerFast() throws {
        let golden = try Golden.load("tokenization.json")
        let tokenizer = try BertTokenizer.load(directory: SharedData.path("models/minilm-l6-sst2"))
        let data = try Data(contentsOf: SharedData.path("data/squad/v1.1/dev-v1.1.json"))
        let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        var questions: [String] = [], contexts: [String] = [], seen = Set<String>()
        for article in root["data"] as? [[String: Any]] ?? [] {
            for paragraph in article["paragraphs"] as? [[String: Any]] ?? [] {
                let context = paragraph["context"] as? String ?? ""
                if seen.insert(context).inserted { contexts.append(context) }
                for qa in paragraph["qas"] as? [[String: Any]] ?? [] { questions.append(qa["question"] as? String ?? "") }
            }
        }
        let questionGolden = golden["squad_dev_questions"] as? [String: Any] ?? [:]
        #expect(questions.count == questionGolden["count"] as? Int)
        #expect(Self.hash(Self.idRows(questions.map { tokenizer.encode($0) })) == questionGolden["ids_sha256"] as? String)

        let contextGolden = golden["squad_dev_contexts"] as? [String: Any] ?? [:]
        let contextEncodings = contexts.map { tokenizer.encode($0) }
        #expect(contexts.count == contextGolden["count"] as? Int)
        #expect(Self.hash(Self.idRows(contextEncodings)) == contextGolden["ids_sha256"] as? String)
        #expect(Self.hash(Self.offsetRows(contextEncodings)) == contextGolden["offsets_sha256"] as? String)
    }
}
