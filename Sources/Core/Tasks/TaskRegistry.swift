import Foundation

/// Tasks by their GLUE folder name, and where their dev files live under a data root.
public enum TaskRegistry {
    public static let benchmarkTasks = ["SST-2"]

    public static func readDev(task: String, data: String) throws -> [SentenceClassificationExample] {
        switch task {
        case "SST-2":
            let path = URL(fileURLWithPath: data).appendingPathComponent("SST-2/dev.tsv").path
            return try SST2Reader.read(path: path)
        default:
            throw TaskDataError(file: data, "unknown task '\(task)' (supported: \(benchmarkTasks.joined(separator: ", ")))")
        }
    }
}
