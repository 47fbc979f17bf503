import Foundation
import Testing
@testable import FrontierEngine


@Suite struct ModelConfigTests {
    static func parse(_ json: String) throws -> ModelConfig {
        try ModelConfig(json: Data(json.utf8), source: "config.json")
    }

    @Test func bertConfigReadsHuggingFaceKeys() throws {
        let c = try Self.parse("""
            {"model_type": "bert", "vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6,
             "num_attention_heads": 12, "intermediate_size": 1536, "max_position_embeddings": 512,
             "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu",
             "id2label": {"0": "negative", "1": "positive"}, "architectures": ["BertForSequenceClassification"]}
            """)
        #expect(c.family == .bert && c.hiddenSize == 384 && c.numLayers == 6 && c.headDim == 32)
        #expect(c.labels == ["negative", "positive"])
        #expect(!c.isRegression)
    }

    @Test func distilbertConfigReadsItsOwnKeys() throws {
        let c = try Self.parse("""
            {"model_type": "distilbert", "vocab_size": 1000, "dim": 768, "n_layers": 6, "n_heads": 12,
             "hidden_dim": 3072, "max_position_embeddings": 512, "activation": "gelu"}
            """)
        #expect(c.family == .distilbert && c.hiddenSize == 768 && c.intermediateSize == 3072 && c.typeVocabSize == 0)
    }

    @Test func singleLabelMeansRegression() throws {
        let c = try Self.parse("""
            {"model_type": "bert", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1,
             "num_attention_heads": 2, "intermediate_size": 8, "num_labels": 1}
            """)
        #expect(c.isRegression && c.numLabels == 1)
    }

    @Test func unknownModelTypeListsSupportedOnes() {
        #expect {
            try Self.parse(#"{"model_type": "gpt2"}"#)
        } throws: { error in
            "\(error)".contains("'gpt2' is not supported") && "\(error)".contains("bert, distilbert")
        }
    }

    @Test(arguments: [
        "not json",
        "[1, 2]",
        #"{"vocab_size": 10}"#,
        #"{"model_type": "bert", "vocab_size": "ten", "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8}"#,
        #"{"model_type": "bert", "vocab_size": 10, "hidden_size": 9, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8}"#,
        #"{"model_type": "bert", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8, "hidden_act": "swish"}"#,
        #"{"model_type": "bert", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": true, "num_attention_heads": 2, "intermediate_size": 8}"#,
        #"{"model_type": "bert", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 0, "num_attention_heads": 2, "intermediate_size": 8}"#,
    ])
    func malformedConfigsAreClearErrors(json: String) {
        #expect {
            try Self.parse(json)
        } throws: { error in
            "\(error)".hasPrefix("config.json: ")
        }
    }
}
