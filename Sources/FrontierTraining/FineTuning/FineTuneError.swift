/// Why a fine-tune will not start in an output folder.
public enum FineTuneError: Error, CustomStringConvertible, Equatable {
    /// The folder holds the state of a run with other settings or inputs; each line names one
    /// difference.
    case stateMismatch(folder: String, differences: [String])
    /// The folder holds a finished fine-tune made with other settings.
    case finishedWithOtherSettings(folder: String, differences: [String])
    /// The folder holds files that are not a fine-tune's.
    case outputOccupied(folder: String, entries: [String])
    case invalidOutput(folder: String, detail: String)

    public var description: String {
        switch self {
        case let .stateMismatch(folder, differences):
            return "\(folder) holds the training state of a different fine-tune, so this command cannot resume it:\n  "
                + differences.joined(separator: "\n  ")
                + "\nRun the command that made it to resume, add --restart to discard it and start over, or choose another --out."
        case let .finishedWithOtherSettings(folder, differences):
            return "\(folder) holds a finished fine-tune made with other settings:\n  " + differences.joined(separator: "\n  ")
                + "\nAdd --restart to replace it, or choose another --out."
        case let .outputOccupied(folder, entries):
            return "\(folder): the output folder exists and is not empty (\(entries.sorted().prefix(3).joined(separator: ", "))…) and holds no fine-tune of this command; choose a new folder or add --overwrite"
        case let .invalidOutput(folder, detail):
            return "\(folder): \(detail)"
        }
    }
}
