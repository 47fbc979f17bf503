import Foundation
import Testing
@testable import FrontierEngine


// MARK: - Algorithm on a tiny in-memory vocabulary (needs no shared files)

/// ids: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, then the pieces in order.
private let tinyTokens = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "un", "##aff", "##able", "aff", "able",  // 5...9
    "a", "##a", "hello", "he", "##llo",  // 10...14
    "##l", "##o", "!", "é", "dup",  // 15...19
    "dup",  // 20: a duplicate line; HF keeps the later id
]

private func tinyTokenizer(lowercase: Bool = true, stripAccents: Bool? = nil) throws -> BertTokenizer {
    try BertTokenizer(vocabulary: Vocabulary(tokens: tinyTokens), lowercase: lowercase, stripAccents: stripAccents)
}

@Suite("WordPiece algorithm (in-memory vocabulary)")
struct TokenizerAlgorithmTests {
    @Test func greedyLongestMatchWithContinuationPrefix() throws {
        let tok = try tinyTokenizer()
        let r = tok.tokenize("unaffable")
        #expect(r.ids == [5, 6, 7])
        #expect(r.offsets == [0..<2, 2..<5, 5..<9])
        // The same text without the "##" form is a different piece: "aff" starts a word, "##aff" continues one.
        #expect(tok.tokenize("affable").ids == [8, 7])
    }

    @Test func prefersTheLongestPieceNotTheFirstThatFits() throws {
        let tok = try tinyTokenizer()
        #expect(tok.tokenize("hello").ids == [12])  // not he ##llo
        #expect(tok.tokenize("helo").ids == [13, 15, 16])  // he ##l ##o
    }

    @Test func anUnmatchedRestMakesTheWholeWordUnknown() throws {
        let tok = try tinyTokenizer()
        // "un" and "##aff" match, "x" does not: HF discards the pieces and emits one [UNK] for the word.
        let r = tok.tokenize("hello unaffx!")
        #expect(r.ids == [12, 1, 17])
        #expect(r.offsets == [0..<5, 6..<12, 12..<13])
    }

    @Test func wordsLongerThan100ScalarsAreUnknown() throws {
        let tok = try tinyTokenizer()
        let hundred = tok.tokenize(String(repeating: "a", count: 100))
        #expect(hundred.ids == [10] + Array(repeating: 11, count: 99))
        #expect(hundred.offsets.last == 99..<100)
        let longer = tok.tokenize(String(repeating: "a", count: 101))
        #expect(longer.ids == [1])
        #expect(longer.offsets == [0..<101])
    }

    @Test func specialTokensInTheTextAreMatchedVerbatim() throws {
        let tok = try tinyTokenizer()
        let r = tok.tokenize("hello[SEP]hello [MASK]")
        #expect(r.ids == [12, 3, 12, 4])
        #expect(r.offsets == [0..<5, 5..<10, 10..<15, 16..<22])
        // Matching happens before lower-casing and is case-sensitive, so "[sep]" is punctuation + a word.
        #expect(tok.tokenize("[sep]").ids == [1, 1, 1])
    }

    @Test func hashPrefixInTheTextIsJustPunctuation() throws {
        let tok = try tinyTokenizer()
        #expect(tok.tokenize("##a").ids == [1, 1, 10])
    }

    @Test func lowercaseSetting() throws {
        #expect(try tinyTokenizer(lowercase: true).tokenize("HeLLo").ids == [12])
        #expect(try tinyTokenizer(lowercase: false).tokenize("HeLLo").ids == [1])
    }

    @Test func stripAccentsFollowsLowercaseUnlessSet() throws {
        // "é" is in the vocabulary; stripped it becomes "e", which is not.
        #expect(try tinyTokenizer(lowercase: true).tokenize("é").ids == [1])
        #expect(try tinyTokenizer(lowercase: true, stripAccents: false).tokenize("é").ids == [18])
        #expect(try tinyTokenizer(lowercase: false).tokenize("é").ids == [18])
    }

    @Test func vocabularyComparesBytesNotCanonicalEquivalence() throws {
        let vocab = try Vocabulary(tokens: tinyTokens)
        #expect(vocab.id(of: "\u{E9}") == 18)
        // Swift considers these equal Strings; HF's byte-keyed map does not.
        #expect(vocab.id(of: "e\u{301}") == nil)
        let tok = try tinyTokenizer(lowercase: false)
        #expect(tok.tokenize("e\u{301}").ids == [1])
    }

    @Test func duplicateTokensResolveToTheLaterLine() throws {
        let vocab = try Vocabulary(tokens: tinyTokens)
        #expect(vocab.count == tinyTokens.count)
        #expect(vocab.id(of: "dup") == 20)
        #expect(vocab.token(of: 19) == "dup")
        #expect(vocab.token(of: 21) == nil)
        #expect(vocab.token(of: -1) == nil)
    }

    @Test func encodeSingleAndPair() throws {
        let tok = try tinyTokenizer()
        let single = tok.encode("hello!")
        #expect(single.ids == [2, 12, 17, 3])
        #expect(single.typeIds == [0, 0, 0, 0])
        #expect(single.sequenceIds == [-1, 0, 0, -1])
        #expect(single.offsets == [0..<0, 0..<5, 5..<6, 0..<0])
        let pair = tok.encode("hello", pair: "a hello")
        #expect(pair.ids == [2, 12, 3, 10, 12, 3])
        #expect(pair.typeIds == [0, 0, 0, 1, 1, 1])
        #expect(pair.sequenceIds == [-1, 0, -1, 1, 1, -1])
        #expect(pair.offsets == [0..<0, 0..<5, 0..<0, 0..<1, 2..<7, 0..<0])
        #expect(pair.count == 6)
        #expect(tok.encode("").ids == [2, 3])
    }

    /// tokenizers' `truncate_encodings` (LongestFirst): not "drop from the longer one at a time".
    @Test(arguments: [
        // (first, second, budget) -> (kept first, kept second)
        (8, 2, 6, 4, 2),  // only the longer one is cut
        (2, 8, 6, 2, 4),
        (5, 5, 7, 3, 4),  // equal lengths: the second keeps the extra token
        (6, 5, 7, 4, 3),  // both cut: the longer keeps ceil(budget / 2)
        (5, 6, 7, 3, 4),
        (3, 3, 6, 3, 3),  // fits
        (9, 9, 0, 0, 0),
        (20, 1, 5, 4, 1),
    ])
    func longestFirstLengths(first: Int, second: Int, budget: Int, keptFirst: Int, keptSecond: Int) {
        let kept = BertTokenizer.truncatedLengths(first, second, budget: budget, isPair: true)
        #expect(kept.0 == keptFirst && kept.1 == keptSecond)
    }

    @Test func encodeTruncatesToMaxLengthCountingSpecials() throws {
        let tok = try tinyTokenizer()
        let e = tok.encode("a a a a a", pair: "hello hello hello hello hello", maxLength: 10)
        #expect(e.ids == [2, 10, 10, 10, 3, 12, 12, 12, 12, 3])
        #expect(e.typeIds == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
        #expect(tok.encode("a a a a a", maxLength: 4).ids == [2, 10, 10, 3])
        // Too small for the specials: the texts are dropped (HF raises an error instead).
        #expect(tok.encode("a", pair: "a", maxLength: 1).ids == [2, 3, 3])
    }

    @Test func missingSpecialTokensAreErrors() throws {
        let noCLS = tinyTokens.filter { $0 != "[CLS]" }
        #expect(throws: TokenizerError.missingSpecialToken(token: "[CLS]", vocabulary: nil)) {
            try BertTokenizer(vocabulary: Vocabulary(tokens: noCLS))
        }
        // [MASK] is optional: it is never inserted by encoding.
        let tok = try BertTokenizer(vocabulary: Vocabulary(tokens: tinyTokens.filter { $0 != "[MASK]" }))
        #expect(tok.tokenize("[MASK]").ids == [1, 1, 1])
    }

    @Test func emptyVocabularyIsAnError() {
        #expect(throws: TokenizerError.vocabularyEmpty(path: nil)) { try Vocabulary(tokens: []) }
    }
}

// MARK: - Files: vocab.txt and tokenizer_config.json

/// A fresh temporary folder per test, removed afterwards.
private final class TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("frontier-tokenizer-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let file = url.appendingPathComponent(name)
        try Data(bytes).write(to: file)
        return file
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> URL {
        try write(name, Array(text.utf8))
    }
}

@Suite("Vocabulary and config files")
struct TokenizerFileTests {
    @Test func missingVocabularyFileNamesThePath() throws {
        let folder = try TemporaryFolder()
        let path = folder.url.appendingPathComponent("vocab.txt").path
        let error = #expect(throws: TokenizerError.self) { try BertTokenizer.load(directory: folder.url) }
        #expect(error == .vocabularyNotFound(path: path))
        #expect(error?.description.contains(path) == true)
    }

    @Test func emptyVocabularyFile() throws {
        let folder = try TemporaryFolder()
        let file = try folder.write("vocab.txt", "")
        let error = #expect(throws: TokenizerError.self) { try Vocabulary(contentsOf: file) }
        #expect(error == .vocabularyEmpty(path: file.path))
        #expect(error?.description.contains(file.path) == true)
    }

    @Test func invalidUTF8NamesFileAndLine() throws {
        let folder = try TemporaryFolder()
        let file = try folder.write("vocab.txt", Array("[PAD]\n[UNK]\n".utf8) + [0x61, 0xFF, 0x62, 0x0A])
        let error = #expect(throws: TokenizerError.self) { try Vocabulary(contentsOf: file) }
        #expect(error == .vocabularyNotUTF8(path: file.path, line: 3))
        #expect(error?.description.contains(file.path) == true)
    }

    @Test func directoryInsteadOfFileIsUnreadable() throws {
        let folder = try TemporaryFolder()
        let error = #expect(throws: TokenizerError.self) { try Vocabulary(contentsOf: folder.url) }
        guard case .vocabularyUnreadable(let path, _) = error else {
            Issue.record("expected vocabularyUnreadable, got \(String(describing: error))")
            return
        }
        #expect(path == folder.url.path)
    }

    @Test func vocabularyMissingCLSNamesTheFile() throws {
        let folder = try TemporaryFolder()
        let file = try folder.write("vocab.txt", "[PAD]\n[UNK]\n[SEP]\nhello\n")
        let error = #expect(throws: TokenizerError.self) { try BertTokenizer.load(directory: folder.url) }
        #expect(error == .missingSpecialToken(token: "[CLS]", vocabulary: file.path))
        #expect(error?.description.contains(file.path) == true)
    }

    /// Python's `readlines()` in text mode: "\n", "\r\n" and "\r" end lines, a final terminator adds no
    /// token, empty lines and trailing spaces are kept.
    @Test func lineSplittingMatchesTransformersLoadVocab() throws {
        let folder = try TemporaryFolder()
        let file = try folder.write("vocab.txt", "a\r\nb\rc\n\nd \n")
        let vocab = try Vocabulary(contentsOf: file)
        #expect(vocab.count == 5)
        #expect((0..<5).map { vocab.token(of: Int32($0)) } == ["a", "b", "c", "", "d "])
        #expect(vocab.id(of: "d ") == 4)
        #expect(vocab.id(of: "d") == nil)
        let noFinalNewline = try Vocabulary(contentsOf: try folder.write("v2.txt", "x\ny"))
        #expect(noFinalNewline.count == 2)
    }

    @Test func configSettingsAreRead() throws {
        let folder = try TemporaryFolder()
        try folder.write("vocab.txt", tinyTokens.joined(separator: "\n") + "\n")
        #expect(try BertTokenizer.load(directory: folder.url).tokenize("HELLO").ids == [12])  // default: lower-case
        try folder.write("tokenizer_config.json", #"{"do_lower_case": false, "strip_accents": null, "x": [1]}"#)
        let cased = try BertTokenizer.load(directory: folder.url)
        #expect(cased.tokenize("HELLO").ids == [1])
        #expect(cased.tokenize("é").ids == [18])  // strip_accents null follows do_lower_case = false
    }

    @Test func badConfigNamesTheFile() throws {
        let folder = try TemporaryFolder()
        try folder.write("vocab.txt", tinyTokens.joined(separator: "\n"))
        let config = try folder.write("tokenizer_config.json", #"{"do_lower_case": "yes"}"#)
        let error = #expect(throws: TokenizerError.self) { try BertTokenizer.load(directory: folder.url) }
        guard case .invalidConfig(let path, let reason) = error else {
            Issue.record("expected invalidConfig, got \(String(describing: error))")
            return
        }
        #expect(path == config.path)
        #expect(reason.contains("do_lower_case"))
        try folder.write("tokenizer_config.json", "{not json")
        let notJSON = #expect(throws: TokenizerError.self) { try BertTokenizer.load(directory: folder.url) }
        #expect(notJSON?.description.contains(config.path) == true)
    }
}

// MARK: - Parity with Hugging Face on the real vocabulary (needs ../shared)

/// The MiniLM SST-2 model folder from the shared data (`SharedData` finds `../shared` or
/// `FRONTIER_SHARED`).
private enum SharedTokenizerModel {
    static let directory: URL? = SharedData.exists("models/minilm-l6-sst2/vocab.txt")
        ? SharedData.path("models/minilm-l6-sst2") : nil


    /// Loaded once for the whole suite.
    private static let tokenizer: Result<BertTokenizer, any Error>? = directory.map { dir in
        Result { try BertTokenizer.load(directory: dir) }
    }

    static func load() throws -> BertTokenizer {
        try #require(tokenizer).get()
    }
}

/// Expected values are `BertTokenizerFast` (transformers 5.23, tokenizers 0.23.3) on
/// minilm-l6-sst2's vocab.txt / tokenizer_config.json: `tok(text, return_offsets_mapping=True)`.
@Suite(
    "Hugging Face parity (minilm-l6-sst2 vocabulary)",
    .needsShared("models/minilm-l6-sst2/vocab.txt"))
struct TokenizerHFParityTests {
    private func check(
        _ text: String, _ ids: [Int32], _ offsets: [Range<Int>], sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let e = try SharedTokenizerModel.load().encode(text)
        #expect(e.ids == ids, sourceLocation: sourceLocation)
        #expect(e.offsets == offsets, sourceLocation: sourceLocation)
    }

    @Test func specialIds() throws {
        let tok = try SharedTokenizerModel.load()
        #expect([tok.clsId, tok.sepId, tok.padId, tok.unkId] == [101, 102, 0, 100])
        #expect(tok.vocabulary.count == 30522)
    }

    @Test func punctuation() throws {
        // "$" is a Unicode symbol but ASCII punctuation for BERT.
        try check(
            #"Hello, world! (It's) $5.00 - "quoted"... ok?"#,
            [101, 7592, 1010, 2088, 999, 1006, 2009, 1005, 1055, 1007, 1002, 1019, 1012, 4002, 1011, 1000, 9339,
             1000, 1012, 1012, 1012, 7929, 1029, 102],
            [0..<0, 0..<5, 5..<6, 7..<12, 12..<13, 14..<15, 15..<17, 17..<18, 18..<19, 19..<20, 21..<22, 22..<23,
             23..<24, 24..<26, 27..<28, 29..<30, 30..<36, 36..<37, 37..<38, 38..<39, 39..<40, 41..<43, 43..<44, 0..<0])
    }

    @Test func accentsAreStripped() throws {
        try check("naïve café", [101, 15743, 7668, 102], [0..<0, 0..<5, 6..<10, 0..<0])
        // Already-decomposed input: the combining marks are dropped but still count in the offsets.
        try check("cafe\u{301} nai\u{308}ve", [101, 7668, 15743, 102], [0..<0, 0..<4, 6..<12, 0..<0])
        // U+0130 decomposes to I + dot, Å to A + ring, Ö to O + diaeresis.
        try check("İstanbul ÅNGSTRÖM", [101, 9960, 17076, 15687, 102], [0..<0, 0..<8, 9..<12, 12..<17, 0..<0])
    }

    @Test func offsetsOfPiecesInAccentedWords() throws {
        try check(
            "Crème brûlée", [101, 13675, 21382, 7987, 9307, 2063, 102],
            [0..<0, 0..<2, 2..<5, 6..<8, 8..<11, 11..<12, 0..<0])
        try check("unaffable", [101, 14477, 20961, 3468, 102], [0..<0, 0..<3, 3..<6, 6..<9, 0..<0])
    }

    @Test func cjkIdeographsAreSeparateWordsButKanaIsNot() throws {
        try check(
            "中文 text 日本語", [101, 1746, 1861, 3793, 1864, 1876, 1950, 102],
            [0..<0, 0..<1, 1..<2, 3..<7, 8..<9, 9..<10, 10..<11, 0..<0])
        try check("ひらがな", [101, 1673, 30211, 30177, 30193, 102], [0..<0, 0..<1, 1..<2, 2..<3, 3..<4, 0..<0])
        // Hangul syllables become jamo under NFD; every jamo piece points at its syllable.
        try check(
            "한국어", [101, 1469, 30006, 30021, 29991, 30014, 30020, 29999, 30008, 102],
            [0..<0, 0..<1, 0..<1, 0..<1, 1..<2, 1..<2, 1..<2, 2..<3, 2..<3, 0..<0])
    }

    @Test func longWordsAndUnknownPieces() throws {
        let tok = try SharedTokenizerModel.load()
        let hundred = tok.encode(String(repeating: "a", count: 100))
        #expect(hundred.ids == [101, 13360] + Array(repeating: 11057, count: 48) + [2050, 102])
        #expect(hundred.offsets[1...3] == [0..<3, 3..<5, 5..<7])
        #expect(hundred.offsets[50] == 99..<100)
        try check(String(repeating: "a", count: 101), [101, 100, 102], [0..<0, 0..<101, 0..<0])
        // "☃" is not in the vocabulary and not punctuation, so the whole word is [UNK].
        try check("snow☃man", [101, 100, 102], [0..<0, 0..<8, 0..<0])
        try check("\u{1F600} emoji", [101, 100, 7861, 29147, 2072, 102], [0..<0, 0..<1, 2..<4, 4..<6, 6..<7, 0..<0])
    }

    @Test func literalSpecialTokens() throws {
        try check("hello [SEP] world", [101, 7592, 102, 2088, 102], [0..<0, 0..<5, 6..<11, 12..<17, 0..<0])
        try check(
            "a[CLS]b [sep] [MASK]x", [101, 1037, 101, 1038, 1031, 19802, 1033, 103, 1060, 102],
            [0..<0, 0..<1, 1..<6, 6..<7, 8..<9, 9..<12, 12..<13, 14..<20, 20..<21, 0..<0])
        let e = try SharedTokenizerModel.load().encode("x [SEP] y")
        #expect(e.sequenceIds == [-1, 0, 0, 0, -1])  // the literal [SEP] belongs to the text
    }

    @Test func controlCharactersAreDropped() throws {
        // NUL, BEL, U+FFFD and U+200B (a format character) vanish; they do not split words.
        try check(
            "he\u{0}llo\u{7} wo\u{FFFD}rld\u{200B}!", [101, 7592, 2088, 999, 102],
            [0..<0, 0..<6, 8..<14, 15..<16, 0..<0])
    }

    @Test func whitespaceVariants() throws {
        // Tab, LF, CRLF, NBSP, ideographic and em space split words; U+000B is a control character
        // for clean_text and is deleted, so "h\u{B}i" is one word.
        try check(
            "a\tb\nc\r\nd\u{A0}e\u{3000}f\u{2003}g  h\u{B}i", [101, 1037, 1038, 1039, 1040, 1041, 1042, 1043, 7632, 102],
            [0..<0, 0..<1, 2..<3, 4..<5, 7..<8, 9..<10, 11..<12, 13..<14, 16..<19, 0..<0])
        try check("", [101, 102], [0..<0, 0..<0])
        try check("   ", [101, 102], [0..<0, 0..<0])
    }

    @Test func canonicalOrderingOfMarks() throws {
        // NFD reorders U+1D165 (class 216) before U+1D16D (226); U+0316 goes before U+0301 and both drop.
        try check("x\u{1D16D}\u{1D165} e\u{301}\u{316}", [101, 100, 1041, 102], [0..<0, 0..<3, 4..<5, 0..<0])
    }

    @Test func pairEncoding() throws {
        let e = try SharedTokenizerModel.load().encode("The cat sat.", pair: "Where is it?")
        #expect(e.ids == [101, 1996, 4937, 2938, 1012, 102, 2073, 2003, 2009, 1029, 102])
        #expect(e.typeIds == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
        #expect(e.offsets == [0..<0, 0..<3, 4..<7, 8..<11, 11..<12, 0..<0, 0..<5, 6..<8, 9..<11, 11..<12, 0..<0])
        #expect(e.sequenceIds == [-1, 0, 0, 0, 0, -1, 1, 1, 1, 1, -1])
        let accented = try SharedTokenizerModel.load().encode("Zoë Saldaña", pair: "Beyoncé")
        #expect(accented.ids == [101, 11199, 16183, 25917, 102, 20773, 102])
        #expect(accented.offsets == [0..<0, 0..<3, 4..<7, 7..<11, 0..<0, 0..<7, 0..<0])
    }

    /// `tok(a, b, truncation="longest_first", max_length=M)`.
    @Test func longestFirstTruncation() throws {
        let tok = try SharedTokenizerModel.load()
        // Asymmetric: only the long first text is cut.
        let a = tok.encode("one two three four five six seven eight", pair: "alpha beta", maxLength: 9)
        #expect(a.ids == [101, 2028, 2048, 2093, 2176, 102, 6541, 8247, 102])
        #expect(a.typeIds == [0, 0, 0, 0, 0, 0, 1, 1, 1])
        // Tie (5 and 5 words, 7 slots): the second keeps the extra token.
        let tie = tok.encode("one two three four five", pair: "alpha beta gamma delta epsilon", maxLength: 10)
        #expect(tie.ids == [101, 2028, 2048, 2093, 102, 6541, 8247, 13091, 7160, 102])
        #expect(tie.typeIds == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
        // 6 and 5: the longer (first) keeps the extra token.
        let longerFirst = tok.encode("one two three four five six", pair: "alpha beta gamma delta epsilon", maxLength: 10)
        #expect(longerFirst.ids == [101, 2028, 2048, 2093, 2176, 102, 6541, 8247, 13091, 102])
        #expect(tok.encode("one two three four five", maxLength: 4).ids == [101, 2028, 2048, 102])
    }
}
