import Foundation
import FrontierGrid
import FrontierSupport
import FrontierMeasurement
import FrontierSweep
import FrontierWire
internal import GRDB

/// Everything a sweep knows, in one SQLite file (`DIR/frontier.sqlite`, WAL): the grid, its
/// points, the trials per device class with their attempts, the accepted results and the
/// agents seen. The coordinator keeps no other state, so `frontier serve` on the same folder
/// after a crash resumes where the last committed batch left off, and `frontier status` or
/// `frontier report` can read it while a sweep runs.
///
/// Exactly once is enforced twice: by the scheduler, and by `results.trial_id` being the
/// primary key, so a bug that tried to accept a second result would fail the batch loudly
/// rather than store a duplicate.
public final class SweepStore: Sendable {
    /// Which grid a store holds; defined with the grid so that reading grids needs no store.
    public typealias GridInfo = SweepGridInfo

    public let folder: URL
    public var databasePath: String { folder.appendingPathComponent("frontier.sqlite").path }
    let pool: DatabasePool

    public init(folder: URL, readOnly: Bool = false) throws {
        self.folder = folder
        let path = folder.appendingPathComponent("frontier.sqlite").path
        if readOnly {
            guard FileManager.default.fileExists(atPath: path) else {
                throw SweepStoreError.noStore(folder.path)
            }
        } else {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        var config = Configuration()
        config.readonly = readOnly
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            if !db.configuration.readonly {
                // WAL + NORMAL: a commit survives a process crash (the case that matters
                // here); only a power loss can take back the last commits.
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw SweepStoreError.cannotOpen(path, "\(error)")
        }
        if !readOnly { try Self.migrator.migrate(pool) }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE points (
                    key TEXT PRIMARY KEY, position INTEGER NOT NULL, config_key TEXT NOT NULL, label TEXT NOT NULL,
                    variant TEXT NOT NULL, task TEXT NOT NULL, model TEXT NOT NULL, is_baseline INTEGER NOT NULL,
                    repeat_index INTEGER NOT NULL, parameters_json TEXT NOT NULL, spec_json TEXT NOT NULL);
                CREATE TABLE agents (
                    agent_id TEXT PRIMARY KEY, device_class TEXT NOT NULL, fingerprint_json TEXT NOT NULL,
                    public_key TEXT, threads INTEGER NOT NULL, engine_version TEXT NOT NULL,
                    first_seen REAL NOT NULL, last_seen REAL NOT NULL);
                CREATE TABLE trials (
                    trial_id TEXT PRIMARY KEY, point_key TEXT NOT NULL REFERENCES points(key),
                    device_class TEXT NOT NULL, state TEXT NOT NULL, attempt INTEGER NOT NULL, agent_id TEXT,
                    reasons_json TEXT NOT NULL DEFAULT '[]', updated_at REAL NOT NULL);
                CREATE INDEX trials_state ON trials(state);
                CREATE TABLE attempts (
                    trial_id TEXT NOT NULL, attempt INTEGER NOT NULL, agent_id TEXT, started_at REAL, ended_at REAL,
                    outcome TEXT NOT NULL DEFAULT 'running', reason TEXT);
                CREATE INDEX attempts_trial ON attempts(trial_id, attempt);
                CREATE TABLE results (
                    trial_id TEXT PRIMARY KEY REFERENCES trials(trial_id), attempt INTEGER NOT NULL,
                    agent_id TEXT NOT NULL, device_class TEXT NOT NULL, received_at REAL NOT NULL,
                    result_json TEXT NOT NULL);
                """)
        }
        // Protocol 2: who sent what, under which key; what each agent can run; what was refused.
        m.registerMigration("v2-trust") { db in
            try db.execute(sql: """
                ALTER TABLE points ADD COLUMN requirements TEXT NOT NULL DEFAULT '';
                ALTER TABLE agents ADD COLUMN key_name TEXT;
                ALTER TABLE agents ADD COLUMN key_fingerprint TEXT;
                ALTER TABLE agents ADD COLUMN capabilities_json TEXT NOT NULL DEFAULT '{}';
                ALTER TABLE attempts ADD COLUMN key_fingerprint TEXT;
                ALTER TABLE results ADD COLUMN key_name TEXT;
                ALTER TABLE results ADD COLUMN key_fingerprint TEXT;
                ALTER TABLE results ADD COLUMN result_pb BLOB;
                CREATE TABLE refusals (
                    id INTEGER PRIMARY KEY, trial_id TEXT, attempt INTEGER, agent_id TEXT, key_fingerprint TEXT,
                    reason TEXT NOT NULL, detail TEXT NOT NULL, at REAL NOT NULL);
                CREATE INDEX refusals_reason ON refusals(reason);
                """)
            // A store made before requirements existed: derive them from the stored specs once.
            let rows = try Row.fetchAll(db, sql: "SELECT key, task, spec_json FROM points")
            let update = try db.makeStatement(sql: "UPDATE points SET requirements = ? WHERE key = ?")
            for row in rows {
                let requirements = TrialRequirements(specJSON: Data((row["spec_json"] as String).utf8), task: row["task"])
                try update.execute(arguments: [requirements.signature, row["key"] as String])
            }
        }
        // Training stages: a stage is a point of its own; points name the stages they need;
        // uploaded artifacts are rows written only after the file is complete and fsync'd.
        m.registerMigration("v3-stages") { db in
            try db.execute(sql: """
                ALTER TABLE points ADD COLUMN stage_key TEXT;
                ALTER TABLE points ADD COLUMN train_on TEXT;
                ALTER TABLE points ADD COLUMN inputs_json TEXT NOT NULL DEFAULT '[]';
                CREATE TABLE artifacts (
                    sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, trial_id TEXT NOT NULL, agent_id TEXT NOT NULL,
                    stored_at REAL NOT NULL);
                """)
        }
        return m
    }

    /// Folds the write-ahead log into the database file, so that `frontier.sqlite` alone is
    /// the whole store when someone copies it after the sweep.
    public func checkpoint() {
        try? pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }

    // MARK: - The grid

    /// Records the grid on a new store, or checks that a resumed store was made from the same
    /// grid: resuming with a different grid would silently mix two sweeps.
    public func prepare(grid: GridInfo, points: [SweepPoint]) throws {
        try pool.write { db in
            let existing = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'grid_fingerprint'")
            if let existing {
                guard existing == grid.fingerprint else {
                    let name = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'grid_name'") ?? "?"
                    throw SweepStoreError.differentGrid(store: folder.path, storedName: name, newName: grid.name)
                }
                return
            }
            for (key, value) in [("grid_name", grid.name), ("grid_source", grid.source),
                                 ("placement", grid.placement.rawValue), ("grid_fingerprint", grid.fingerprint),
                                 ("created_at", Self.timestamp(Date())), ("engine_version", FrontierVersion.string)] {
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?)", arguments: [key, value])
            }
            let insert = try db.makeStatement(sql: """
                INSERT INTO points (key, position, config_key, label, variant, task, model, is_baseline, repeat_index,
                                    parameters_json, spec_json, requirements, stage_key, train_on, inputs_json)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for (position, p) in points.enumerated() {
                try insert.execute(arguments: [p.key, position, p.configKey, p.label, p.variant, p.task, p.model,
                                               p.isBaseline, p.repeatIndex, Self.json(p.parameters),
                                               String(decoding: p.specJSON, as: UTF8.self), p.requirements.signature,
                                               p.stageKey, p.trainOn, p.inputs.isEmpty ? "[]" : Self.json(p.inputs)])
            }
        }
    }

    public func gridInfo() throws -> GridInfo? {
        try pool.read { db in
            var values: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta") { values[row["key"]] = row["value"] }
            guard let name = values["grid_name"], let fingerprint = values["grid_fingerprint"] else { return nil }
            return GridInfo(name: name, source: values["grid_source"] ?? "",
                            placement: SweepPlacement(rawValue: values["placement"] ?? "") ?? .everyDeviceClass,
                            fingerprint: fingerprint)
        }
    }

    /// The grid's points in grid order. Without specs (`includingSpecs: false`) each point is
    /// a few hundred bytes smaller: the coordinator holds 10⁵ of them and reads a spec only
    /// when it hands the point out (`specJSON(pointKey:)`).
    public func points(includingSpecs: Bool = true) throws -> [SweepPoint] {
        try pool.read { db in
            var out: [SweepPoint] = []
            let columns = includingSpecs ? "*"
                : "key, config_key, label, variant, task, model, is_baseline, repeat_index, parameters_json, requirements, "
                    + "stage_key, train_on, inputs_json"
            let rows = try Row.fetchCursor(db, sql: "SELECT \(columns) FROM points ORDER BY position")
            while let row = try rows.next() {
                let parameters: String = row["parameters_json"]
                out.append(SweepPoint(key: row["key"], configKey: row["config_key"], label: row["label"],
                                      variant: row["variant"], task: row["task"], model: row["model"],
                                      isBaseline: row["is_baseline"], repeatIndex: row["repeat_index"],
                                      parameters: parameters == "{}" ? [:] : Self.decode([String: String].self, parameters) ?? [:],
                                      specJSON: includingSpecs ? Data((row["spec_json"] as String).utf8) : Data(),
                                      requirements: TrialRequirements(signature: row["requirements"] ?? ""),
                                      stageKey: row["stage_key"], trainOn: row["train_on"],
                                      inputs: Self.decode([SweepStageInput].self, row["inputs_json"]) ?? []))
            }
            return out
        }
    }

    public func specJSON(pointKey: String) throws -> Data? {
        try pool.read { db in
            try String.fetchOne(db, sql: "SELECT spec_json FROM points WHERE key = ?", arguments: [pointKey])
                .map { Data($0.utf8) }
        }
    }

    /// Every artifact stored (complete and verified), for the scheduler's restart.
    public func artifacts() throws -> [SweepArtifactRow] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM artifacts ORDER BY stored_at").map {
                SweepArtifactRow(sha256: $0["sha256"], size: $0["size"], trialId: $0["trial_id"], agentId: $0["agent_id"],
                                 at: $0["stored_at"])
            }
        }
    }

    /// The checkpoint each finished training stage made (stage key → artifact), from the
    /// stages' accepted results: what a restarted scheduler hands to the trials that need them.
    public func stageArtifacts() throws -> [String: WireArtifactRef] {
        try stageResults().compactMapValues { $0.hasTraining && $0.training.hasArtifact ? $0.training.artifact : nil }
    }

    /// The accepted result of each training stage, by stage key (the typed message: a stage's
    /// result has no measurement JSON).
    public func stageResults() throws -> [String: WireTrialResult] {
        try pool.read { db in
            var out: [String: WireTrialResult] = [:]
            let rows = try Row.fetchAll(db, sql: """
                SELECT p.stage_key AS stage_key, r.result_pb AS result_pb FROM results r
                JOIN trials t ON t.trial_id = r.trial_id JOIN points p ON p.key = t.point_key
                WHERE p.stage_key IS NOT NULL
                """)
            for row in rows {
                guard let stage: String = row["stage_key"], let bytes: Data = row["result_pb"],
                      let result = try? WireTrialResult.decode(bytes) else { continue }
                out[stage] = result
            }
            return out
        }
    }

    public func trials() throws -> [SweepTrialRow] {
        try pool.read { db in
            var out: [SweepTrialRow] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT * FROM trials ORDER BY rowid")
            while let row = try rows.next() {
                let reasons: String = row["reasons_json"]
                out.append(SweepTrialRow(trialId: row["trial_id"], pointKey: row["point_key"],
                                         deviceClass: row["device_class"],
                                         state: SweepTrialRow.State(rawValue: row["state"]) ?? .pending,
                                         attempt: row["attempt"], agentId: row["agent_id"],
                                         reasons: reasons == "[]" ? [] : Self.decode([String].self, reasons) ?? []))
            }
            return out
        }
    }

    // MARK: - Changes

    /// Writes one batch in one transaction: all of it is durable when this returns, or none.
    public func apply(_ changes: [SweepStoreChange]) throws {
        guard !changes.isEmpty else { return }
        try pool.write { db in
            for change in changes { try Self.apply(change, db) }
        }
    }

    static func apply(_ change: SweepStoreChange, _ db: Database) throws {
        switch change {
        case let .agentSeen(a):
            try db.execute(sql: """
                INSERT INTO agents (agent_id, device_class, fingerprint_json, public_key, threads, engine_version,
                                    first_seen, last_seen, key_name, key_fingerprint, capabilities_json)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(agent_id) DO UPDATE SET device_class = excluded.device_class,
                    fingerprint_json = excluded.fingerprint_json, public_key = excluded.public_key,
                    threads = excluded.threads, engine_version = excluded.engine_version, last_seen = excluded.last_seen,
                    key_name = excluded.key_name, key_fingerprint = excluded.key_fingerprint,
                    capabilities_json = excluded.capabilities_json
                """, arguments: [a.agentId, a.deviceClass, a.fingerprintJSON, a.publicKey, a.threads, a.engineVersion,
                                 a.at, a.at, a.keyName, a.keyFingerprint, a.capabilitiesJSON])
        case let .trialsAdded(rows):
            let insert = try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO trials (trial_id, point_key, device_class, state, attempt, agent_id, reasons_json,
                                              updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let now = Date().timeIntervalSince1970
            for r in rows {
                try insert.execute(arguments: [r.trialId, r.pointKey, r.deviceClass, r.state.rawValue, r.attempt,
                                               r.agentId, json(r.reasons), now])
            }
        case let .trialLeased(trialId, attempt, agentId, keyFingerprint, at):
            try db.cachedStatement(sql: "UPDATE trials SET state = 'leased', attempt = ?, agent_id = ?, updated_at = ? WHERE trial_id = ?")
                .execute(arguments: [attempt, agentId, at, trialId])
            try db.cachedStatement(sql: "INSERT INTO attempts (trial_id, attempt, agent_id, started_at, key_fingerprint) VALUES (?, ?, ?, ?, ?)")
                .execute(arguments: [trialId, attempt, agentId, at, keyFingerprint])
        case let .attemptEnded(trialId, attempt, agentId, reason, nextAttempt, failed, at):
            let reasons = try String.fetchOne(db, sql: "SELECT reasons_json FROM trials WHERE trial_id = ?",
                                              arguments: [trialId])
            var list = decode([String].self, reasons) ?? []
            list.append(reason)
            try db.cachedStatement(sql: "UPDATE trials SET state = ?, attempt = ?, reasons_json = ?, updated_at = ? WHERE trial_id = ?")
                .execute(arguments: [failed ? "failed" : "pending", nextAttempt, json(list), at, trialId])
            try db.cachedStatement(sql: """
                UPDATE attempts SET ended_at = ?, outcome = 'ended', reason = ?
                WHERE trial_id = ? AND attempt = ? AND outcome = 'running'
                """).execute(arguments: [at, reason, trialId, attempt])
            if db.changesCount == 0 {
                try db.cachedStatement(sql: "INSERT INTO attempts (trial_id, attempt, agent_id, ended_at, outcome, reason) VALUES (?, ?, ?, ?, 'ended', ?)")
                    .execute(arguments: [trialId, attempt, agentId, at, reason])
            }
        case let .trialFailed(trialId, reason, at):
            let reasons = try String.fetchOne(db, sql: "SELECT reasons_json FROM trials WHERE trial_id = ?", arguments: [trialId])
            var list = decode([String].self, reasons) ?? []
            list.append(reason)
            try db.cachedStatement(sql: "UPDATE trials SET state = 'failed', reasons_json = ?, updated_at = ? WHERE trial_id = ?")
                .execute(arguments: [json(list), at, trialId])
        case let .artifactStored(a):
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO artifacts (sha256, size, trial_id, agent_id, stored_at) VALUES (?, ?, ?, ?, ?)")
                .execute(arguments: [a.sha256, a.size, a.trialId, a.agentId, a.at])
        case let .resultAccepted(r):
            try db.cachedStatement(sql: """
                INSERT INTO results (trial_id, attempt, agent_id, device_class, received_at, result_json, key_name,
                                     key_fingerprint, result_pb)
                VALUES (?, ?, ?, ?, ?, '', ?, ?, ?)
                """).execute(arguments: [r.trialId, r.attempt, r.agentId, r.deviceClass, r.at, r.keyName, r.keyFingerprint,
                                         r.encoded ?? r.result.encoded()])
            try db.cachedStatement(sql: "UPDATE trials SET state = 'done', agent_id = ?, updated_at = ? WHERE trial_id = ?")
                .execute(arguments: [r.agentId, r.at, r.trialId])
            // The attempt that delivered is 'ok'; any other still running is now redundant.
            try db.cachedStatement(sql: """
                UPDATE attempts SET ended_at = ?, outcome = CASE WHEN attempt = ? THEN 'ok' ELSE 'superseded' END
                WHERE trial_id = ? AND outcome = 'running'
                """).execute(arguments: [r.at, r.attempt, r.trialId])
            try db.cachedStatement(sql: "UPDATE agents SET last_seen = ? WHERE agent_id = ?")
                .execute(arguments: [r.at, r.agentId])
        case let .refused(r):
            try db.cachedStatement(sql: """
                INSERT INTO refusals (trial_id, attempt, agent_id, key_fingerprint, reason, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [r.trialId, r.attempt, r.agentId, r.keyFingerprint, r.reason, r.detail, r.at])
        case let .waiting(rows):
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('waiting_json', ?)", arguments: [json(rows)])
        }
    }

    /// A stored result as JSON: `result_json` for rows from before protocol 2, else the JSON
    /// export generated from the stored message (`results.result_pb`, a `frontier.v1.TrialResult`)
    /// — the measurement layer's record, with the keys every reader of results has always seen.
    /// Generated on reading, not on storing: the coordinator's loop stores thousands a second.
    static func resultJSON(json: String?, message: Data?) -> String? {
        if let json, !json.isEmpty { return json }
        guard let message, let wire = try? WireTrialResult.decode(message),
              let result = try? TrialResult(wire: wire), let data = try? JSONCoding.encoder.encode(result) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: - Reading for status and reports

    public struct Counts: Sendable, Equatable, Codable {
        public var total = 0
        public var pending = 0
        public var leased = 0
        public var done = 0
        public var failed = 0
        public var results = 0
        public var deviceClasses: [String: Int] = [:]
        /// Refused messages by reason (`NOT_LEASE_HOLDER`, `INVALID_RESULT`, …).
        public var refused: [String: Int] = [:]
        /// Trials no connected agent can run, as the coordinator last saw it.
        public var waiting: [SweepWaitingRow] = []
    }

    public func counts() throws -> Counts {
        try pool.read { db in
            var c = Counts()
            for row in try Row.fetchAll(db, sql: "SELECT state, device_class, COUNT(*) AS n FROM trials GROUP BY state, device_class") {
                let n: Int = row["n"]
                c.total += n
                c.deviceClasses[row["device_class"], default: 0] += n
                switch row["state"] as String {
                case "pending": c.pending += n
                case "leased": c.leased += n
                case "done": c.done += n
                case "failed": c.failed += n
                default: break
                }
            }
            c.results = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM results") ?? 0
            // A store from before protocol 2, read without migrating (`frontier status` is read-only).
            if try db.tableExists("refusals") {
                for row in try Row.fetchAll(db, sql: "SELECT reason, COUNT(*) AS n FROM refusals GROUP BY reason") {
                    c.refused[row["reason"]] = row["n"]
                }
            }
            let waiting = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'waiting_json'")
            c.waiting = Self.decode([SweepWaitingRow].self, waiting) ?? []
            return c
        }
    }

    public struct StoredAgent: Sendable, Equatable, Codable {
        public var agentId: String
        public var deviceClass: String
        public var fingerprintJSON: String
        public var firstSeen: Double
        public var lastSeen: Double
        public var done: Int
    }

    public func agents() throws -> [StoredAgent] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT a.*, (SELECT COUNT(*) FROM results r WHERE r.agent_id = a.agent_id) AS done
                FROM agents a ORDER BY a.agent_id
                """).map { row in
                StoredAgent(agentId: row["agent_id"], deviceClass: row["device_class"],
                            fingerprintJSON: row["fingerprint_json"], firstSeen: row["first_seen"],
                            lastSeen: row["last_seen"], done: row["done"])
            }
        }
    }

    /// One row per trial with its point and, when there is one, its accepted result.
    public struct StoredTrial: Sendable {
        public var trial: SweepTrialRow
        public var point: SweepPoint
        public var resultJSON: String?
        public var resultAgentId: String?
        public var receivedAt: Double?
    }

    public func storedTrials() throws -> [StoredTrial] {
        let points = Dictionary(uniqueKeysWithValues: try self.points().map { ($0.key, $0) })
        return try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT t.*, r.result_json, r.result_pb, r.agent_id AS result_agent, r.received_at FROM trials t
                LEFT JOIN results r ON r.trial_id = t.trial_id ORDER BY t.rowid
                """).compactMap { row in
                guard let point = points[row["point_key"]] else { return nil }
                let trial = SweepTrialRow(trialId: row["trial_id"], pointKey: row["point_key"],
                                          deviceClass: row["device_class"],
                                          state: SweepTrialRow.State(rawValue: row["state"]) ?? .pending,
                                          attempt: row["attempt"], agentId: row["agent_id"],
                                          reasons: Self.decode([String].self, row["reasons_json"]) ?? [])
                return StoredTrial(trial: trial, point: point,
                                   resultJSON: Self.resultJSON(json: row["result_json"], message: row["result_pb"]),
                                   resultAgentId: row["result_agent"], receivedAt: row["received_at"])
            }
        }
    }

    /// Accepted results per trial id: the exactly-once check of the tests.
    public func resultCounts() throws -> [String: Int] {
        try pool.read { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT trial_id, COUNT(*) AS n FROM results GROUP BY trial_id") {
                out[row["trial_id"]] = row["n"]
            }
            return out
        }
    }

    public struct StoredRefusal: Sendable, Equatable, Codable {
        public var trialId: String?
        public var attempt: Int?
        public var agentId: String?
        public var keyFingerprint: String?
        public var reason: String
        public var detail: String
        public var at: Double
    }

    /// The most recent refusals, newest first.
    public func refusals(limit: Int = 100) throws -> [StoredRefusal] {
        try pool.read { db in
            guard try db.tableExists("refusals") else { return [] }
            return try Row.fetchAll(db, sql: "SELECT * FROM refusals ORDER BY id DESC LIMIT ?", arguments: [limit]).map {
                StoredRefusal(trialId: $0["trial_id"], attempt: $0["attempt"], agentId: $0["agent_id"],
                              keyFingerprint: $0["key_fingerprint"], reason: $0["reason"], detail: $0["detail"], at: $0["at"])
            }
        }
    }

    public func attemptsCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM attempts") ?? 0 }
    }

    // MARK: - Helpers

    /// Makes failed trials pending again, each with a fresh count of attempts, for the next
    /// `frontier serve` on this store (`frontier retry`): `trialIds` (each must be failed), and
    /// with `allFailed` every failed trial. Their earlier attempts and reasons stay, with a line
    /// saying when they were reset. Returns the ids reset. Done trials are never touched: their
    /// result stands. A coordinator serving the store while this runs does not see it until
    /// it is restarted.
    public func retry(trialIds: [String], allFailed: Bool, at date: Date = Date()) throws -> [String] {
        try pool.write { db in
            var ids: [String] = []
            if allFailed {
                ids = try String.fetchAll(db, sql: "SELECT trial_id FROM trials WHERE state = 'failed' ORDER BY rowid")
            }
            for id in trialIds where !ids.contains(id) {
                guard let state = try String.fetchOne(db, sql: "SELECT state FROM trials WHERE trial_id = ?", arguments: [id]) else {
                    throw SweepStoreError.cannotRetry(id, "no such trial in this store")
                }
                guard state == "failed" else {
                    throw SweepStoreError.cannotRetry(id, "it is \(state), not failed (only failed trials are run again)")
                }
                ids.append(id)
            }
            // A training stage run again takes along the trials that failed only because it had:
            // their last reason names it (`dependency … (stage KEY) failed`), transitively.
            var stages = try ids.compactMap { id in
                try String.fetchOne(db, sql: "SELECT p.stage_key FROM trials t JOIN points p ON p.key = t.point_key WHERE t.trial_id = ?",
                                    arguments: [id])
            }
            let failedRows = stages.isEmpty ? [] : try Row.fetchAll(db, sql: """
                SELECT t.trial_id AS trial_id, t.reasons_json AS reasons, p.stage_key AS stage_key FROM trials t
                JOIN points p ON p.key = t.point_key WHERE t.state = 'failed'
                """)
            while let stage = stages.popLast() {
                for row in failedRows {
                    let id: String = row["trial_id"]
                    guard !ids.contains(id), let last = Self.decode([String].self, row["reasons"])?.last,
                          last.hasPrefix("dependency "), last.contains("(stage \(stage)) failed") else { continue }
                    ids.append(id)
                    if let nested: String = row["stage_key"] { stages.append(nested) }
                }
            }
            let note = "reset for a retry at \(Self.timestamp(date)) (frontier retry)"
            for id in ids {
                let reasons = try String.fetchOne(db, sql: "SELECT reasons_json FROM trials WHERE trial_id = ?", arguments: [id])
                var list = Self.decode([String].self, reasons) ?? []
                list.append(note)
                try db.execute(sql: """
                    UPDATE trials SET state = 'pending', attempt = 1, agent_id = NULL, reasons_json = ?, updated_at = ?
                    WHERE trial_id = ?
                    """, arguments: [Self.json(list), date.timeIntervalSince1970, id])
            }
            return ids
        }
    }

    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "null"
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String?) -> T? {
        guard let text else { return nil }
        return try? JSONDecoder().decode(type, from: Data(text.utf8))
    }

    static func timestamp(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}

public enum SweepStoreError: Error, CustomStringConvertible {
    case noStore(String)
    case cannotOpen(String, String)
    case differentGrid(store: String, storedName: String, newName: String)
    case cannotRetry(String, String)

    public var description: String {
        switch self {
        case let .cannotRetry(id, why): return "cannot retry \(id): \(why)"
        case let .noStore(path): return "\(path): no sweep store here (no frontier.sqlite); start one with `frontier serve` or `frontier local`"
        case let .cannotOpen(path, detail): return "\(path): cannot open the sweep store: \(detail)"
        case let .differentGrid(store, storedName, newName):
            return "\(store): this store holds the sweep of grid '\(storedName)', made from a different grid file than "
                + "'\(newName)'; resume with the same grid file, or use a new --store folder"
        }
    }
}
