import Foundation

/// Saves a checkpoint at the end of epochs (Keras `ModelCheckpoint`): every
/// epoch, or only when the monitored value improves. Writes are atomic.
///
/// The path may contain `{epoch}` (1-based, zero-padded to 3 digits), e.g.
/// `"runs/mnist-{epoch}.safetensors"`. A full checkpoint also writes the
/// optimizer file next to it (see `Trainer.saveCheckpoint(to:)`).
public final class ModelCheckpoint: Callback {
    /// Path template.
    public let path: String
    /// The log key compared when `saveBestOnly`.
    public let monitor: String
    /// Save only when `monitor` improves.
    public let saveBestOnly: Bool
    /// Save weights only, without optimizer state and progress.
    public let weightsOnly: Bool
    /// Whether smaller or larger is better.
    public let mode: MonitorMode
    /// Namespace of the persistent best value.
    public let stateKey: String
    /// The best monitored value saved so far.
    public private(set) var best: Double?
    /// Files written, in order.
    public private(set) var saved: [URL] = []

    /// Creates the callback.
    public init(
        path: String, monitor: String = "val_loss", saveBestOnly: Bool = false, weightsOnly: Bool = false,
        mode: MonitorMode = .auto, stateKey: String = "model_checkpoint"
    ) {
        (self.path, self.monitor, self.saveBestOnly, self.weightsOnly) = (path, monitor, saveBestOnly, weightsOnly)
        self.mode = mode.resolved(for: monitor)
        self.stateKey = stateKey
    }

    /// The file for `epoch` (from 0).
    public func url(epoch: Int) -> URL {
        URL(fileURLWithPath: path.replacingOccurrences(of: "{epoch}", with: String(format: "%03d", epoch + 1)))
    }

    /// Restores the best value of a resumed run.
    public func onTrainBegin(_ context: TrainingContext) throws {
        best = context.state["\(stateKey).best"].flatMap(Double.init)
    }

    /// Saves if due.
    public func onEpochEnd(_ epoch: Int, logs: Logs, context: TrainingContext) throws {
        var metadata: [String: String] = ["epoch": "\(epoch + 1)"]
        if let v = logs[monitor] { metadata[monitor] = "\(v)" }
        if saveBestOnly {
            guard let value = logs[monitor] else {
                throw CheckpointError.badMetadata(
                    file: path,
                    reason: "ModelCheckpoint monitors '\(monitor)', which is not in the logs (\(logs.keys.joined(separator: ", ")))")
            }
            guard mode.improves(value, on: best, minDelta: 0) else { return }
            best = value
            // Recorded before saving so the checkpoint itself carries the new best.
            context.state["\(stateKey).best"] = "\(value)"
        }
        let target = url(epoch: epoch)
        if weightsOnly { try context.saveWeights(to: target, metadata: metadata) } else { try context.saveCheckpoint(to: target) }
        saved.append(target)
    }
}
