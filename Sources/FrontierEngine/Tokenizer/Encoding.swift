/// Model input for one text or one text pair, laid out like HF's `Encoding` from
/// `BertTokenizerFast(text, pair, return_offsets_mapping=True)`.
public struct Encoding: Sendable, Equatable {
    public var ids: [Int32]
    /// 0 for [CLS], the first text and its [SEP]; 1 for the second text and the final [SEP]
    /// (BERT's TemplateProcessing `pair` template).
    public var typeIds: [Int32]
    /// Unicode-scalar offsets into the original text the token came from (the first text for
    /// sequence 0, the pair for sequence 1) — the numbers Python `str` indexing uses, as HF's offset
    /// mapping gives them; `0..<0` for the [CLS]/[SEP] the template adds.
    public var offsets: [Range<Int>]
    /// -1 for the template's special tokens, 0 / 1 for tokens of the first / second text, like HF's
    /// `sequence_ids()` (which says None for -1). A special token written literally in the text, e.g.
    /// "[SEP]", belongs to its text and gets 0 or 1 and its real offsets.
    public var sequenceIds: [Int8]

    public var count: Int { ids.count }

    public init(ids: [Int32], typeIds: [Int32], offsets: [Range<Int>], sequenceIds: [Int8]) {
        self.ids = ids
        self.typeIds = typeIds
        self.offsets = offsets
        self.sequenceIds = sequenceIds
    }
}
