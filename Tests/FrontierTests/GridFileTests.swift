import Foundation
import Testing
@testable import FrontierGrid
@testable import FrontierMeasurement
@testable import FrontierStore
@testable import FrontierSupport
@testable import FrontierTechniques


/// Sweep grid files: YAML → checked `GridFile` → ordered `GridPoint`s with stable keys, and
/// every mistake reported at its file:line:column with the key path.
@Suite struct GridFileTests {
    static let header = """
        name: test-grid
        data_root: /data/glue
        tasks: [SST-2]
        models: [/models/minilm]

        """

    func parse(_ yaml: String) throws -> GridFile { try GridFile.parse(text: yaml, source: "grid.yaml") }
    func points(_ yaml: String) throws -> [GridPoint] { try parse(yaml).points() }

    /// The error parsing and expanding `yaml` gives (nil when there is none).
    func failure(_ yaml: String) -> GridError? {
        do {
            _ = try points(yaml)
            return nil
        } catch let error as GridError {
            return error
        } catch {
            Issue.record("not a GridError: \(error)")
            return nil
        }
    }

    /// Where `needle` (its `occurrence`-th appearance, from 1) starts in `text`, as libyaml counts.
    func mark(of needle: String, in text: String, occurrence: Int = 1) -> GridMark {
        var searchStart = text.startIndex
        var found: Range<String.Index>?
        for _ in 0..<occurrence {
            found = text.range(of: needle, range: searchStart..<text.endIndex)
            searchStart = found!.upperBound
        }
        let prefix = text[..<found!.lowerBound]
        let line = prefix.filter { $0 == "\n" }.count + 1
        let lineStart = prefix.lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex
        return GridMark(line: line, column: text[lineStart..<found!.lowerBound].unicodeScalars.count + 1)
    }

    // MARK: - Expansion

    @Test func cartesianProductOverTasksModelsAndAxes() throws {
        let yaml = """
            name: product
            data_root: /data/glue
            tasks: [SST-2, mrpc]
            models:
              - /models/a
              - {path: /models/b/, name: bee}
            variants:
              - name: dense
                techniques: []
              - name: magnitude
                techniques:
                  - {name: magnitude-pruning, sparsity: "${sparsity}", kernel: "${kernel}"}
                axes:
                  sparsity: [0.5, 0.7, 0.9]
                  kernel: [auto, always, never]
            """
        let grid = try parse(yaml)
        #expect(grid.tasks.map(\.name) == ["SST-2", "MRPC"])
        #expect(grid.models.map(\.name) == ["a", "bee"])
        let points = try grid.points()
        #expect(points.count == 2 * 2 * (1 + 9))
        // Order: task, model, variant, then the product with the first axis outermost.
        #expect(points.prefix(5).map(\.label) == ["dense", "magnitude sparsity=0.5 kernel=auto", "magnitude sparsity=0.5 kernel=always",
                                                  "magnitude sparsity=0.5 kernel=never", "magnitude sparsity=0.7 kernel=auto"])
        #expect(points[0].task == "SST-2" && points[0].model.label == "a")
        #expect(points[10].model.label == "bee" && points[10].model.path == "/models/b/")
        #expect(points[20].task == "MRPC")
        let last = try #require(points.last)
        #expect(last.axisValues == [.init(name: "sparsity", value: "0.9"), .init(name: "kernel", value: "never")])
        #expect(last.parameters == ["sparsity": "0.9", "kernel": "never"])
        #expect(last.spec.techniques.count == 1)
        #expect(last.spec.techniques[0].sparsity == 0.9 && last.spec.techniques[0].kernel == .never)
        #expect(last.spec.trialId == nil && last.spec.data == "/data/glue" && last.spec.task == "MRPC")
        for point in points { try point.spec.validate() }
    }

    @Test func largeGridsExpandWithDistinctKeys() throws {
        let sparsities = (0..<20).map { String(Double($0) * 0.05) }.joined(separator: ", ")
        let batches = (1...10).map { String($0 * 4) }.joined(separator: ", ")
        let yaml = """
            data_root: /data/glue
            tasks: [SST-2, CoLA, MRPC]
            models: [/models/a, /models/b]
            variants:
              - name: dense
              - name: magnitude
                techniques: [{name: magnitude-pruning, sparsity: "${s}", kernel: "${k}", scope: "${scope}"}]
                measurement: {batch: "${batch}"}
                axes:
                  s: [\(sparsities)]
                  k: [auto, always, never]
                  scope: [global, layer]
                  batch: [\(batches)]
            """
        let expansion = try GridExpansion(parse(yaml))
        #expect(expansion.points.count == 3 * 2 * (1 + 20 * 3 * 2 * 10))
        #expect(Set(expansion.points.map(\.key)).count == expansion.points.count)
        #expect(Set(expansion.points.map(\.configKey)).count == expansion.points.count)
    }

    @Test func zippedAxesAdvanceTogether() throws {
        let yaml = Self.header + """
            variants:
              - name: dense
                techniques: []
              - name: tokens
                techniques:
                  - {name: token-pruning, keep_fraction: "${keep}", from_layer: "${layer}"}
                measurement: {batch: "${batch}"}
                axes:
                  keep: [0.3, 0.5, 0.7]
                  batch: [8, 32]
                  layer: [3, 2, 1]
                zip: [[keep, layer]]
            """
        let points = try points(yaml).filter { $0.variant == "tokens" }
        #expect(points.count == 3 * 2)
        #expect(points.map(\.label) == ["tokens keep=0.3 batch=8 layer=3", "tokens keep=0.3 batch=32 layer=3",
                                        "tokens keep=0.5 batch=8 layer=2", "tokens keep=0.5 batch=32 layer=2",
                                        "tokens keep=0.7 batch=8 layer=1", "tokens keep=0.7 batch=32 layer=1"])
        #expect(points.map(\.spec.batch) == [8, 32, 8, 32, 8, 32])
        #expect(points[4].spec.techniques[0].keepFraction == 0.7 && points[4].spec.techniques[0].fromLayer == 1)

        // `zip: [a, b]` is the same single group.
        let flat = yaml.replacingOccurrences(of: "zip: [[keep, layer]]", with: "zip: [keep, layer]")
        #expect(try self.points(flat).map(\.label) == (try self.points(yaml)).map(\.label))
    }

    @Test func zipGroupsOfUnequalLengthAreAnError() throws {
        let yaml = Self.header + """
            variants:
              - name: dense
                techniques: []
              - name: tokens
                techniques:
                  - {name: token-pruning, keep_fraction: "${keep}", from_layer: "${layer}"}
                axes:
                  keep: [0.3, 0.5, 0.7]
                  layer: [2, 1]
                zip: [[keep, layer]]
            """
        let error = try #require(failure(yaml))
        #expect(error.kind == .invalidCombination)
        #expect(error.mark == mark(of: "[keep, layer]", in: yaml))
        #expect(error.path == "variants[1].zip[0]")
        #expect(error.message == "zipped axes need the same number of values: keep has 3, layer has 2")

        let notAnAxis = try #require(failure(yaml.replacingOccurrences(of: "[[keep, layer]]", with: "[[keep, layers]]")))
        #expect(notAnAxis.kind == .badValue && notAnAxis.path == "variants[1].zip[0][1]")
        #expect(notAnAxis.message.contains("'layers' is not an axis of variant 'tokens'"))
    }

    @Test func excludeRulesRemoveMatchingPoints() throws {
        let yaml = """
            name: rules
            data_root: /data/glue
            tasks: [SST-2, CoLA]
            models: [/models/m]
            variants:
              - name: dense
                techniques: []
              - name: magnitude
                techniques:
                  - {name: magnitude-pruning, sparsity: "${sparsity}", kernel: "${kernel}"}
                axes:
                  sparsity: [0.5, 0.7, 0.9]
                  kernel: [auto, always]
            exclude:
              - {variant: magnitude, sparsity: 0.9, kernel: always}
              - {task: CoLA, sparsity: [0.50, 0.7]}
            """
        let points = try points(yaml)
        let sst2 = points.filter { $0.task == "SST-2" }.map(\.label)
        let cola = points.filter { $0.task == "CoLA" }.map(\.label)
        #expect(sst2 == ["dense", "magnitude sparsity=0.5 kernel=auto", "magnitude sparsity=0.5 kernel=always",
                         "magnitude sparsity=0.7 kernel=auto", "magnitude sparsity=0.7 kernel=always", "magnitude sparsity=0.9 kernel=auto"])
        #expect(cola == ["dense", "magnitude sparsity=0.9 kernel=auto"])

        // A rule that matches nothing is almost always a typo in its values.
        let typo = yaml.replacingOccurrences(of: "sparsity: 0.9, kernel: always", with: "sparsity: 0.95, kernel: always")
        let error = try #require(failure(typo))
        #expect(error.kind == .invalidCombination && error.path == "exclude[0]")
        #expect(error.mark == mark(of: "{variant: magnitude, sparsity: 0.95", in: typo))

        // Rule keys are variant, task, model or an axis.
        let unknown = try #require(failure(yaml.replacingOccurrences(of: "{task: CoLA,", with: "{tasks: CoLA,")))
        #expect(unknown.kind == .unknownKey && unknown.message.contains("did you mean 'task'"))
        let noVariant = try #require(failure(yaml.replacingOccurrences(of: "{variant: magnitude,", with: "{variant: magnitud,")))
        #expect(noVariant.kind == .badValue && noVariant.message.contains("did you mean 'magnitude'"))
        let noTask = try #require(failure(yaml.replacingOccurrences(of: "{task: CoLA,", with: "{task: RTE,")))
        #expect(noTask.kind == .badValue && noTask.message.contains("not in this grid's tasks"))
    }

    @Test func includeAddsExplicitPoints() throws {
        let yaml = """
            name: rules
            data_root: /data/glue
            tasks: [SST-2, CoLA]
            models: [/models/m]
            variants:
              - name: dense
                techniques: []
              - name: magnitude
                techniques:
                  - {name: magnitude-pruning, sparsity: "${sparsity}"}
                axes:
                  sparsity: [0.5, 0.9]
            include:
              - {variant: magnitude, sparsity: 0.95, task: SST-2}
              - {variant: magnitude, sparsity: 0.7}
            exclude:
              - {variant: magnitude, sparsity: 0.9}
            """
        let points = try points(yaml)
        #expect(points.filter { $0.task == "SST-2" }.map(\.label) == ["dense", "magnitude sparsity=0.5", "magnitude sparsity=0.95", "magnitude sparsity=0.7"])
        #expect(points.filter { $0.task == "CoLA" }.map(\.label) == ["dense", "magnitude sparsity=0.5", "magnitude sparsity=0.7"])
        #expect(points.filter(\.isIncluded).count == 3)
        #expect(points.first { $0.label == "magnitude sparsity=0.95" }?.spec.techniques[0].sparsity == 0.95)

        let duplicate = yaml.replacingOccurrences(of: "{variant: magnitude, sparsity: 0.7}", with: "{variant: magnitude, sparsity: 0.5}")
        let error = try #require(failure(duplicate))
        #expect(error.kind == .duplicate && error.path == "include[1]")
        #expect(error.message.contains("already a point of the grid (magnitude sparsity=0.5"))

        let missing = try #require(failure(yaml.replacingOccurrences(of: "{variant: magnitude, sparsity: 0.7}", with: "{variant: magnitude}")))
        #expect(missing.kind == .missingKey && missing.message.contains("missing key 'sparsity'"))

        // An include is checked like any point: out of range is an error at the include's value.
        let bad = yaml.replacingOccurrences(of: "sparsity: 0.95, task", with: "sparsity: 1.5, task")
        let range = try #require(failure(bad))
        #expect(range.kind == .badValue && range.mark == mark(of: "1.5", in: bad))
        #expect(range.message.contains("sparsity must be in [0, 0.99]; got 1.5"))
    }

    @Test func repeatsMultiplyPointsAndComeOutermost() throws {
        let yaml = """
            name: repeats
            data_root: /data/glue
            tasks: [SST-2]
            models: [/models/m]
            repeats: 3
            variants:
              - name: dense
                techniques: []
              - name: int8
                repeats: 1
                techniques: [{name: quantization, mode: int8}]
            """
        let points = try points(yaml)
        #expect(points.map(\.label) == ["dense", "int8", "dense", "dense"])
        #expect(points.map(\.repeatIndex) == [0, 0, 1, 2])
        let dense = points.filter { $0.variant == "dense" }
        #expect(Set(dense.map(\.key)).count == 3)
        #expect(Set(dense.map(\.configKey)).count == 1)

        let zero = try #require(failure(yaml.replacingOccurrences(of: "repeats: 3", with: "repeats: 0")))
        #expect(zero.kind == .badValue && zero.path == "repeats" && zero.mark == mark(of: "0", in: yaml.replacingOccurrences(of: "repeats: 3", with: "repeats: 0")))
    }

    @Test func placement() throws {
        let base = Self.header + "variants: [{name: dense, techniques: []}]\n"
        #expect(try parse(base).placement == .everyDeviceClass)
        #expect(try parse(base + "placement: any\n").placement == .any)
        #expect(try parse(base + "placement: every-device-class\n").placement == .everyDeviceClass)
        #expect(try GridExpansion(parse(base + "placement: any\n")).placement == .any)

        let bad = base + "placement: everywhere\n"
        let error = try #require(failure(bad))
        #expect(error.description == "grid.yaml:\(mark(of: "everywhere", in: bad)): placement: expected one of every-device-class, any; got \"everywhere\"")
    }

    // MARK: - Keys

    @Test func keysAreStableAndLocal() throws {
        let yaml = Self.header + """
            variants:
              - name: dense
                techniques: []
              - name: magnitude
                techniques:
                  - {name: magnitude-pruning, sparsity: "${sparsity}"}
                axes:
                  sparsity: [0.5, 0.9]
            """
        let first = try points(yaml)
        #expect(try points(yaml).map(\.key) == first.map(\.key))
        #expect(first.allSatisfy { $0.key.count == 16 && $0.key.allSatisfy(\.isHexDigit) })
        #expect(Set(first.map(\.key)).count == first.count)
        // Pinned: the key scheme must not change by accident (restarted coordinators and
        // stored sweeps find their points by these).
        #expect(first[0].key == GridPoint.key(task: "SST-2", model: "minilm", variant: "dense", axes: [], repeatIndex: 0))
        #expect(GridPoint.hash("") == "cbf29ce484222325")
        #expect(first[0].key == "80bf153fabca9827")

        func keys(_ points: [GridPoint]) -> [String: String] {
            Dictionary(uniqueKeysWithValues: points.map { ($0.label, $0.key) })
        }
        let before = keys(first)

        // Another variant, a new axis value, another order, comments and spellings: the
        // points that were there keep their keys.
        let edited = Self.header + """
            # edited
            variants:
              - name: int8
                techniques: [{name: quantization, mode: int8}]
              - name: magnitude
                techniques:
                  - {name: magnitude-pruning, sparsity: "${sparsity}", kernel: auto}
                axes:
                  sparsity: [0.90, 0.7, 5e-1]
              - name: dense
                techniques: []
            """
        let after = keys(try points(edited))
        for (label, key) in before { #expect(after[label] == key, "\(label)") }
        #expect(after.count == 5)

        // Renaming the model label, or the task, does change them.
        let renamed = try points(yaml.replacingOccurrences(of: "models: [/models/minilm]", with: "models: [{path: /models/minilm, name: other}]"))
        #expect(Set(renamed.map(\.key)).isDisjoint(with: first.map(\.key)))
        // The spelling of a task does not: keys use the canonical name.
        #expect(try points(yaml.replacingOccurrences(of: "tasks: [SST-2]", with: "tasks: [sst2]")).map(\.key) == first.map(\.key))
    }

    @Test func fingerprintFollowsTheTrialsNotTheText() throws {
        let yaml = Self.header + """
            variants:
              - name: dense
                techniques: []
            """
        let a = try GridExpansion(parse(yaml))
        let b = try GridExpansion(parse("# a comment\n" + yaml))
        let c = try GridExpansion(parse(yaml + "\nmeasurement: {batch: 8}\n"))
        let d = try GridExpansion(parse(yaml + "\nplacement: any\n"))
        #expect(a.fingerprint == b.fingerprint)
        #expect(a.fingerprint != c.fingerprint && a.fingerprint != d.fingerprint)
        #expect(a.points.map(\.key) == c.points.map(\.key))
        #expect(a.gridInfo == SweepStore.GridInfo(name: "test-grid", source: "grid.yaml", placement: .everyDeviceClass, fingerprint: a.fingerprint))
    }

    @Test func sweepPointsCarryTheSpecTheAgentReads() throws {
        let yaml = Self.header + """
            measurement: {batch: 8, limit: 64, min_duration_s: 0.5, energy: {meter: estimated}}
            variants:
              - name: dense
                techniques: []
              - name: heads
                techniques: [{name: head-pruning, per_layer: "${heads}"}]
                axes: {heads: [2]}
            """
        let points = try points(yaml)
        let sweep = try GridExpansion(parse(yaml)).sweepPoints()
        #expect(sweep.map(\.key) == points.map(\.key))
        #expect(sweep[1].parameters == ["heads": "2"] && sweep[1].configKey == points[1].configKey)
        #expect(sweep[0].isBaseline && !sweep[1].isBaseline && sweep[1].model == "minilm" && sweep[1].label == "heads heads=2")
        let spec = try TrialSpec.decode(sweep[1].specJSON, source: "wire")
        #expect(spec == points[1].spec)
        #expect(spec.batch == 8 && spec.limit == 64 && spec.measurement.minDurationS == 0.5 && spec.measurement.energy.meter == .estimated)
        #expect(spec.techniques == [{ var t = TechniqueSpec(name: .headPruning); t.perLayer = 2; return t }()])
    }

    // MARK: - Baseline

    @Test func theBaselineIsDerived() throws {
        let plain = Self.header + """
            variants:
              - name: int8
                techniques: [{name: quantization, mode: int8}]
              - name: fp32
                techniques: []
            """
        let grid = try parse(plain)
        #expect(grid.baseline?.name == "fp32")
        #expect(try grid.points().map(\.isBaseline) == [false, true])

        let flagged = Self.header + """
            variants:
              - name: dense-b1
                techniques: []
                measurement: {batch: 1}
              - name: dense
                baseline: true
                techniques: []
            """
        #expect(try parse(flagged).baseline?.name == "dense")

        let ambiguous = try #require(failure(flagged.replacingOccurrences(of: "    baseline: true\n", with: "")))
        #expect(ambiguous.kind == .invalidCombination && ambiguous.message.contains("mark the baseline with `baseline: true`"))

        let none = try #require(failure(Self.header + "variants:\n  - name: int8\n    techniques: [{name: quantization, mode: int8}]\n"))
        #expect(none.kind == .missingKey && none.path == "variants" && none.message.hasPrefix("no baseline"))

        let two = flagged.replacingOccurrences(of: "    measurement: {batch: 1}", with: "    baseline: true")
        let twice = try #require(failure(two))
        #expect(twice.kind == .duplicate && twice.path == "variants[1].baseline" && twice.mark == mark(of: "true", in: two, occurrence: 2))

        // `baseline: false` declines the default; a technique variant can be the baseline.
        let declined = Self.header + """
            variants:
              - name: dense
                baseline: false
                techniques: []
              - name: int8
                baseline: true
                techniques: [{name: quantization, mode: int8}]
            """
        #expect(try parse(declined).baseline?.name == "int8")
    }

    // MARK: - Errors at their line and column

    @Test func wrongTypeNamesLineColumnAndKey() throws {
        let yaml = Self.header + """
            variants:
              - name: dense
                techniques: []
              - name: ffn
                techniques:
                  - {name: magnitude-pruning, sparsity: "ninety"}
            """
        let error = try #require(failure(yaml))
        let at = mark(of: "\"ninety\"", in: yaml)
        #expect(error.kind == .wrongType)
        #expect(error.description == "grid.yaml:\(at.line):\(at.column): variants[1].techniques[0].sparsity: expected a number, got \"ninety\"")

        let quoted = yaml.replacingOccurrences(of: "\"ninety\"", with: "\"0.9\"")
        #expect(try #require(failure(quoted)).message == "expected a number, got \"0.9\" (quoted, so a string)")

        let integer = Self.header + "measurement:\n  batch: 2.5\nvariants: [{name: dense, techniques: []}]\n"
        let batch = try #require(failure(integer))
        #expect(batch.kind == .wrongType && batch.path == "measurement.batch" && batch.mark == mark(of: "2.5", in: integer))
        #expect(batch.message == "expected an integer, got 2.5")

        let list = try #require(failure(Self.header + "variants: {name: dense}\n"))
        #expect(list.kind == .wrongType && list.path == "variants")
    }

    @Test func unknownKeysAreErrorsWithSuggestions() throws {
        let top = Self.header + "variants: [{name: dense, techniques: []}]\nrepeat: 2\n"
        let error = try #require(failure(top))
        #expect(error.kind == .unknownKey && error.mark == mark(of: "repeat:", in: top) && error.path == "")
        #expect(error.message.hasPrefix("unknown key 'repeat' (did you mean 'repeats'?)"))

        let measurement = Self.header + "measurement:\n  min_duraton_s: 2\nvariants: [{name: dense, techniques: []}]\n"
        let typo = try #require(failure(measurement))
        #expect(typo.description.hasPrefix("grid.yaml:\(mark(of: "min_duraton_s", in: measurement)): measurement: unknown key 'min_duraton_s' (did you mean 'min_duration_s'?)"))

        let energy = Self.header + "measurement: {energy: {meter: rapl, sysfs: /host}}\nvariants: [{name: dense, techniques: []}]\n"
        let nested = try #require(failure(energy))
        #expect(nested.path == "measurement.energy" && nested.mark == mark(of: "sysfs:", in: energy))

        let technique = Self.header + """
            variants:
              - name: dense
                techniques: []
              - name: magnitude
                techniques:
                  - name: magnitude-pruning
                    sparsity: 0.5
                    fraction: 0.2
            """
        let misplaced = try #require(failure(technique))
        #expect(misplaced.kind == .unknownKey && misplaced.path == "variants[1].techniques[0].fraction")
        #expect(misplaced.mark == mark(of: "fraction", in: technique))
        #expect(misplaced.message.hasPrefix("magnitude-pruning does not take 'fraction' (it takes kernel, mask, save_mask, scope, sparsity)"))

        let variant = try #require(failure(Self.header + "variants:\n  - name: dense\n    technique: []\n"))
        #expect(variant.kind == .unknownKey && variant.path == "variants[0]" && variant.message.contains("did you mean 'techniques'"))
    }

    @Test func badValuesNameLineColumnAndKey() throws {
        let kernel = Self.header + """
            variants:
              - name: dense
                techniques: []
              - name: magnitude
                techniques:
                  - {name: magnitude-pruning, sparsity: 0.9, kernel: sparse}
            """
        let choice = try #require(failure(kernel))
        #expect(choice.description == "grid.yaml:\(mark(of: "sparse}", in: kernel)): variants[1].techniques[0].kernel: expected one of auto, always, never; got \"sparse\"")

        let name = try #require(failure(kernel.replacingOccurrences(of: "name: magnitude-pruning", with: "name: magnitude-prune")))
        #expect(name.kind == .badValue && name.message.contains("did you mean 'magnitude-pruning'"))

        // Out of range through an axis: the position is the axis value, the path the parameter.
        let axis = Self.header + """
            variants:
              - name: dense
                techniques: []
              - name: ffn
                techniques:
                  - {name: ffn-pruning, fraction: "${fraction}"}
                axes:
                  fraction: [0.25, 0.5, 1.0]
            """
        let range = try #require(failure(axis))
        #expect(range.kind == .badValue && range.mark == mark(of: "1.0", in: axis))
        #expect(range.description.hasSuffix("variants[1].techniques[0].fraction: ffn-pruning: fraction must be in [0, 1); got 1.0 (variant 'ffn' with fraction=1.0)"))

        // Excluding the bad value makes the grid valid: only surviving points are checked.
        #expect(try points(axis + "\nexclude: [{fraction: 1.0}]\n").count == 3)

        let batch = Self.header + "measurement:\n  batch: 0\nvariants: [{name: dense, techniques: []}]\n"
        let zero = try #require(failure(batch))
        #expect(zero.kind == .badValue && zero.path == "measurement.batch" && zero.mark == mark(of: "0", in: batch))
        #expect(zero.message == "batch must be ≥ 1; got 0")

        let durations = Self.header + "measurement:\n  min_duration_s: 5\n  max_duration_s: 2\nvariants: [{name: dense, techniques: []}]\n"
        let order = try #require(failure(durations))
        #expect(order.path == "measurement.max_duration_s" && order.mark == mark(of: "2\n", in: durations))

        let task = Self.header.replacingOccurrences(of: "tasks: [SST-2]", with: "tasks: [SST2, CoLA, ssT]") + "variants: [{name: dense, techniques: []}]\n"
        let unknownTask = try #require(failure(task))
        #expect(unknownTask.kind == .badValue && unknownTask.path == "tasks[2]" && unknownTask.mark == mark(of: "ssT", in: task))
        #expect(unknownTask.message.hasPrefix("unknown task 'ssT' (supported: CoLA, SST-2"))
    }

    @Test func badTechniqueCombinationsNameTheTechnique() throws {
        let yaml = Self.header + """
            variants:
              - name: dense
                techniques: []
              - name: int8+heads
                techniques:
                  - {name: quantization, mode: int8}
                  - {name: head-pruning, per_layer: "${heads}"}
                axes: {heads: [2, 4]}
            """
        let error = try #require(failure(yaml))
        #expect(error.kind == .invalidCombination)
        #expect(error.path == "variants[1].techniques[1]" && error.mark == mark(of: "{name: head-pruning", in: yaml))
        #expect(error.message.contains("quantization must come after head-pruning"))
        #expect(error.message.hasSuffix("(variant 'int8+heads' with heads=2)"))

        let twice = Self.header + """
            variants:
              - name: dense
                techniques: []
              - name: q
                techniques:
                  - {name: quantization, mode: int8}
                  - {name: quantization, mode: fp16}
            """
        let listed = try #require(failure(twice))
        #expect(listed.kind == .invalidCombination && listed.path == "variants[1].techniques[1]")
        #expect(listed.message.hasSuffix("quantization is listed twice"))

        let either = Self.header + """
            variants:
              - name: dense
                techniques: []
              - name: heads
                techniques:
                  - {name: head-pruning, per_layer: 2, heads: {"0": [1]}}
            """
        let both = try #require(failure(either))
        #expect(both.kind == .badValue && both.path == "variants[1].techniques[0].per_layer" && both.mark == mark(of: "2,", in: either))
    }

    @Test func axesArePlaceholdersThatMustBeDeclaredAndUsed() throws {
        let unknown = Self.header + """
            variants:
              - name: dense
                techniques: []
              - name: magnitude
                techniques: [{name: magnitude-pruning, sparsity: "${sparsty}"}]
                axes: {sparsity: [0.5]}
            """
        let error = try #require(failure(unknown))
        #expect(error.kind == .badValue && error.path == "variants[1].techniques[0].sparsity" && error.mark == mark(of: "\"${sparsty}\"", in: unknown))
        #expect(error.message == "${sparsty} is not an axis of variant 'magnitude' (its axes: sparsity)")

        let unused = Self.header + """
            variants:
              - name: dense
                techniques: []
              - name: magnitude
                techniques: [{name: magnitude-pruning, sparsity: 0.5}]
                axes: {sparsity: [0.5, 0.7]}
            """
        let notUsed = try #require(failure(unused))
        #expect(notUsed.kind == .invalidCombination && notUsed.path == "variants[1].axes.sparsity")
        #expect(notUsed.mark == mark(of: "sparsity: [", in: unused))

        let duplicateValue = unused.replacingOccurrences(of: "[0.5, 0.7]", with: "[0.5, 0.50]")
        let dup = try #require(failure(duplicateValue))
        #expect(dup.kind == .duplicate && dup.path == "variants[1].axes.sparsity[1]")

        let reserved = try #require(failure(unused.replacingOccurrences(of: "axes: {sparsity:", with: "axes: {task:")))
        #expect(reserved.kind == .badValue && reserved.message.contains("reserved"))

        let empty = try #require(failure(unused.replacingOccurrences(of: "[0.5, 0.7]", with: "[]")))
        #expect(empty.kind == .emptyGrid && empty.path == "variants[1].axes.sparsity")

        // Environment variables in paths are left for the agent; axes inside text substituted.
        let paths = Self.header + """
            variants:
              - name: dense
                techniques: []
              - name: magnitude
                techniques:
                  - name: magnitude-pruning
                    sparsity: ${s}
                    save_mask: ${HOME}/masks/s${s}.safetensors
                axes: {s: [0.5]}
              - name: masked
                techniques:
                  - {name: magnitude-pruning, mask: "${FRONTIER_SHARED}/masks/m.safetensors"}
            """
        let points = try points(paths)
        #expect(points[1].spec.techniques[0].saveMask == "${HOME}/masks/s0.5.safetensors")
        #expect(points[2].spec.techniques[0].mask == "${FRONTIER_SHARED}/masks/m.safetensors")
    }

    @Test func variantMeasurementOverridesTheGrids() throws {
        let yaml = Self.header + """
            measurement: &base
              batch: 32
              threads: 2
              min_duration_s: 4
              energy: {meter: rapl, poll_interval_s: 0.5}
            variants:
              - name: dense
                techniques: []
              - name: batch1
                baseline: false
                techniques: []
                measurement:
                  <<: *base
                  batch: 1
                  energy: {meter: estimated}
                  limit: null
            """
        let points = try points(yaml)
        #expect(points[0].spec.batch == 32 && points[0].spec.threads == 2 && points[0].spec.measurement.minDurationS == 4)
        #expect(points[1].spec.batch == 1 && points[1].spec.threads == 2 && points[1].spec.measurement.minDurationS == 4)
        #expect(points[1].spec.measurement.energy.meter == .estimated && points[1].spec.measurement.energy.pollIntervalS == 0.5)
        #expect(points[1].spec.limit == nil)

        let bad = yaml.replacingOccurrences(of: "      batch: 1\n", with: "      batch: -1\n")
        let error = try #require(failure(bad))
        #expect(error.path == "variants[1].measurement.batch" && error.mark == mark(of: "-1", in: bad))
    }

    // MARK: - Structure

    @Test func emptyGridsAreErrors() throws {
        let empty = try #require(failure(""))
        #expect(empty.kind == .emptyGrid && empty.mark == nil && empty.description == "grid.yaml: the grid file is empty")
        #expect(try #require(failure("# only a comment\n")).kind == .emptyGrid)

        let noVariants = try #require(failure(Self.header + "variants: []\n"))
        #expect(noVariants.kind == .emptyGrid && noVariants.path == "variants")

        let noTasks = try #require(failure(Self.header.replacingOccurrences(of: "[SST-2]", with: "[]") + "variants: [{name: dense, techniques: []}]\n"))
        #expect(noTasks.kind == .emptyGrid && noTasks.path == "tasks")

        let missing = try #require(failure("name: x\ntasks: [SST-2]\nmodels: [/m]\nvariants: [{name: dense}]\n"))
        #expect(missing.kind == .missingKey && missing.path == "tasks[0]" && missing.message.contains("set data_root"))

        let noModels = try #require(failure("data_root: /d\ntasks: [SST-2]\nvariants: [{name: dense}]\n"))
        #expect(noModels.kind == .missingKey && noModels.message == "missing key 'models'" && noModels.mark == GridMark(line: 1, column: 1))

        let allExcluded = Self.header + "variants: [{name: dense, techniques: []}]\nexclude: [{variant: dense}]\n"
        let none = try #require(failure(allExcluded))
        #expect(none.kind == .emptyGrid && none.message == "every point of the grid is excluded")

        let scalar = try #require(failure("just text\n"))
        #expect(scalar.kind == .wrongType && scalar.message == "expected a mapping, got \"just text\"")
    }

    @Test func duplicatesAreErrors() throws {
        let variants = Self.header + """
            variants:
              - name: dense
                techniques: []
              - name: dense
                techniques: [{name: quantization, mode: int8}]
            """
        let error = try #require(failure(variants))
        #expect(error.kind == .duplicate && error.path == "variants[1].name" && error.mark == mark(of: "dense", in: variants, occurrence: 2))
        #expect(error.message.contains("also used at \(mark(of: "name: dense", in: variants))"))

        let tasks = Self.header.replacingOccurrences(of: "[SST-2]", with: "[SST-2, sst2]") + "variants: [{name: dense}]\n"
        let task = try #require(failure(tasks))
        #expect(task.kind == .duplicate && task.path == "tasks[1]")

        let models = Self.header.replacingOccurrences(of: "[/models/minilm]", with: "[/a/minilm, /b/minilm/]") + "variants: [{name: dense}]\n"
        let model = try #require(failure(models))
        #expect(model.kind == .duplicate && model.message.contains("give one of them a different `name:`"))
        #expect(try parse(models.replacingOccurrences(of: "/b/minilm/", with: "{path: /b/minilm/, name: b}")).models.map(\.name) == ["minilm", "b"])
    }

    @Test func tasksTakeTheirOwnDataFolder() throws {
        let yaml = """
            models: [/models/m]
            data_root: ${FRONTIER_SHARED}/data/glue
            tasks:
              - sst2
              - {name: SQuAD, data: "${FRONTIER_SHARED}/data/squad/v1.1"}
            variants: [{name: dense}]
            """
        let grid = try GridFile.parse(text: yaml, source: "/grids/qa.yaml")
        #expect(grid.name == "qa")
        #expect(grid.tasks.map(\.name) == ["SST-2", "squad"])
        #expect(grid.tasks.map(\.data) == ["${FRONTIER_SHARED}/data/glue", "${FRONTIER_SHARED}/data/squad/v1.1"])
        #expect(try grid.points().map(\.spec.data) == ["${FRONTIER_SHARED}/data/glue", "${FRONTIER_SHARED}/data/squad/v1.1"])

        let broken = yaml.replacingOccurrences(of: "data_root: ${FRONTIER_SHARED}/data/glue", with: "data_root: ${FRONTIER_SHARED/data/glue")
        let error = try #require(failure(broken))
        #expect(error.kind == .badValue && error.path == "data_root" && error.message.contains("without a closing '}'"))
    }

    @Test func malformedYAMLKeepsLibyamlsMessageAndPosition() throws {
        let yaml = "name: x\ntasks: [SST-2\nmodels: [/m]\n"
        let error = try #require(failure(yaml))
        #expect(error.kind == .syntax && error.mark != nil)
        #expect(error.message.hasPrefix("invalid YAML: "))
        #expect(error.description.hasPrefix("grid.yaml:\(error.mark!.line):\(error.mark!.column): invalid YAML"))

        let indent = "name: x\n  tasks: [SST-2]\n"
        let bad = try #require(failure(indent))
        #expect(bad.kind == .syntax && bad.mark == GridMark(line: 2, column: 8))
        #expect(bad.message.contains("mapping values are not allowed in this context"))

        let twice = "name: x\nname: y\n"
        let duplicate = try #require(failure(twice))
        #expect(duplicate.kind == .syntax && duplicate.mark == GridMark(line: 1, column: 1) && duplicate.message == "key 'name' given twice in one mapping")

        let unreadable: GridError
        do { _ = try GridFile.load(path: "/nonexistent/grid.yaml"); Issue.record("loaded"); return } catch let e as GridError { unreadable = e }
        #expect(unreadable.kind == .unreadable && unreadable.source == "/nonexistent/grid.yaml")
    }

    // MARK: - Paths

    @Test func pathVariablesExpandOnTheAgent() throws {
        let shared = URL(fileURLWithPath: "/srv/shared")
        let env = ["HOME": "/home/u", "DATA": "/fast/data", "FRONTIER_SHARED": "/ignored"]
        #expect(try GridPath.expand("${FRONTIER_SHARED}/models/m", environment: env, sharedRoot: shared) == "/srv/shared/models/m")
        #expect(try GridPath.expand("${DATA}/glue", environment: env, sharedRoot: shared) == "/fast/data/glue")
        #expect(try GridPath.expand("${SCRATCH:-/tmp}/x", environment: env, sharedRoot: shared) == "/tmp/x")
        #expect(try GridPath.expand("models/m", environment: env, sharedRoot: shared) == "/srv/shared/models/m")
        #expect(try GridPath.expand("~/m", environment: env, sharedRoot: shared) == "/home/u/m")
        #expect(try GridPath.expand("/a/./b/../c", environment: [:], sharedRoot: shared) == "/a/c")
        #expect(try GridPath.expand("/cost$5", environment: [:], sharedRoot: shared) == "/cost$5")

        #expect(throws: GridPathError.undefinedVariable("SCRATCH", text: "${SCRATCH}/x")) {
            try GridPath.expand("${SCRATCH}/x", environment: env, sharedRoot: shared)
        }
        #expect(throws: GridPathError.undefinedVariable("EMPTY", text: "${EMPTY}")) {
            try GridPath.expand("${EMPTY}", environment: ["EMPTY": ""], sharedRoot: shared)
        }
        #expect(throws: GridPathError.unterminated(text: "${DATA/x")) {
            try GridPath.expand("${DATA/x", environment: env, sharedRoot: shared)
        }
        #expect(throws: GridPathError.badName("1X", text: "${1X}")) {
            try GridPath.expand("${1X}", environment: env, sharedRoot: shared)
        }
        #expect("\(GridPathError.undefinedVariable("SCRATCH", text: "${SCRATCH}/x"))".contains("SCRATCH is not set"))

        var spec = TrialSpec(model: "${FRONTIER_SHARED}/models/m", task: "SST-2", data: "data/glue")
        var mask = TechniqueSpec(name: .magnitudePruning)
        mask.mask = "${DATA}/mask.safetensors"
        var save = TechniqueSpec(name: .quantization)
        save.saveMask = "${HOME}/out.safetensors"
        spec.techniques = [mask, save]
        let expanded = try spec.expandingPaths(environment: env, sharedRoot: shared)
        #expect(expanded.model == "/srv/shared/models/m" && expanded.data == "/srv/shared/data/glue")
        #expect(expanded.techniques[0].mask == "/fast/data/mask.safetensors" && expanded.techniques[1].saveMask == "/home/u/out.safetensors")
    }

    // MARK: - Coverage of the spec types

    /// A key added to `TechniqueSpec` or `MeasurementSettings` must be added to the grid's
    /// schema (and examples/README.md), or grid files could not set it.
    @Test func schemaCoversEverySpecKey() throws {
        #expect(Set(GridSchema.technique.keys) == Set(TechniqueSpec.CodingKeys.allCases.map { JSONCoding.snakeCase($0.rawValue) }))
        let measurementKeys = Set(MeasurementSettings.CodingKeys.allCases.map { JSONCoding.snakeCase($0.rawValue) })
        #expect(Set(GridSchema.measurement.keys) == measurementKeys.union(GridSchema.trialKeys))
        let trialKeys = Set(TrialSpec.CodingKeys.allCases.map { JSONCoding.snakeCase($0.rawValue) })
        #expect(GridSchema.trialKeys.isSubset(of: trialKeys))
        // Not in a grid: set by the coordinator (trial_id, paired_baseline), the grid's own
        // structure, or the agent (timing_only, for its paired baseline measurements).
        #expect(trialKeys.subtracting(GridSchema.trialKeys) == ["trial_id", "model", "task", "data", "device_class", "techniques", "measurement",
                                                                "paired_baseline", "timing_only"])
        guard case let .record(energy)? = GridSchema.measurement["energy"], case let .record(estimate)? = energy["estimate"] else {
            Issue.record("energy is not a record")
            return
        }
        #expect(Set(energy.keys) == Set(EnergySettings.CodingKeys.allCases.map { JSONCoding.snakeCase($0.rawValue) }))
        let encoded = try JSONSerialization.jsonObject(with: JSONCoding.encoder.encode(EnergyEstimateParameters())) as! [String: Any]
        #expect(Set(estimate.keys) == Set(encoded.keys))
    }

    // MARK: - The examples

    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples")

    static var exampleFiles: [URL] {
        ((try? FileManager.default.contentsOfDirectory(at: examples, includingPropertiesForKeys: nil)) ?? [])
            .filter { $0.pathExtension == "yaml" || $0.pathExtension == "yml" }.sorted { $0.path < $1.path }
    }

    @Test func everyExampleParsesAndExpands() throws {
        let files = Self.exampleFiles
        #expect(files.count >= 2)
        let readme = try String(contentsOf: Self.examples.appendingPathComponent("README.md"), encoding: .utf8)
        for file in files {
            let grid = try GridFile.load(path: file.path)
            let points = try grid.points()
            #expect(!points.isEmpty, "\(file.lastPathComponent)")
            #expect(points.filter(\.isBaseline).count >= 1, "\(file.lastPathComponent)")
            #expect(readme.contains(file.lastPathComponent), "examples/README.md does not mention \(file.lastPathComponent)")
            for point in points {
                try point.spec.validate()
                #expect(try TrialSpec.decode(point.specJSON(), source: file.lastPathComponent) == point.spec)
            }
            // With the shared folder present, every path an agent would open exists. The tickets
            // grid's models live in ${FRONTIER_TICKETS}, bench/tickets.sh's output on each agent,
            // which no checkout has: those paths must expand, and are not looked for.
            if FileManager.default.fileExists(atPath: SharedData.root.path) {
                let tickets = "/nonexistent-tickets"
                for point in points {
                    let spec = try point.spec.expandingPaths(environment: ["FRONTIER_TICKETS": tickets], sharedRoot: SharedData.root)
                    if !spec.model.hasPrefix(tickets + "/") {
                        #expect(FileManager.default.fileExists(atPath: spec.model + "/config.json"), "\(spec.model)")
                    }
                    #expect(FileManager.default.fileExists(atPath: spec.data + "/" + spec.task + "/dev.tsv"), "\(spec.data)")
                }
            }
        }
    }

    @Test func theExamplesAreSizedForAQuickRun() throws {
        let techniques = try GridFile.load(path: Self.examples.appendingPathComponent("sst2-minilm-techniques.yaml").path)
        let points = try techniques.points()
        #expect(points.count <= 22 && points.count >= 15)
        // One training stage (a retrained configuration beside the inference-only ones), shared by two variants.
        let stages = try SweepGrid(file: techniques).points.filter(\.isTrainingStage)
        #expect(stages.count == 1)
        #expect(points.filter { $0.trainingStage != nil }.count == 2)
        #expect(points.allSatisfy { $0.spec.limit != nil && $0.spec.task == "SST-2" })
        let used = Set(points.flatMap { $0.spec.techniques.map(\.name) })
        #expect(used.isSuperset(of: [.magnitudePruning, .headPruning, .ffnPruning, .earlyExit, .tokenPruning, .quantization]))
        #expect(Set(points.compactMap { $0.spec.techniques.first { $0.name == .quantization }?.mode }) == [.int8, .fp16, .bf16])
        #expect(points.contains { $0.spec.techniques.contains { $0.sparsity == 0.9 && $0.kernel != nil } })

        let smoke = try GridFile.load(path: Self.examples.appendingPathComponent("smoke.yaml").path).points()
        #expect((2...4).contains(smoke.count))
        #expect(smoke.allSatisfy { $0.spec.limit == 64 })
    }
}
