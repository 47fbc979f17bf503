import Foundation
import FrontierEngine
import FrontierMeasurement
import FrontierSupport
import FrontierTraining

/// One backprop fine-tune into a checkpoint folder, as `finetune` and every level of the
/// lottery-ticket commands run it: `FineTuner` with the folder's training state (resumed when
/// there is one), a progress bar and dev results on stderr, the energy meter, then the
/// checkpoint folder with its `training.json`, and the state removed.
///
/// Failures carry the command's exit status: 1 when training fails (a non-finite loss, a failed
/// evaluation), 70 when the state or the checkpoint cannot be written.
struct FineTuneRun {
    let meter: TrainingEnergyMeter
    let energy: EnergyMeterChoice
    /// When the process began the work (`MonotonicClock`), so loading counts in the wall time.
    let started: Double
    /// Prefix of the progress bar's label (`train SST-2`, `level 3/10 SST-2`).
    var label: String?

    init(meter: TrainingEnergyMeter, energy: EnergyMeterChoice, started: Double, label: String? = nil) {
        self.meter = meter
        self.energy = energy
        self.started = started
        self.label = label
    }

    func train(_ job: FineTuneJob, into output: URL, maskedWeights: Int?,
               afterUpdate: FineTuneHooks.AfterUpdate? = nil,
               extraFiles: (URL) throws -> Void) throws -> TicketSearch.Trained {
        let settings = job.settings
        let store = TrainingStateStore(output: output)
        var bar: ProgressBar?
        var total = 0
        let label = self.label ?? "train \(settings.task)"
        let hooks = FineTuneHooks(
            joules: { meter.joules() },
            peakResidentMb: { ProcessMemory.peakResidentKB().map { Double($0) / 1024 } },
            event: { event in
                switch event {
                case let .started(step, steps):
                    total = steps
                    bar = ProgressBar(label: label, total: steps, startingAt: step)
                case let .step(step, _):
                    bar?.update(step.step, detail: String(format: "loss %.4f", step.loss))
                case .evaluating, .checkpointed:
                    break
                case let .evaluated(evaluation):
                    bar?.clearLine()
                    let metrics = evaluation.metrics.sorted { $0.key < $1.key }.map { String(format: "%@ %.4f", $0.key, $0.value) }
                    note(String(format: "update %d/%d: dev %@ (%d examples, %.1f s)", evaluation.step, total,
                                metrics.joined(separator: ", "), evaluation.examples, evaluation.seconds))
                }
            },
            afterUpdate: afterUpdate)
        let outcome: FineTuneOutcome
        do {
            outcome = try FineTuner(job: job, store: store, hooks: hooks, startedAt: started).run()
        } catch {
            // A search names the level that failed; finetune has only the one.
            let context = self.label.map { "\($0): " } ?? ""
            switch error {
            case let error as TrainingError:
                if case .checkpoint = error { throw FinetuneTraining.fail(error, status: 70, context: context) }
                throw FinetuneTraining.fail(error, status: 1, context: context)
            case is CocoaError, is SafetensorsError:
                throw FinetuneTraining.fail(error, status: 70, context: context)
            default:
                throw FinetuneTraining.fail(error, status: 1, context: context)
            }
        }

        do {
            let device = AgentDevice.fingerprint(threads: settings.threads, settings: EnergySettings(meter: energy), deviceClass: nil)
            let environment = TrainingEnvironment(
                cpuModel: device.cpuModel, logicalCpus: device.logicalCpus, energySource: meter.source,
                energyNotes: meter.setup.notes, energyEstimate: meter.estimate, frontierVersion: device.engineVersion,
                gitCommit: device.gitCommit)
            let record = FineTuneRecord(outcome: outcome, job: job, environment: environment, maskedWeights: maskedWeights)
            note("finetune: writing \(output.path)")
            try FineTunedCheckpoint.write(model: outcome.model, task: settings.fineTuneTask, base: URL(fileURLWithPath: settings.base),
                                          output: output, record: record, extraFiles: extraFiles)
            try store.remove()
            return TicketSearch.Trained(model: outcome.model, record: record)
        } catch {
            throw FinetuneTraining.fail(error, status: 70)
        }
    }
}
