import Foundation
import SwiftGrad
import SwiftGradData
import SwiftGradNN

/// One invocation of `segment`: sets up data, model and optimizer from the
/// options, then trains epoch by epoch, evaluating on the held-out set and
/// writing metrics, prediction images and checkpoints after each epoch.
struct SegmentationRun {
    let options: Segment

    func run() throws {
        let start = Date()
        options.kernels.apply()
        let size = options.imageSize ?? options.dataset.defaultSize
        let data = try DatasetPair.make(
            options.dataset, size: size, trainSize: options.trainSize ?? options.dataset.defaultTrainSize,
            testSize: options.testSize, seed: options.seed, dataDir: options.dataDir)
        let weights = try classWeights(for: data)
        let model = try makeModel(for: data)
        let epochs = options.epochs ?? options.dataset.defaultEpochs
        let dropRemainder = data.train.count >= options.batchSize
        let batchesPerEpoch =
            dropRemainder
            ? data.train.count / options.batchSize
            : (data.train.count + options.batchSize - 1) / options.batchSize
        var trainer = Trainer(
            model: model, optimizer: try makeUpdater(totalSteps: epochs * batchesPerEpoch),
            loss: PixelwiseCrossEntropyLoss(classWeights: weights))
        trainer.progress = TrainingProgress(seed: options.seed)
        printHeader(data: data, model: trainer.model, optimizer: trainer.optimizer.optimizer, weights: weights, epochs: epochs)
        if let resume = options.resume {
            try trainer.resume(from: URL(fileURLWithPath: resume))
            if trainer.progress.seed != options.seed {
                say("warning: the checkpoint was trained with --seed \(trainer.progress.seed), this run uses \(options.seed)")
            }
            say("Resumed from \(resume) after epoch \(trainer.progress.epoch) (step \(trainer.progress.step)).")
        }
        let outputDir = URL(fileURLWithPath: options.outputDir, isDirectory: true)
        do { try FileManager.default.createDirectory(at: outputDir, withIntermediateDirectories: true) } catch {
            throw SegmentError("cannot create --output-dir '\(options.outputDir)': \(error.localizedDescription)")
        }
        let metricsLog = try options.metricsOut.map { try MetricsLog(path: $0, append: options.resume != nil) }
        defer { metricsLog?.close() }

        if trainer.progress.epoch >= epochs {
            say("Nothing to train: the checkpoint already has \(trainer.progress.epoch) epochs (--epochs \(epochs)).")
        }
        let evaluator = HeldOutEvaluator(data: data, batchSize: max(options.batchSize, 16), samples: options.samples)
        var lastReport: HeldOutReport?
        while trainer.progress.epoch < epochs {
            let epoch = trainer.progress.epoch
            let stats = try trainEpoch(
                &trainer, data: data, epoch: epoch, epochs: epochs, batches: batchesPerEpoch,
                dropRemainder: dropRemainder)
            let report = evaluator.evaluate(trainer)
            try record(
                report, stats: stats, epoch: epoch, trainer: trainer, data: data, outputDir: outputDir,
                metricsLog: metricsLog)
            lastReport = report
        }
        if let report = lastReport {
            let total = Date().timeIntervalSince(start)
            say(
                String(
                    format: "Done in %@: held-out mean IoU %.4f, pixel accuracy %.4f, peak RSS %@.",
                    formatDuration(total), report.matrix.meanIoU, report.matrix.accuracy,
                    PeakMemory.residentBytes().map { PeakMemory.format(bytes: $0) } ?? "unknown"))
        }
    }

    /// Reports an epoch's held-out results: the summary, the prediction
    /// image, the metrics line and the checkpoint.
    func record(
        _ report: HeldOutReport, stats: EpochStats, epoch: Int, trainer: Trainer<Model>, data: DatasetPair,
        outputDir: URL, metricsLog: MetricsLog?
    ) throws {
        guard report.loss.isFinite else {
            throw SegmentError(
                "training diverged: the held-out loss is \(report.loss) after epoch \(epoch + 1); try a lower --learning-rate (now \(trainer.optimizer.optimizer.learningRate))"
            )
        }
        say(report.summary(classNames: data.classNames))
        let image = outputDir.appendingPathComponent("\(options.dataset.rawValue)-epoch\(epoch + 1).png")
        if let strip = report.strip {
            try strip.write(to: image.path)
            say("  predictions: \(image.path)")
        }
        try metricsLog?.write(
            MetricsLog.line(
                dataset: options.dataset.rawValue, epoch: epoch + 1, train: stats,
                report: report, classNames: data.classNames))
        if let checkpoint = options.checkpoint {
            try trainer.saveCheckpoint(to: URL(fileURLWithPath: checkpoint))
            say("  checkpoint: \(checkpoint)")
        }
    }

    /// Trains one epoch with a progress bar; throws if the loss stops being finite.
    func trainEpoch(
        _ trainer: inout Trainer<Model>, data: DatasetPair, epoch: Int, epochs: Int, batches: Int,
        dropRemainder: Bool
    ) throws -> EpochStats {
        let start = Date()
        var bar = ProgressBar(title: "Epoch \(epoch + 1)/\(epochs)", total: batches, output: options.quiet ? .silent : .standardOutput)
        var lossSum = 0.0, samples = 0, done = 0, stepSeconds = 0.0
        let source = trainingBatches(
            data.train, batchSize: options.batchSize, seed: options.seed, epoch: epoch,
            dropRemainder: dropRemainder)
        let learningRate = trainer.optimizer.learningRate
        for batch in source {
            let stepStart = Date()
            let (loss, _) = trainer.trainStep((batch.images, batch.labels))
            stepSeconds += Date().timeIntervalSince(stepStart)
            guard loss.isFinite else {
                throw SegmentError(
                    "training diverged: the loss is \(loss) at epoch \(epoch + 1), batch \(done + 1); try a lower --learning-rate (now \(trainer.optimizer.optimizer.learningRate))"
                )
            }
            lossSum += Double(loss) * Double(batch.count)
            samples += batch.count
            done += 1
            trainer.progress.step += 1
            bar.update(done: done, samples: samples, logs: Logs([("loss", lossSum / Double(samples))]))
        }
        trainer.progress.epoch += 1
        let logs = Logs([("loss", lossSum / Double(max(samples, 1))), ("lr", Double(learningRate))])
        bar.finish(done: done, samples: samples, logs: logs)
        if options.quiet {
            say(
                String(
                    format: "Epoch %d/%d: loss %.4f, lr %.3g, %.1fs", epoch + 1, epochs, logs["loss"]!, learningRate,
                    Date().timeIntervalSince(start)))
        }
        return EpochStats(
            loss: lossSum / Double(max(samples, 1)), learningRate: learningRate,
            seconds: Date().timeIntervalSince(start), stepMilliseconds: 1000 * stepSeconds / Double(max(done, 1)))
    }

    /// The model from `--model` (missing `input_shape`, `seed` and, for a
    /// U-Net, `classes` are filled in from the dataset) or the default U-Net.
    func makeModel(for data: DatasetPair) throws -> Model {
        let inputShape = [1, data.height, data.width]
        let model: Model
        if let path = options.model {
            let bytes: Data
            do { bytes = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw SegmentError("cannot read --model '\(path)': \(error.localizedDescription)")
            }
            var config: Config
            do { config = try Config(json: bytes, owner: path) } catch { throw SegmentError("--model '\(path)': \(describe(error))") }
            if !config.has("input_shape") { config["input_shape"] = .array(inputShape.map { .int($0) }) }
            if !config.has("seed") { config["seed"] = .number(Double(options.seed)) }
            if case .string("unet")? = config["type"], !config.has("classes") { config["classes"] = .int(data.numClasses) }
            model = try Registry.shared.model(config: config)
        } else {
            model = try Model(inputShape: inputShape, seed: options.seed, root: UNet(classes: data.numClasses))
        }
        guard model.inputShape == inputShape else {
            throw SegmentError("the model takes inputs \(model.inputShape) but \(options.dataset.rawValue) images are \(inputShape)")
        }
        guard model.outputShapes == [[data.numClasses, data.height, data.width]] else {
            throw SegmentError(
                "the model outputs \(model.outputShapes.map(\.description).joined(separator: ", ")); per-pixel scores [\(data.numClasses), \(data.height), \(data.width)] are needed (\(data.numClasses) classes)"
            )
        }
        return model
    }

    /// The optimizer named by `--optimizer` with the learning-rate schedule.
    /// When resuming without `--optimizer`, the checkpoint's optimizer (and,
    /// without `--learning-rate`, its hyperparameters) is used.
    func makeUpdater(totalSteps: Int) throws -> ParameterUpdater {
        let optimizer: any Optimizer
        if options.optimizer == nil, let saved = try savedOptimizerConfig() {
            var config = saved
            if let lr = options.learningRate {
                config["learning_rate"] = .float(lr)
                config["lr"] = nil
            }
            optimizer = try Registry.shared.optimizer(config)
        } else {
            optimizer = try Registry.shared.optimizer(
                options.optimizer ?? "adam",
                ["learning_rate": .float(options.learningRate ?? 1e-3)])
        }
        let schedule: (any LearningRateSchedule)? =
            switch options.schedule {
            case .cosine: CosineSchedule(totalSteps: max(totalSteps, 1), floor: .fraction(0.05))
            case .constant: nil
            }
        return ParameterUpdater(optimizer, schedule: schedule)
    }

    /// The optimizer config stored beside the `--resume` checkpoint, if resuming.
    func savedOptimizerConfig() throws -> Config? {
        guard let resume = options.resume else { return nil }
        let url = Trainer<Model>.optimizerStateURL(for: URL(fileURLWithPath: resume))
        let (_, metadata) = try Checkpoint.load(from: url)
        guard let text = metadata["optimizer"] else {
            throw CheckpointError.badMetadata(file: url.path, reason: "missing 'optimizer'")
        }
        do { return try Config(jsonString: text, owner: "optimizer in \(url.lastPathComponent)") } catch {
            throw CheckpointError.badMetadata(file: url.path, reason: "'optimizer' is not a JSON config: \(describe(error))")
        }
    }

    /// `--class-weights` checked against the dataset's class count.
    func classWeights(for data: DatasetPair) throws -> [Float]? {
        guard let argument = options.classWeights else { return nil }
        switch try ClassWeights(argument: argument) {
        case .auto: return data.medianFrequencyWeights()
        case .explicit(let w):
            guard w.count == data.numClasses else {
                throw SegmentError(
                    "--class-weights has \(w.count) values; \(options.dataset.rawValue) has \(data.numClasses) classes (\(data.classNames.joined(separator: ", ")))"
                )
            }
            return w
        }
    }

    func printHeader(data: DatasetPair, model: Model, optimizer: any Optimizer, weights: [Float]?, epochs: Int) {
        say(
            "segment: \(options.dataset.rawValue) \(data.height)x\(data.width), \(data.numClasses) classes, "
                + "\(data.train.count) training / \(data.heldOut.count) held-out images, seed \(options.seed)")
        let rootType = (try? model.root.config.typeName()) ?? "custom"
        let root =
            (model.root as? UNet).map { "U-Net \($0.channels) + \($0.bottleneckChannels)" }
            ?? "\(rootType) from \(options.model ?? "config")"
        say(
            "model: \(root), \(model.parameterCount) parameters; optimizer \(type(of: optimizer).typeName) "
                + "lr \(optimizer.learningRate) (\(options.schedule.rawValue)); batch \(options.batchSize); "
                + "\(epochs) epochs; \(Kernels.threadCount) threads (\(Kernels.isa))")
        if let weights { say("class weights: \(weights.map { String(format: "%.3g", $0) }.joined(separator: ", "))") }
    }
}

/// Training figures of one epoch.
struct EpochStats {
    let loss: Double
    let learningRate: Float
    let seconds: Double
    let stepMilliseconds: Double
}

/// One epoch's batches of `dataset` in a seeded order (dataset order for a
/// nil seed), built on a background thread while the previous step runs.
func epochBatches<D: SegmentationDataset>(
    _ dataset: D, batchSize: Int, seed: UInt64?, epoch: Int,
    dropRemainder: Bool
) -> AnySequence<SegmentationBatch> {
    AnySequence(
        dataset.batches(batchSize: batchSize, shuffleSeed: seed, epoch: epoch, dropRemainder: dropRemainder)
            .prefetched(depth: 2))
}

/// Batches of any segmentation dataset, opening the existential.
func trainingBatches(
    _ dataset: any SegmentationDataset, batchSize: Int, seed: UInt64?, epoch: Int,
    dropRemainder: Bool
) -> AnySequence<SegmentationBatch> {
    epochBatches(dataset, batchSize: batchSize, seed: seed, epoch: epoch, dropRemainder: dropRemainder)
}

/// Writes a line to standard output unbuffered, as the progress bar does,
/// so the two keep their order.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// "42s", "3m 05s".
func formatDuration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s < 60 ? "\(s)s" : String(format: "%dm %02ds", s / 60, s % 60)
}
