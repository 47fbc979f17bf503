/// SST-2 (`sentence\tlabel`, labels 0/1): the binary sentiment task of GLUE. Kept as a named
/// entry point for callers that only know SST-2; the parsing is `GlueReader`'s.
public enum SST2Reader {
    public static func read(path: String) throws -> [SentenceClassificationExample] {
        try GlueReader.read(task: .sst2, path: path)
    }
}
