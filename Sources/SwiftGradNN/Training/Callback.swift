import Foundation

/// Hooks into `fit`, Keras style. Every method has an empty default, so a
/// callback implements only what it needs. Callbacks are classes because
/// most keep state across epochs (a best value, a file handle). Errors they
/// throw stop training and propagate out of `fit`.
public protocol Callback: AnyObject {
    /// Before the first epoch of this `fit` call.
    func onTrainBegin(_ context: TrainingContext) throws
    /// Before epoch `epoch` (counting from 0 across resumed runs).
    func onEpochBegin(_ epoch: Int, context: TrainingContext) throws
    /// Before batch `batch` of the current epoch.
    func onBatchBegin(_ batch: Int, context: TrainingContext) throws
    /// After batch `batch`; `logs` holds running means ("loss", metrics).
    func onBatchEnd(_ batch: Int, logs: Logs, context: TrainingContext) throws
    /// After epoch `epoch` with its final logs (including "val_" entries).
    func onEpochEnd(_ epoch: Int, logs: Logs, context: TrainingContext) throws
    /// After the last epoch (or an early stop).
    func onTrainEnd(_ logs: Logs, context: TrainingContext) throws
}

/// Empty defaults: a callback overrides only the hooks it needs.
extension Callback {
    /// Does nothing.
    public func onTrainBegin(_ context: TrainingContext) throws {}
    /// Does nothing.
    public func onEpochBegin(_ epoch: Int, context: TrainingContext) throws {}
    /// Does nothing.
    public func onBatchBegin(_ batch: Int, context: TrainingContext) throws {}
    /// Does nothing.
    public func onBatchEnd(_ batch: Int, logs: Logs, context: TrainingContext) throws {}
    /// Does nothing.
    public func onEpochEnd(_ epoch: Int, logs: Logs, context: TrainingContext) throws {}
    /// Does nothing.
    public func onTrainEnd(_ logs: Logs, context: TrainingContext) throws {}
}

/// What callbacks see of a running `fit`, and the levers they may pull.
public final class TrainingContext {
    /// The current epoch (from 0, counting resumed epochs).
    public internal(set) var epoch: Int = 0
    /// The epoch count `fit` runs to.
    public internal(set) var epochs: Int = 0
    /// Optimizer updates done so far over the whole run.
    public internal(set) var globalStep: Int = 0
    /// Batches per epoch, if the source knows.
    public internal(set) var batchesPerEpoch: Int?
    /// The optimizer's base learning rate.
    public internal(set) var baseLearningRate: Float = 0
    /// The learning rate of the most recent update.
    public internal(set) var learningRate: Float = 0
    /// Set to true to end training after the current batch's epoch.
    public var stopTraining = false
    /// When set, replaces the scheduled rate for the following updates
    /// (`LearningRateScheduler` uses it); nil returns to the schedule.
    public var learningRateOverride: Float?
    /// Small persistent values callbacks keep across a resume (best metric,
    /// patience counter), saved in training checkpoints. Keys are
    /// namespaced by the callback ("early_stopping.best").
    public var state: [String: String] = [:]

    var saveCheckpointHandler: (URL) throws -> Void
    var saveWeightsHandler: (URL, [String: String]) throws -> Void

    init(saveCheckpoint: @escaping (URL) throws -> Void, saveWeights: @escaping (URL, [String: String]) throws -> Void) {
        saveCheckpointHandler = saveCheckpoint
        saveWeightsHandler = saveWeights
    }

    /// Writes a full training checkpoint (weights, optimizer state, progress)
    /// as `Trainer.saveCheckpoint(to:)` does, reflecting the current epoch.
    public func saveCheckpoint(to url: URL) throws { try saveCheckpointHandler(url) }

    /// Writes the model's weights (parameters and buffers) only.
    public func saveWeights(to url: URL, metadata: [String: String] = [:]) throws {
        try saveWeightsHandler(url, metadata)
    }
}

/// Whether a monitored value is better when smaller or larger.
public enum MonitorMode: String, Sendable {
    /// Smaller is better (losses).
    case min
    /// Larger is better (accuracy, IoU).
    case max
    /// `max` for keys containing "acc", "iou", "f1" or "auc", else `min` (as Keras).
    case auto

    /// The concrete mode for `key`.
    func resolved(for key: String) -> MonitorMode {
        guard self == .auto else { return self }
        let k = key.lowercased()
        return ["acc", "iou", "f1", "auc", "precision", "recall"].contains(where: k.contains) ? .max : .min
    }

    /// True if `value` improves on `best` by more than `minDelta`.
    func improves(_ value: Double, on best: Double?, minDelta: Double) -> Bool {
        guard let best else { return value.isFinite }
        return self == .max ? value > best + minDelta : value < best - minDelta
    }
}
