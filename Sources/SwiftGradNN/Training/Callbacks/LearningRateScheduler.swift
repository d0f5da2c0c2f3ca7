/// Sets the learning rate from a schedule before each epoch or each batch
/// (Keras `LearningRateScheduler`). For per-step schedules you can instead
/// give the schedule to `ParameterUpdater`, which also checkpoints it.
public final class LearningRateScheduler: Callback {
    /// When the schedule advances.
    public enum Unit: Sendable {
        /// The schedule's step is the epoch number (from 0).
        case epoch
        /// The schedule's step is the global update count (from 0).
        case step
    }

    /// The schedule.
    public let schedule: any LearningRateSchedule
    /// Epoch- or step-wise.
    public let unit: Unit
    /// The base rate given to the schedule; nil uses the optimizer's.
    public let base: Float?

    /// Creates the callback.
    public init(_ schedule: any LearningRateSchedule, unit: Unit = .epoch, base: Float? = nil) {
        (self.schedule, self.unit, self.base) = (schedule, unit, base)
    }

    /// Sets the epoch's rate.
    public func onEpochBegin(_ epoch: Int, context: TrainingContext) throws {
        guard unit == .epoch else { return }
        context.learningRateOverride = schedule.learningRate(base: base ?? context.baseLearningRate, step: epoch)
    }

    /// Sets the step's rate.
    public func onBatchBegin(_ batch: Int, context: TrainingContext) throws {
        guard unit == .step else { return }
        context.learningRateOverride = schedule.learningRate(base: base ?? context.baseLearningRate, step: context.globalStep)
    }

    /// Returns control to the optimizer's own schedule.
    public func onTrainEnd(_ logs: Logs, context: TrainingContext) throws {
        context.learningRateOverride = nil
    }
}
