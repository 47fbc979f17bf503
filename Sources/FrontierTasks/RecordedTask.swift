import Foundation

/// The task a checkpoint folder says it was fine-tuned on: `training.json`'s `task` (Frontier's
/// `finetune` and the shared checkpoints write one), else config.json's `finetuning_task`
/// (Hugging Face's `run_glue` writes it). Eval warns when it differs from --task: an SST-2 head
/// scored on MRPC still prints an accuracy (0.56), which means nothing, and nothing else would
/// say so. The coordinator's preflight (`GridPreflight`) refuses such a pairing outright.
public struct RecordedTask: Sendable, Equatable {
    public var name: String
    /// The file that says so.
    public var file: String

    public init?(folder: URL) {
        for (file, key) in [("training.json", "task"), ("config.json", "finetuning_task")] {
            let url = folder.appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: url.path),
                  let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                  let task = object[key] as? String, !task.isEmpty else { continue }
            name = task
            self.file = url.path
            return
        }
        return nil
    }

    /// Whether it is `task` (any spelling `GlueTask` accepts; squad by prefix); nil when the
    /// recorded name is not a task Frontier knows, so nothing can be said.
    public func matches(_ task: String) -> Bool? {
        let isSquad = { (name: String) in name.lowercased().hasPrefix("squad") }
        if isSquad(task) || isSquad(name) { return isSquad(task) == isSquad(name) }
        guard let recorded = GlueTask(name: name) else { return nil }
        return GlueTask(name: task) == recorded
    }
}
