import ArgumentParser
import ExampleSupport
import Foundation
import SwiftGrad
import SwiftGradData
import SwiftGradNN

/// `mnist`: trains the reference CNN (or a model from a JSON config) on MNIST
/// or any dataset in the same IDX format.
@main
struct MNISTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mnist",
        abstract: "Train a CNN on MNIST-format data (the reference SwiftGrad example).")

    @Option(help: "Directory holding the four IDX files (raw or .gz). Default: the bundled MNIST.")
    var data: String?

    @Option(help: "Number of epochs to train (the total when resuming).")
    var epochs = 4

    @Option(help: "Training batch size.")
    var batchSize = 128

    @Option(help: "Optimizer: any registered name (sgd, adam, adamw, rmsprop, adagrad, ...).")
    var optimizer = "adam"

    @Option(help: "Learning rate.")
    var learningRate: Float = 2e-3

    @Option(help: "Learning-rate schedule over the whole run: cosine (decays to 0) or constant.")
    var schedule = "cosine"

    @Option(help: "Seed for weights and shuffling.")
    var seed: UInt64 = 0

    @OptionGroup var kernels: KernelOptions

    @Option(help: "A JSON model config to train instead of the reference CNN.")
    var model: String?

    @Option(help: "Where to save the trained weights (safetensors; optimizer state beside it).")
    var checkpoint = "mnist-cnn.safetensors"

    @Option(help: "Resume from a checkpoint written by --checkpoint.")
    var resume: String?

    @Option(
        help:
            "Write one JSON object per epoch to this file: epoch, train_loss, train_accuracy, test_loss, test_accuracy, epoch_seconds, step_ms_median, test_seconds, images_per_second, peak_rss_bytes, learning_rate."
    )
    var metricsOut: String?

    @Option(
        help: "Write the first 64 test images and the model's logits for them to this safetensors file (to compare with another framework)."
    )
    var predictionsOut: String?

    @Option(help: "Train on only the first N training images (quick runs).")
    var limit: Int?

    @Flag(help: "No progress bar; one line per epoch.")
    var quiet = false

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        guard learningRate.isFinite, learningRate > 0 else {
            throw ValidationError("--learning-rate must be a positive finite number, got \(learningRate)")
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
        guard ["cosine", "constant"].contains(schedule) else {
            throw ValidationError("--schedule must be cosine or constant, got \(schedule)")
        }
    }

    func run() throws {
        do {
            try train()
        } catch let error as ValidationError {
            FileHandle.standardError.write(Data("mnist: error: \(error.message)\n".utf8))
            throw ExitCode.failure
        } catch {
            // Errors from data, configs and checkpoints carry their own message.
            FileHandle.standardError.write(Data("mnist: error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    func train() throws {
        kernels.apply()
        let directory = data ?? Self.bundledDataDirectory()
        let dataset = try IDXDataset(directory: directory)
        let trainSet = limit.map { dataset.train.prefix(min($0, dataset.train.count)) } ?? dataset.train
        say("Data: \(trainSet.count) training and \(dataset.test.count) test images of \(trainSet.rows)x\(trainSet.cols) from \(directory)")

        let network = try buildModel(rows: trainSet.rows, cols: trainSet.cols, classes: dataset.train.numClasses)
        say(network.summary())
        let stepsPerEpoch = (trainSet.count + batchSize - 1) / batchSize
        let lrSchedule: (any LearningRateSchedule)? = schedule == "cosine" ? CosineSchedule(totalSteps: epochs * stepsPerEpoch) : nil
        let updater = try ParameterUpdater(optimizer, ["learning_rate": .float(learningRate)], schedule: lrSchedule)
        var trainer = Trainer(model: network, optimizer: updater, loss: SoftmaxCrossEntropyLoss(), metrics: [Accuracy()])
        trainer.progress.seed = seed
        if quiet { trainer.output = .silent }
        if let resume {
            try trainer.resume(from: URL(fileURLWithPath: resume))
            say("Resumed from \(resume) at epoch \(trainer.progress.epoch), step \(trainer.progress.step)")
        }

        let trainSource = MNISTSource(examples: trainSet, batchSize: batchSize, shuffleSeed: seed)
        let testSource = MNISTSource(examples: dataset.test, batchSize: 1000, shuffleSeed: nil)
        let checkpointURL = URL(fileURLWithPath: checkpoint)
        var callbacks: [any Callback] = [EpochReporter(quiet: quiet, samplesPerEpoch: trainSet.count)]
        if let metricsOut {
            callbacks.append(MetricsWriter(url: URL(fileURLWithPath: metricsOut), samplesPerEpoch: trainSet.count, append: resume != nil))
        }
        callbacks.append(CheckpointEveryEpoch(url: checkpointURL))

        let start = Date()
        let history = try trainer.fit(trainSource, epochs: epochs, validationData: testSource, callbacks: callbacks, verbose: !quiet)
        let seconds = Date().timeIntervalSince(start)

        if let last = history.epochs.last {
            let acc = (last["val_accuracy"] ?? 0) * 100
            say(
                String(
                    format: "Done: %d epochs in %.1f s, test accuracy %.2f%%, test loss %.4f, peak RSS %@",
                    history.epochs.count, seconds, acc, last["val_loss"] ?? .nan,
                    PeakMemory.format(bytes: PeakMemory.residentBytes() ?? 0)))
        } else {
            say("Nothing to train: the checkpoint is already at epoch \(trainer.progress.epoch) of \(epochs).")
        }
        say("Checkpoint: \(checkpointURL.path)")
        showPredictions(trainer: trainer, test: dataset.test)
        if let predictionsOut {
            let batch = dataset.test.batch(indices: Array(0..<min(64, dataset.test.count)))
            let logits = trainer.callModel(batch.images)
            try Checkpoint.save(
                [("images", batch.images), ("logits", logits)], metadata: ["checkpoint": checkpointURL.path],
                to: URL(fileURLWithPath: predictionsOut))
            say("Predictions: \(predictionsOut)")
        }
    }

    func buildModel(rows: Int, cols: Int, classes: Int) throws -> Model {
        if let model {
            let data: Data
            guard let contents = FileManager.default.contents(atPath: model) else {
                throw ValidationError("cannot read model config \(model)")
            }
            data = contents
            let built = try Model(json: data)
            guard built.inputShape == [1, rows, cols] else {
                throw ConfigError.invalidValue(
                    owner: "model", field: "input_shape", reason: "is \(built.inputShape), the data is [1, \(rows), \(cols)]")
            }
            guard built.outputShape == [classes] else {
                throw ConfigError.invalidValue(
                    owner: "model", field: "layers", reason: "produce \(built.outputShape) per image, expected [\(classes)] class scores")
            }
            return built
        }
        return try ReferenceModels.mnistCNN(seed: seed)
    }

    /// A few test digits as ASCII art with the model's predictions.
    func showPredictions(trainer: Trainer<Model>, test: ImageClassificationSet) {
        let picks = Array(0..<4)
        let batch = test.batch(indices: picks)
        let predicted = trainer.callModel(batch.images).argmaxIndices(alongAxis: 1)
        let art = picks.map { ASCIIArt.render(test.image(at: $0), rows: test.rows, cols: test.cols) }
        let captions = zip(picks, predicted).map { i, p in "label \(test.label(at: i)) -> \(p)\(p == test.label(at: i) ? "" : " ✗")" }
        say("\nSample test digits and predictions:\n" + ASCIIArt.sideBySide(art, captions: captions))
    }

    /// The Data/mnist folder of this package, found from the working
    /// directory or from this source file's location.
    static func bundledDataDirectory() -> String {
        let local = "Data/mnist"
        if FileManager.default.fileExists(atPath: local) { return local }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return packageRoot.appendingPathComponent(local).path
    }
}

/// Prints and flushes, so lines interleave correctly with the progress bar
/// (which writes unbuffered) when output goes to a file or pipe.
func say(_ line: String) {
    print(line)
    fflush(nil)
}
