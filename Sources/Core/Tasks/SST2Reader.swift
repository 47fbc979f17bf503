/// SST-2 (`sentence\tlabel`, labels 0/1): the binary sentiment task of GLUE.
public enum SST2Reader {
    public static func read(path: String) throws -> [SentenceClassificationExample] {
        let file = try TSVFile(path: path)
        guard let header = file.rows.first else { throw TaskDataError(file: path, "empty file (expected a 'sentence\\tlabel' header)") }
        guard let sentenceColumn = header.fields.firstIndex(of: "sentence"), let labelColumn = header.fields.firstIndex(of: "label") else {
            throw TaskDataError(file: path, line: header.line, "header must name 'sentence' and 'label' columns, got \(header.fields)")
        }
        var examples: [SentenceClassificationExample] = []
        for row in file.rows.dropFirst() {
            guard row.fields.count == header.fields.count else {
                throw TaskDataError(file: path, line: row.line, "expected \(header.fields.count) tab-separated columns, found \(row.fields.count)")
            }
            guard let label = Int(row.fields[labelColumn]), label == 0 || label == 1 else {
                throw TaskDataError(file: path, line: row.line, "label '\(row.fields[labelColumn])' is not 0 or 1")
            }
            examples.append(SentenceClassificationExample(id: "\(examples.count)", textA: row.fields[sentenceColumn], label: label))
        }
        return examples
    }
}
