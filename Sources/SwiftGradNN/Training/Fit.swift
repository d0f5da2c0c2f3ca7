import Foundation

extension Trainer {
    /// Trains until `progress.epoch == epochs` (Keras semantics: `epochs` is
    /// the final epoch count, so after resuming at epoch 3, `fit(epochs: 10)`
    /// runs epochs 4...10).
    ///
    /// Each step runs the forward pass and loss under
    /// `LearningPhase.with(training: true)` inside `valueWithGradient`, then
    /// `optimizer.update`. Epoch logs hold "loss" and the metrics (means over
    /// the epoch's training batches), "val_"-prefixed results on
    /// `validationData`, the learning rate "lr", "epoch_seconds" (the
    /// training pass alone), "step_ms_median" (the median of its steps, each
    /// from one batch's arrival to the next: steady speed, little moved by a
    /// burst of other load) and "val_seconds" (the validation pass).
    ///
    /// - Parameters:
    ///   - data: training batches; `batches(epoch:)` is called once per epoch.
    ///   - epochs: the epoch count to reach.
    ///   - validationData: evaluated after every epoch, if given.
    ///   - callbacks: called in order at each hook.
    ///   - verbose: print a progress bar per epoch to `output`.
    /// - Returns: the logs of every epoch run by this call.
    /// - Throws: what a callback throws (training stops there).
    @discardableResult
    public mutating func fit(
        _ data: any BatchSource, epochs: Int, validationData: (any BatchSource)? = nil,
        callbacks: [any Callback] = [], verbose: Bool = true
    ) throws -> History {
        let context = TrainingContext(
            saveCheckpoint: { _ in throw Self.notAtEpochEnd() },
            saveWeights: { _, _ in throw Self.notAtEpochEnd() })
        context.state = progress.callbackState
        context.epochs = epochs
        context.globalStep = progress.step
        context.batchesPerEpoch = data.batchCount
        context.baseLearningRate = optimizer.optimizer.learningRate
        context.learningRate = optimizer.learningRate
        for cb in callbacks { try cb.onTrainBegin(context) }
        var history = History()
        var lastLogs = Logs()
        while progress.epoch < epochs && !context.stopTraining {
            let epoch = progress.epoch
            context.epoch = epoch
            for cb in callbacks { try cb.onEpochBegin(epoch, context: context) }
            let logs = try runEpoch(
                data, epoch: epoch, epochs: epochs, validationData: validationData,
                callbacks: callbacks, context: context, verbose: verbose)
            progress.epoch += 1
            // Callbacks may save checkpoints now: hand them a snapshot of this epoch's end.
            let snapshot = self
            context.saveCheckpointHandler = { [unowned context] url in
                var s = snapshot
                s.progress.callbackState = context.state
                try s.saveCheckpoint(to: url)
            }
            context.saveWeightsHandler = { url, meta in try Checkpoint.saveWeights(of: snapshot.model, metadata: meta, to: url) }
            defer {
                // Drop the snapshot so parameters are uniquely owned again (updates stay in place).
                context.saveCheckpointHandler = { _ in throw Self.notAtEpochEnd() }
                context.saveWeightsHandler = { _, _ in throw Self.notAtEpochEnd() }
            }
            for cb in callbacks { try cb.onEpochEnd(epoch, logs: logs, context: context) }
            progress.callbackState = context.state
            history.epochs.append(logs)
            lastLogs = logs
        }
        history.stoppedEarly = context.stopTraining
        history.peakRSSBytes = PeakMemory.residentBytes()
        for cb in callbacks { try cb.onTrainEnd(lastLogs, context: context) }
        progress.callbackState = context.state
        optimizer.learningRateOverride = nil
        return history
    }

    /// One pass over `data` plus validation; returns the epoch's logs.
    private mutating func runEpoch(
        _ data: any BatchSource, epoch: Int, epochs: Int, validationData: (any BatchSource)?,
        callbacks: [any Callback], context: TrainingContext, verbose: Bool
    ) throws -> Logs {
        let start = Date()
        for i in metrics.indices { metrics[i].reset() }
        var bar = ProgressBar(title: "Epoch \(epoch + 1)/\(epochs)", total: data.batchCount, output: verbose ? output : .silent)
        var lossSum = 0.0, samples = 0, batchIndex = 0
        var logs = Logs()
        var stepSeconds: [Double] = []
        var stepStart = Date()
        for batch in data.batches(epoch: epoch) {
            for cb in callbacks { try cb.onBatchBegin(batchIndex, context: context) }
            optimizer.learningRateOverride = context.learningRateOverride
            context.learningRate = optimizer.learningRate
            let (loss, outputs) = trainStep(batch)
            let n = max(batch.inputs.shape.first ?? 1, 1)
            lossSum += Double(loss) * Double(n)
            samples += n
            for i in metrics.indices { metrics[i].update(predictions: outputs, targets: batch.targets) }
            progress.step += 1
            context.globalStep = progress.step
            logs = Logs([("loss", lossSum / Double(samples))])
            for m in metrics { logs[m.name] = m.result }
            for cb in callbacks { try cb.onBatchEnd(batchIndex, logs: logs, context: context) }
            batchIndex += 1
            bar.update(done: batchIndex, samples: samples, logs: logs)
            let now = Date()
            stepSeconds.append(now.timeIntervalSince(stepStart))
            stepStart = now
            if context.stopTraining { break }
        }
        let trainSeconds = Date().timeIntervalSince(start)
        if let validationData {
            let validationStart = Date()
            logs.merge(evaluate(validationData, epoch: epoch), prefix: "val_")
            logs["val_seconds"] = Date().timeIntervalSince(validationStart)
        }
        bar.finish(done: batchIndex, samples: samples, logs: logs)
        logs["lr"] = Double(context.learningRate)
        logs["epoch_seconds"] = trainSeconds
        if !stepSeconds.isEmpty {
            let sorted = stepSeconds.sorted(), mid = sorted.count / 2
            let median = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
            logs["step_ms_median"] = 1000 * median
        }
        return logs
    }

    private static func notAtEpochEnd() -> CheckpointError {
        .io(file: "(training)", reason: "TrainingContext.saveCheckpoint/saveWeights are available in onEpochEnd only")
    }
}
