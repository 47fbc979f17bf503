import Foundation
import FrontierSupport

/// Which lottery-ticket experiment a folder holds.
public enum TicketMethod: String, Sendable, Equatable, Codable, CaseIterable {
    /// Iterative magnitude pruning with rewinding (Chen et al.).
    case imp
    /// Controls at IMP's per-matrix sparsities: magnitude pruning of the dense fine-tuned model
    /// in one shot, random masks, and IMP's masks on re-initialised weights.
    case oneShot = "one-shot"
    case randomPruning = "random-pruning"
    case randomReinit = "random-reinit"
}

/// Whether IMP's global magnitude pruning reaches the pooler.
///
/// Chen et al. prune it with the encoder's matrices; BERT-base's pooler was trained with
/// next-sentence prediction. A sentence-embedding model such as all-MiniLM-L6-v2 was trained
/// through mean pooling, and its pooler is the smallest matrix by far (weight std 0.009 against
/// 0.04–0.10 in the blocks), so global pruning empties it first — 96 % pruned at 30 % overall,
/// none left by 70–80 % — and the classifier then sees a constant.
/// `.dense` keeps it out of the prunable set, to separate that bottleneck from the encoder's.
public enum PoolerPruning: String, Sendable, Equatable, Codable, CaseIterable {
    /// Pruned with the encoder's matrices (Chen et al.; the default).
    case prune
    /// Never pruned: its mask stays all ones and the prunable count leaves it out.
    case dense
}

/// Everything that decides what a ticket search computes; a folder resumes only under the same.
public struct TicketSearchSettings: Codable, Sendable, Equatable {
    public var method: TicketMethod
    /// The recipe every level is fine-tuned with (its `mask` unset: each level has its own).
    public var fineTune: FineTuneSettings
    public var schedule: PruningSchedule
    /// Rewind to the weights after this many updates of the dense run instead of θ0.
    public var rewindStep: Int?
    public var head: TicketRewind.HeadPolicy
    /// IMP: `.dense` leaves the pooler out of global magnitude pruning. Stored only when not the
    /// default (`poolerSetting` nil), so folders written before the choice existed still match.
    public var pooler: PoolerPruning {
        get { poolerSetting ?? .prune }
        set { poolerSetting = newValue == .prune ? nil : newValue }
    }
    private var poolerSetting: PoolerPruning?
    /// Controls: the IMP folder whose levels and masks they follow (absolute).
    public var source: String?
    /// Controls: which of the source's levels (nil: every pruned one). IMP: the one level trained
    /// alone, from the level before it in the folder (nil: every level, from 0).
    public var levels: [Int]?

    public init(method: TicketMethod, fineTune: FineTuneSettings, schedule: PruningSchedule, rewindStep: Int? = nil,
                head: TicketRewind.HeadPolicy = .keep, pooler: PoolerPruning = .prune, source: String? = nil, levels: [Int]? = nil) {
        self.method = method
        self.fineTune = fineTune
        self.schedule = schedule
        self.rewindStep = rewindStep
        self.head = head
        self.pooler = pooler
        self.source = source
        self.levels = levels
    }

    enum CodingKeys: String, CodingKey {
        case method, fineTune, schedule, rewindStep, head, poolerSetting = "pooler", source, levels
    }
}

extension TicketSearchSettings {
    /// One line per setting that differs from `saved` (`--target-sparsity: 0.9 in the folder,
    /// 0.5 now`), the fine-tuning recipe's included; empty when equal.
    public func differences(from saved: TicketSearchSettings) -> [String] {
        func line(_ option: String, _ then: String, _ now: String) -> String? { then == now ? nil : "\(option): \(then) in the folder, \(now) now" }
        func text<T>(_ value: T?) -> String { value.map { "\($0)" } ?? "unset" }
        let own = [
            line("method", saved.method.rawValue, method.rawValue),
            line("--target-sparsity", "\(saved.schedule.target)", "\(schedule.target)"),
            line("--per-round", "\(saved.schedule.perRound)", "\(schedule.perRound)"),
            line("--of", saved.schedule.basis.rawValue, schedule.basis.rawValue),
            line("--rewind-step", text(saved.rewindStep), text(rewindStep)),
            line("--head", saved.head.rawValue, head.rawValue),
            line("--pooler", saved.pooler.rawValue, pooler.rawValue),
            line("--imp", text(saved.source), text(source)),
            line("--levels", text(saved.levels), text(levels)),
        ].compactMap { $0 }
        return own + fineTune.differences(from: saved.fineTune).map { $0.replacingOccurrences(of: "in the saved state", with: "in the folder") }
    }
}

/// Why a ticket search will not run in its folder.
public enum TicketSearchError: Error, CustomStringConvertible, Equatable {
    /// The folder holds another search; each line names one difference.
    case otherSearch(folder: String, differences: [String])

    public var description: String {
        switch self {
        case let .otherSearch(folder, differences):
            return "\(folder) holds a different ticket search, so this command cannot resume it:\n  " + differences.joined(separator: "\n  ")
                + "\nRun the command that made it to resume it, or choose another --out."
        }
    }
}

/// `tickets.json`: the settings and the levels they give, written before the first level trains.
public struct TicketSearchManifest: Codable, Sendable, Equatable {
    public static let currentFormat = "frontier-tickets/1"
    public var format: String
    public var settings: TicketSearchSettings
    /// Weights in the prunable matrices.
    public var prunable: Int
    /// Per level (index = level): pruned weights, and their fraction.
    public var pruned: [Int]
    public var sparsities: [Double]
    public var frontierVersion: String

    public init(settings: TicketSearchSettings, prunable: Int, pruned: [Int]) {
        format = Self.currentFormat
        self.settings = settings
        self.prunable = prunable
        self.pruned = pruned
        sparsities = pruned.map { prunable == 0 ? 0 : Double($0) / Double(prunable) }
        frontierVersion = FrontierVersion.string
    }
}

/// One finished level: one line of `levels.jsonl`.
public struct TicketLevel: Codable, Sendable, Equatable {
    public var method: TicketMethod
    public var level: Int
    /// Pruned over prunable weights, as trained (the mask's, not the target's).
    public var sparsity: Double
    public var pruned: Int
    public var prunable: Int
    public var task: String
    public var seed: UInt64
    /// The dev metrics after fine-tuning at this level.
    public var metrics: [String: Double]
    /// The level's checkpoint folder, relative to the search folder (`level-03`).
    public var folder: String
    public var steps: Int
    public var trainingS: Double
    public var wallS: Double
    public var examplesPerS: Double
    /// Joules over the training updates, and where they come from (`rapl`, `estimated`, …).
    public var trainingJ: Double?
    public var energySource: String?
    public var finishedAt: String
}

/// A ticket search's folder:
///
///     tickets.json          settings and levels (written first)
///     levels.jsonl          one line per finished level (rewritten atomically on each append)
///     rewind-point.safetensors   with --rewind-step: the dense run's weights at that update
///     level-00/ … level-NN/ each a fine-tuned checkpoint folder (mask.safetensors from level 1)
///
/// A level's folder holds its own `.training-state` while it trains, so a killed search resumes
/// inside the level it was in, and the levels before it are read back, not trained again.
public struct TicketSearchStore: Sendable {
    public let folder: URL
    public static let manifestFile = "tickets.json"
    public static let levelsFile = "levels.jsonl"
    public static let rewindPointFile = "rewind-point.safetensors"
    public static let maskFile = "mask.safetensors"

    public init(folder: URL) { self.folder = folder.standardizedFileURL }

    public var manifestURL: URL { folder.appendingPathComponent(Self.manifestFile) }
    public var levelsURL: URL { folder.appendingPathComponent(Self.levelsFile) }
    public var rewindPointURL: URL { folder.appendingPathComponent(Self.rewindPointFile) }
    public static func levelName(_ level: Int) -> String { String(format: "level-%02d", level) }
    public func levelFolder(_ level: Int) -> URL { folder.appendingPathComponent(Self.levelName(level)) }
    public func maskURL(_ level: Int) -> URL { levelFolder(level).appendingPathComponent(Self.maskFile) }

    public func loadManifest() throws -> TicketSearchManifest? {
        guard let data = FileManager.default.contents(atPath: manifestURL.path) else { return nil }
        do {
            return try JSONCoding.decoder.decode(TicketSearchManifest.self, from: data)
        } catch {
            throw TrainingError.checkpoint(path: manifestURL.path, detail: "not a ticket search manifest (\(error)); it was written by another program or is damaged")
        }
    }

    public func saveManifest(_ manifest: TicketSearchManifest) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try DurableFiles.replace(manifestURL, with: JSONCoding.encoder.encode(manifest) + Data("\n".utf8))
    }

    /// The finished levels, in the order they finished.
    public func levels() throws -> [TicketLevel] {
        guard let data = FileManager.default.contents(atPath: levelsURL.path) else { return [] }
        var result: [TicketLevel] = []
        for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = line.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { continue }
            do {
                result.append(try JSONCoding.decoder.decode(TicketLevel.self, from: Data(text.utf8)))
            } catch {
                throw TrainingError.checkpoint(path: levelsURL.path, detail: "line \(number + 1) is not a level record (\(error))")
            }
        }
        return result
    }

    public func append(_ level: TicketLevel) throws {
        try DurableFiles.replaceJSONLines(levelsURL, with: try levels().filter { $0.level != level.level } + [level])
    }
}
