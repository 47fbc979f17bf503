import Foundation

/// Reads the GLUE tasks' tab-separated files in the layout of the standard GLUE download
/// (`DATA/SST-2/dev.tsv`, `DATA/MNLI/dev_matched.tsv`, …).
///
/// Columns are found by their header name (the files differ between splits: MNLI's dev files
/// have five annotator columns, train has one), except CoLA, whose files have no header and a
/// fixed order. As in GLUE's own readers and `run_glue` (`quotechar=None`), nothing is quoted: a
/// `"` is an ordinary character and fields are split on TAB only. Every row must parse: a wrong
/// column count, an unknown label or an unparsable score is a `TaskDataError` naming the file
/// and line, because a silently dropped row changes the metric.
public enum GlueReader {
    /// `dataRoot/<task folder>/<split>.tsv`.
    public static func url(task: GlueTask, split: String, dataRoot: URL) -> URL {
        dataRoot.appendingPathComponent(task.folderName).appendingPathComponent(split + ".tsv")
    }

    /// One split (`dev`, `train`, `dev_matched`, …) of a task under a GLUE data folder.
    public static func read(task: GlueTask, split: String, dataRoot: URL) throws -> [GlueExample] {
        try read(task: task, path: url(task: task, split: split, dataRoot: dataRoot).path)
    }

    /// Every dev split of a task, in `task.devSplits` order (MNLI: matched, then mismatched).
    public static func readDev(task: GlueTask, dataRoot: URL) throws -> [(split: String, examples: [GlueExample])] {
        try task.devSplits.map { ($0, try read(task: task, split: $0, dataRoot: dataRoot)) }
    }

    /// One file in the task's format.
    public static func read(task: GlueTask, path: String) throws -> [GlueExample] {
        try read(task: task, file: TSVFile(path: path))
    }

    public static func read(task: GlueTask, file: TSVFile) throws -> [GlueExample] {
        let layout = Layout(task)
        let path = file.path
        let header: [String]
        let dataRows: ArraySlice<(line: Int, fields: [String])>
        if let names = layout.fixedColumns {
            header = names
            dataRows = file.rows[...]
        } else {
            guard let first = file.rows.first else {
                throw TaskDataError(file: path, "empty file (expected a header naming \(layout.required.map { "'\($0)'" }.joined(separator: ", ")))")
            }
            header = first.fields
            dataRows = file.rows.dropFirst()
        }
        var column: [String: Int] = [:]
        for name in layout.required + (layout.id.map { [$0] } ?? []) {
            if let index = header.firstIndex(of: name) {
                column[name] = index
            } else if layout.required.contains(name) {
                throw TaskDataError(file: path, line: 1, "header has no '\(name)' column (\(task.folderName) needs \(layout.required.map { "'\($0)'" }.joined(separator: ", ")); found \(header.map { "'\($0)'" }.joined(separator: ", ")))")
            }
        }
        guard !dataRows.isEmpty else {
            throw TaskDataError(file: path, layout.fixedColumns == nil ? "no examples after the header" : "empty file (no examples)")
        }
        // Every required name was found above or the function threw; the lookups below are
        // therefore total, and `?? 0` only satisfies the type checker.
        let textA = column[layout.textA] ?? 0
        let textB = layout.textB.map { column[$0] ?? 0 }
        let gold = column[layout.gold] ?? 0
        let id = layout.id.flatMap { column[$0] }

        var examples: [GlueExample] = []
        examples.reserveCapacity(dataRows.count)
        for row in dataRows {
            guard row.fields.count == header.count else {
                let origin = layout.fixedColumns == nil ? "as in the header" : "source, label, original annotation, sentence"
                throw TaskDataError(file: path, line: row.line, "expected \(header.count) tab-separated columns (\(origin)), found \(row.fields.count)")
            }
            let value = row.fields[gold]
            guard let parsed = layout.parseGold(value) else {
                throw TaskDataError(file: path, line: row.line, "\(layout.gold) '\(value)' is not \(layout.goldDescription)")
            }
            examples.append(GlueExample(
                id: id.map { row.fields[$0] } ?? String(examples.count),
                textA: row.fields[textA], textB: textB.map { row.fields[$0] }, gold: parsed))
        }
        return examples
    }

    /// Where a task keeps its texts, gold answer and id.
    struct Layout {
        /// Column names for a file without a header (CoLA), in file order.
        var fixedColumns: [String]?
        var textA: String
        var textB: String?
        var gold: String
        var id: String?
        var parseGold: (String) -> GlueGold?
        var goldDescription: String

        var required: [String] { [textA] + (textB.map { [$0] } ?? []) + [gold] }

        init(_ task: GlueTask) {
            fixedColumns = nil
            textB = nil
            id = nil
            // CoLA, SST-2, MRPC, QQP and WNLI store the datasets' class ids (0/1) directly.
            parseGold = { $0 == "0" ? .label(0) : $0 == "1" ? .label(1) : nil }
            goldDescription = "0 or 1"
            switch task {
            case .cola:
                fixedColumns = ["source", "label", "original_annotation", "sentence"]
                textA = "sentence"; gold = "label"
            case .sst2:
                textA = "sentence"; gold = "label"
            case .mrpc:
                textA = "#1 String"; textB = "#2 String"; gold = "Quality"
            case .qqp:
                textA = "question1"; textB = "question2"; gold = "is_duplicate"; id = "id"
            case .stsb:
                textA = "sentence1"; textB = "sentence2"; gold = "score"; id = "index"
                parseGold = { Layout.parseScore($0).map { .score($0) } }
                goldDescription = "a number in 0...5"
            case .mnli, .qnli, .rte:
                textA = task == .qnli ? "question" : "sentence1"
                textB = task == .qnli ? "sentence" : "sentence2"
                gold = task == .mnli ? "gold_label" : "label"
                id = "index"
                // These files spell the class out; exact, case-sensitive names as GLUE writes them.
                let labels = task.labels
                parseGold = { text in labels.firstIndex(of: text).map { .label($0) } }
                goldDescription = "one of " + labels.joined(separator: ", ")
            case .wnli:
                textA = "sentence1"; textB = "sentence2"; gold = "label"; id = "index"
            }
        }

        /// A plain decimal (`4.750`, `0`, `3.2e-1`): `Double.init` alone would also take `nan`,
        /// `inf` and hexadecimal, none of which is an STS-B score.
        static func parseScore(_ text: String) -> Double? {
            guard !text.isEmpty, text.allSatisfy({ "0123456789.eE+-".contains($0) }),
                  let value = Double(text), value.isFinite, value >= 0, value <= 5 else { return nil }
            return value
        }
    }
}
