import Foundation

/// Tasks by name, and their dev examples under a data root, for commands that only need the
/// texts (bench) or want every dev example in one list.
public enum TaskRegistry {
    /// Every GLUE task by its folder name, the spelling the commands document.
    public static let benchmarkTasks = GlueTask.allCases.map(\.folderName)

    /// Resolves a task name (`SST-2`, `sst2`, `STS-B`, `stsb`, …; see `GlueTask.init(name:)`).
    public static func task(named name: String, data: String) throws -> GlueTask {
        guard let task = GlueTask(name: name) else {
            throw TaskDataError(file: data, "unknown task '\(name)' (supported: \(benchmarkTasks.joined(separator: ", ")))")
        }
        return task
    }

    /// All dev examples of a task: for MNLI dev_matched followed by dev_mismatched (ids are the
    /// files' `index` column and repeat between the two; use `GlueReader.readDev` to keep the
    /// splits apart). STS-B examples carry a score (`gold`), not a class.
    public static func readDev(task: String, data: String) throws -> [SentenceClassificationExample] {
        let glueTask = try self.task(named: task, data: data)
        return try GlueReader.readDev(task: glueTask, dataRoot: URL(fileURLWithPath: data)).flatMap(\.examples)
    }
}
