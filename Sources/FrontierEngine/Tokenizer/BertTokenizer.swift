import Foundation

/// BERT's WordPiece tokenizer with the semantics of HF `BertTokenizerFast` (tokenizers 0.23):
/// special tokens written in the text are matched first, the rest goes through BertNormalizer,
/// BertPreTokenizer and WordPiece, and `encode` adds BERT's [CLS]/[SEP] template with optional
/// `longest_first` truncation. Token ids are identical to HF's on the GLUE / SQuAD dev sets (see
/// tools/check_tokenizer.py); offsets are Unicode-scalar indices, i.e. Python `str` indices.
public struct BertTokenizer: Sendable {
    public let vocabulary: Vocabulary
    public let clsId: Int32
    public let sepId: Int32
    public let padId: Int32
    public let unkId: Int32

    private let basic: BasicTokenizer
    private let wordPiece: WordPieceTokenizer
    /// Special tokens matched verbatim in the raw text, longest first.
    private let specials: [SpecialToken]

    private struct SpecialToken: Sendable {
        let scalars: [UInt32]
        let id: Int32
    }

    /// The special tokens HF registers as added tokens for BERT checkpoints (`normalized: false`):
    /// they are found in the raw text before normalisation, so "[SEP]" in a text is id 102 while
    /// "[sep]" is split into "[", "sep", "]".
    static let specialTokenNames = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    /// - Parameters:
    ///   - lowercase: BertNormalizer `lowercase` (`do_lower_case`).
    ///   - stripAccents: nil follows `lowercase`, as HF's `strip_accents: null` does.
    ///   - tokenizeChineseChars: BertNormalizer `handle_chinese_chars`.
    /// - Throws: `TokenizerError.missingSpecialToken` when [CLS], [SEP], [UNK] or [PAD] is not in the
    ///   vocabulary: without them no model input can be built, and HF would silently append new ids
    ///   the model has no embeddings for.
    public init(
        vocabulary: Vocabulary, lowercase: Bool = true, stripAccents: Bool? = nil,
        tokenizeChineseChars: Bool = true
    ) throws {
        try self.init(
            vocabulary: vocabulary, lowercase: lowercase, stripAccents: stripAccents,
            tokenizeChineseChars: tokenizeChineseChars, source: nil)
    }

    private init(
        vocabulary: Vocabulary, lowercase: Bool, stripAccents: Bool?, tokenizeChineseChars: Bool,
        source: String?
    ) throws {
        func required(_ token: String) throws -> Int32 {
            guard let id = vocabulary.id(of: token) else {
                throw TokenizerError.missingSpecialToken(token: token, vocabulary: source)
            }
            return id
        }
        self.vocabulary = vocabulary
        self.clsId = try required("[CLS]")
        self.sepId = try required("[SEP]")
        self.unkId = try required("[UNK]")
        self.padId = try required("[PAD]")
        self.basic = BasicTokenizer(
            lowercase: lowercase, stripAccents: stripAccents, tokenizeChineseChars: tokenizeChineseChars)
        self.wordPiece = WordPieceTokenizer(vocabulary: vocabulary, unkId: unkId)
        self.specials = Self.specialTokenNames
            .compactMap { name in
                vocabulary.id(of: name).map { id in
                    SpecialToken(scalars: name.unicodeScalars.map(\.value), id: id)
                }
            }
            .sorted { $0.scalars.count > $1.scalars.count }
    }

    /// Loads `vocab.txt` and, when present, `tokenizer_config.json` (`do_lower_case`, default true;
    /// `strip_accents`, default null; `tokenize_chinese_chars`, default true) from a model folder.
    public static func load(directory: URL) throws -> BertTokenizer {
        let vocabURL = directory.appendingPathComponent("vocab.txt")
        let vocabulary = try Vocabulary(contentsOf: vocabURL)
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        var config = TokenizerConfigFile()
        if FileManager.default.fileExists(atPath: configURL.path) {
            config = try TokenizerConfigFile.read(configURL)
        }
        return try BertTokenizer(
            vocabulary: vocabulary, lowercase: config.doLowerCase ?? true, stripAccents: config.stripAccents,
            tokenizeChineseChars: config.tokenizeChineseChars ?? true, source: vocabURL.path)
    }

    /// Word pieces of one text without [CLS]/[SEP], with each piece's span in `text` in Unicode
    /// scalars. Special tokens written in the text are kept as single tokens with their own span.
    public func tokenize(_ text: String) -> (ids: [Int32], offsets: [Range<Int>]) {
        var ids: [Int32] = []
        var offsets: [Range<Int>] = []
        let scalars = text.unicodeScalars.map(\.value)
        ids.reserveCapacity(scalars.count / 3 + 4)
        offsets.reserveCapacity(scalars.count / 3 + 4)
        var words = WordBuffer()
        var scratch = WordPieceTokenizer.Scratch()
        scalars.withUnsafeBufferPointer { text in
            var segmentStart = 0
            var i = 0
            while i < text.count {
                guard let special = specialToken(at: i, in: text) else {
                    i += 1
                    continue
                }
                appendSegment(
                    text, segmentStart..<i, words: &words, scratch: &scratch, ids: &ids, offsets: &offsets)
                ids.append(special.id)
                offsets.append(i..<(i + special.scalars.count))
                i += special.scalars.count
                segmentStart = i
            }
            appendSegment(
                text, segmentStart..<text.count, words: &words, scratch: &scratch, ids: &ids, offsets: &offsets)
        }
        return (ids, offsets)
    }

    /// `[CLS] text [SEP]` or `[CLS] text [SEP] pair [SEP]`, like `BertTokenizerFast(text, pair)`.
    ///
    /// With `maxLength` (which counts the special tokens) the texts are truncated like HF's
    /// `truncation="longest_first"`. When `maxLength` is smaller than the special tokens alone, HF
    /// raises an error; here both texts are dropped entirely and the result is just the special
    /// tokens, so it is longer than `maxLength`.
    public func encode(_ text: String, pair: String? = nil, maxLength: Int? = nil) -> Encoding {
        var first = tokenize(text)
        var second = pair.map { tokenize($0) }
        if let maxLength {
            let budget = max(0, maxLength - (second == nil ? 2 : 3))
            let (n1, n2) = Self.truncatedLengths(
                first.ids.count, second?.ids.count ?? 0, budget: budget, isPair: second != nil)
            if n1 < first.ids.count {
                first.ids.removeSubrange(n1...)
                first.offsets.removeSubrange(n1...)
            }
            if var s = second, n2 < s.ids.count {
                s.ids.removeSubrange(n2...)
                s.offsets.removeSubrange(n2...)
                second = s
            }
        }
        let total = first.ids.count + 2 + (second.map { $0.ids.count + 1 } ?? 0)
        var e = Encoding(ids: [], typeIds: [], offsets: [], sequenceIds: [])
        e.ids.reserveCapacity(total)
        e.typeIds.reserveCapacity(total)
        e.offsets.reserveCapacity(total)
        e.sequenceIds.reserveCapacity(total)
        func append(_ ids: [Int32], _ offsets: [Range<Int>], type: Int32, sequence: Int8) {
            e.ids += ids
            e.offsets += offsets
            e.typeIds += repeatElement(type, count: ids.count)
            e.sequenceIds += repeatElement(sequence, count: ids.count)
        }
        append([clsId], [0..<0], type: 0, sequence: -1)
        append(first.ids, first.offsets, type: 0, sequence: 0)
        append([sepId], [0..<0], type: 0, sequence: -1)
        if let second {
            append(second.ids, second.offsets, type: 1, sequence: 1)
            append([sepId], [0..<0], type: 1, sequence: -1)
        }
        return e
    }

    /// Token counts kept by `longest_first` truncation, following `truncate_encodings` in
    /// tokenizers' `utils/truncation.rs` rather than the "remove one token at a time from the longer
    /// sequence" description: with both texts too long, the longer one keeps ceil(budget / 2) and the
    /// other floor(budget / 2), and when they are equally long the *second* keeps the extra token.
    static func truncatedLengths(_ first: Int, _ second: Int, budget: Int, isPair: Bool) -> (Int, Int) {
        guard isPair else { return (min(first, budget), 0) }
        guard first + second > budget else { return (first, second) }
        var n1 = first
        var n2 = second
        let swapped = n1 > n2  // n1 becomes the shorter one
        if swapped { swap(&n1, &n2) }
        n2 = n1 > budget ? n1 : max(n1, budget - n1)
        if n1 + n2 > budget {
            n1 = budget / 2
            n2 = n1 + budget % 2
        }
        return swapped ? (n2, n1) : (n1, n2)
    }

    /// Leftmost-longest match of a special token at `i` (HF's added-vocabulary Aho-Corasick uses
    /// `MatchKind::LeftmostLongest`; scanning left to right and taking the longest at each position is
    /// the same thing).
    @inline(__always)
    private func specialToken(at i: Int, in text: UnsafeBufferPointer<UInt32>) -> SpecialToken? {
        let c = text[i]
        for special in specials where special.scalars[0] == c {
            let n = special.scalars.count
            guard i + n <= text.count else { continue }
            var k = 1
            while k < n, text[i + k] == special.scalars[k] { k += 1 }
            if k == n { return special }
        }
        return nil
    }

    private func appendSegment(
        _ text: UnsafeBufferPointer<UInt32>, _ range: Range<Int>, words: inout WordBuffer,
        scratch: inout WordPieceTokenizer.Scratch, ids: inout [Int32], offsets: inout [Range<Int>]
    ) {
        guard !range.isEmpty else { return }
        words.removeAll()
        basic.appendWords(of: text, range: range, to: &words)
        for word in words.words {
            wordPiece.appendPieces(of: word, in: words, scratch: &scratch, ids: &ids, offsets: &offsets)
        }
    }
}

/// The settings of transformers' `tokenizer_config.json` that change BERT tokenization.
private struct TokenizerConfigFile: Decodable {
    var doLowerCase: Bool?
    var stripAccents: Bool?
    var tokenizeChineseChars: Bool?

    enum CodingKeys: String, CodingKey {
        case doLowerCase = "do_lower_case"
        case stripAccents = "strip_accents"
        case tokenizeChineseChars = "tokenize_chinese_chars"
    }

    init() {}

    static func read(_ url: URL) throws -> TokenizerConfigFile {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TokenizerError.invalidConfig(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        do {
            return try JSONDecoder().decode(TokenizerConfigFile.self, from: data)
        } catch let DecodingError.typeMismatch(type, context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            let reason = key.isEmpty ? "the top level must be a JSON object" : "\"\(key)\" must be \(type) or null"
            throw TokenizerError.invalidConfig(path: url.path, reason: reason)
        } catch {
            throw TokenizerError.invalidConfig(path: url.path, reason: "not valid JSON (\(error))")
        }
    }
}
