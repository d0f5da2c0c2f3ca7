import Foundation

/// Stops training when a monitored value has not improved by more than
/// `minDelta` for `patience` epochs (Keras `EarlyStopping`). Its best value
/// and wait count live in `TrainingContext.state`, so they survive a resume.
public final class EarlyStopping: Callback {
    /// The log key watched, e.g. "val_loss".
    public let monitor: String
    /// Epochs without improvement tolerated before stopping.
    public let patience: Int
    /// The least change that counts as an improvement.
    public let minDelta: Double
    /// Whether smaller or larger is better.
    public let mode: MonitorMode
    /// Namespace of this callback's persistent state.
    public let stateKey: String
    /// The best value seen.
    public private(set) var best: Double?
    /// Epochs since the last improvement.
    public private(set) var wait = 0
    /// The epoch (from 0) at which training was stopped, if it was.
    public private(set) var stoppedEpoch: Int?
    private var warned = false

    /// Creates the callback.
    public init(
        monitor: String = "val_loss", patience: Int = 0, minDelta: Double = 0, mode: MonitorMode = .auto,
        stateKey: String = "early_stopping"
    ) {
        precondition(patience >= 0 && minDelta >= 0, "EarlyStopping: patience and minDelta must be >= 0")
        (self.monitor, self.patience, self.minDelta) = (monitor, patience, minDelta)
        self.mode = mode.resolved(for: monitor)
        self.stateKey = stateKey
    }

    /// Restores best and wait from a resumed run, or starts fresh.
    public func onTrainBegin(_ context: TrainingContext) throws {
        best = context.state["\(stateKey).best"].flatMap(Double.init)
        wait = context.state["\(stateKey).wait"].flatMap(Int.init) ?? 0
        stoppedEpoch = nil
    }

    /// Compares the monitored value with the best and maybe stops.
    public func onEpochEnd(_ epoch: Int, logs: Logs, context: TrainingContext) throws {
        guard let value = logs[monitor] else {
            if !warned {
                warned = true
                FileHandle.standardError.write(
                    Data("EarlyStopping: '\(monitor)' is not in the logs (\(logs.keys.joined(separator: ", "))); skipping\n".utf8))
            }
            return
        }
        if mode.improves(value, on: best, minDelta: minDelta) {
            best = value
            wait = 0
        } else {
            wait += 1
            if wait > patience {
                context.stopTraining = true
                stoppedEpoch = epoch
            }
        }
        context.state["\(stateKey).best"] = best.map { "\($0)" }
        context.state["\(stateKey).wait"] = "\(wait)"
    }
}
