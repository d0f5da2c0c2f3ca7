import Foundation
import XCTest

@testable import SwiftGradNN

/// y = x W + b from raw tensors.
struct LinearModel: ParameterContainer {
    var weight: Tensor  // [in, out]
    var bias: Tensor  // [out]

    init(inputs: Int, outputs: Int, seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        weight = Tensor.normal([inputs, outputs], standardDeviation: 0.5, generator: &g)
        bias = Tensor.zeros([outputs])
    }

    mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {
        visitor(joinName(prefix, "weight"), &weight)
        visitor(joinName(prefix, "bias"), &bias)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { matmul(x, weight) + bias }
}

/// Collects everything a callback sees.
final class Recorder: Callback {
    var events: [String] = []
    func onTrainBegin(_ context: TrainingContext) throws { events.append("train_begin") }
    func onEpochBegin(_ epoch: Int, context: TrainingContext) throws { events.append("epoch_begin \(epoch)") }
    func onBatchEnd(_ batch: Int, logs: Logs, context: TrainingContext) throws { events.append("batch \(batch)") }
    func onEpochEnd(_ epoch: Int, logs: Logs, context: TrainingContext) throws { events.append("epoch_end \(epoch)") }
    func onTrainEnd(_ logs: Logs, context: TrainingContext) throws { events.append("train_end") }
}

final class TrainingTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = temporaryDirectory(name) }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    /// y = 2 x0 - 3 x1 + 0.5 (+ small noise), 64 samples.
    func regressionData(seed: UInt64 = 1) -> TensorBatchSource {
        var g = SeededGenerator(seed: seed)
        let x = Tensor.normal([64, 2], generator: &g)
        let noise = Tensor.normal([64, 1], standardDeviation: 0.01, generator: &g)
        let y = matmul(x, Tensor(shape: [2, 1], scalars: [2, -3])) + 0.5 + noise
        return TensorBatchSource(inputs: x, targets: y, batchSize: 16, shuffleSeed: 7)
    }

    /// Two Gaussian blobs in 2-D, labels 0/1.
    func blobs(_ n: Int, seed: UInt64) -> TensorBatchSource {
        var g = SeededGenerator(seed: seed)
        var xs: [Float] = [], ys: [Float] = []
        for i in 0..<n {
            let c = Float(i % 2)
            xs += [g.nextNormal() * 0.5 + (c == 0 ? -1.5 : 1.5), g.nextNormal() * 0.5 + (c == 0 ? 1 : -1)]
            ys.append(c)
        }
        return TensorBatchSource(inputs: Tensor(shape: [n, 2], scalars: xs), targets: Tensor(ys), batchSize: 20, shuffleSeed: 3)
    }

    func linearTrainer(
        _ optimizer: ParameterUpdater, loss: any Loss = MeanSquaredErrorLoss(), metrics: [any Metric] = [],
        outputs: Int = 1, seed: UInt64 = 0
    ) -> Trainer<LinearModel> {
        var t = Trainer(
            model: LinearModel(inputs: 2, outputs: outputs, seed: seed), optimizer: optimizer, loss: loss,
            metrics: metrics
        ) { m, x in m(x) }
        t.output = .silent
        return t
    }

    func testFitReducesRegressionLoss() throws {
        var trainer = linearTrainer(ParameterUpdater(SGD(learningRate: 0.1, momentum: 0.5)))
        let history = try trainer.fit(regressionData(), epochs: 15, verbose: false)
        let losses = history.values("loss").map { $0! }
        XCTAssertEqual(losses.count, 15)
        XCTAssertLessThan(losses.last!, losses.first! * 0.01, "\(losses)")
        XCTAssertEqual(trainer.model.weight.scalars[0], 2, accuracy: 0.05)
        XCTAssertEqual(trainer.model.bias.scalars[0], 0.5, accuracy: 0.05)
        XCTAssertEqual(trainer.progress.epoch, 15)
        XCTAssertEqual(trainer.progress.step, 15 * 4)
        XCTAssertEqual(trainer.optimizer.step, 60)
        XCTAssertNotNil(history.epochs[0]["epoch_seconds"])
        XCTAssertGreaterThan(history.epochs[0]["step_ms_median"] ?? 0, 0)
        XCTAssertGreaterThan(history.peakRSSBytes ?? 0, 1 << 20)
    }

    func testClassifierFitEvaluatePredict() throws {
        var trainer = linearTrainer(
            try trainingRegistry().updater("adam", ["learning_rate": 0.05]),
            loss: SoftmaxCrossEntropyLoss(), metrics: [Accuracy()], outputs: 2)
        let recorder = Recorder()
        let history = try trainer.fit(
            blobs(200, seed: 1), epochs: 5, validationData: blobs(100, seed: 2), callbacks: [recorder], verbose: false)
        let last = history.epochs.last!
        XCTAssertEqual(Array(last.keys.prefix(4)), ["loss", "accuracy", "val_loss", "val_accuracy"])
        XCTAssertGreaterThan(last["val_accuracy"]!, 0.95)
        let eval = trainer.evaluate(blobs(100, seed: 2))
        XCTAssertEqual(eval["val_loss"], nil)
        XCTAssertEqual(eval["loss"]!, last["val_loss"]!, accuracy: 1e-6)
        let inputs = blobs(50, seed: 9).inputs
        XCTAssertEqual(trainer.predict(inputs, batchSize: 16).shape, [50, 2])
        XCTAssertEqual(trainer.predict(inputs, batchSize: 16).scalars, trainer.predict(inputs).scalars)
        XCTAssertEqual(recorder.events.first, "train_begin")
        XCTAssertEqual(recorder.events.filter { $0.hasPrefix("batch") }.count, 5 * 10)
        XCTAssertEqual(recorder.events.suffix(2), ["epoch_end 4", "train_end"])
    }

    /// Train 5 epochs straight vs 2 epochs, checkpoint, a fresh trainer resumes to 5.
    func testResumeReproducesUninterruptedRun() throws {
        func makeTrainer(seed: UInt64) -> Trainer<LinearModel> {
            let updater = ParameterUpdater(Adam(learningRate: 0.05), schedule: CosineSchedule(totalSteps: 20), clipNorm: 5)
            return linearTrainer(updater, seed: seed)
        }
        let data = regressionData()
        var straight = makeTrainer(seed: 0)
        let full = try straight.fit(data, epochs: 5, callbacks: [EarlyStopping(monitor: "loss", patience: 10)], verbose: false)

        var first = makeTrainer(seed: 0)
        let path = dir.appendingPathComponent("ckpt-{epoch}.safetensors").path
        let saver = ModelCheckpoint(path: path, monitor: "loss", saveBestOnly: true)
        try first.fit(data, epochs: 2, callbacks: [saver, EarlyStopping(monitor: "loss", patience: 10)], verbose: false)
        XCTAssertEqual(saver.saved.map(\.lastPathComponent), ["ckpt-001.safetensors", "ckpt-002.safetensors"])
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertEqual(files, ["ckpt-001.optim.safetensors", "ckpt-001.safetensors", "ckpt-002.optim.safetensors", "ckpt-002.safetensors"])

        var resumed = makeTrainer(seed: 99)  // different init: everything must come from the checkpoint
        try resumed.resume(from: saver.saved[1])
        XCTAssertEqual(resumed.progress.epoch, 2)
        XCTAssertEqual(resumed.progress.step, 8)
        XCTAssertNotNil(resumed.progress.callbackState["early_stopping.best"])
        XCTAssertNotNil(resumed.progress.callbackState["model_checkpoint.best"])
        let rest = try resumed.fit(data, epochs: 5, callbacks: [EarlyStopping(monitor: "loss", patience: 10)], verbose: false)
        XCTAssertEqual(rest.epochs.count, 3)
        XCTAssertEqual(rest.values("loss"), Array(full.values("loss").suffix(3)))
        XCTAssertEqual(resumed.model.weight.scalars, straight.model.weight.scalars)
        XCTAssertEqual(resumed.optimizer.step, straight.optimizer.step)
    }

    /// With dropout: the resumed run must draw the masks the uninterrupted
    /// run drew after epoch 2 (the layers' mask counts travel in the
    /// optimizer file), so the losses match exactly; the weights file keeps
    /// only weights.
    func testResumeWithDropoutContinuesTheMaskSequence() throws {
        func makeTrainer(seed: UInt64) throws -> Trainer<Model> {
            let model = try Model(inputShape: [2], seed: seed) {
                Dense(units: 16, activation: .relu)
                Dropout(rate: 0.5, seed: 5)
                Dense(units: 2)
            }
            var t = Trainer(
                model: model, optimizer: ParameterUpdater(Adam(learningRate: 0.02)),
                loss: SoftmaxCrossEntropyLoss())
            t.output = .silent
            return t
        }
        let data = blobs(120, seed: 4)
        var straight = try makeTrainer(seed: 0)
        let full = try straight.fit(data, epochs: 4, verbose: false)

        var first = try makeTrainer(seed: 0)
        try first.fit(data, epochs: 2, verbose: false)
        let url = dir.appendingPathComponent("dropout.safetensors")
        try first.saveCheckpoint(to: url)
        XCTAssertEqual(Set(try Checkpoint.load(from: url).tensors.keys), ["0.weight", "0.bias", "2.weight", "2.bias"])
        let optimizerFile = try Checkpoint.load(from: Trainer<Model>.optimizerStateURL(for: url)).tensors
        XCTAssertEqual(optimizerFile["training_state/1.mask_calls"]?.scalars, [12, 0, 0, 0])  // 2 epochs x 6 batches

        var resumed = try makeTrainer(seed: 0)  // a fresh model: its dropout has drawn no mask yet
        try resumed.resume(from: url)
        XCTAssertEqual(resumed.model.trainingState.first?.value.scalars, [12, 0, 0, 0])
        let rest = try resumed.fit(data, epochs: 4, verbose: false)
        XCTAssertEqual(rest.values("loss"), Array(full.values("loss").suffix(2)))

        // Into a model with the same weights and one more dropout layer.
        var other = try makeTrainer(seed: 0)
        other.model = try Model(inputShape: [2], seed: 0) {
            Dense(units: 16, activation: .relu)
            Dropout(rate: 0.5, seed: 5)
            Dense(units: 2)
            Dropout(rate: 0.1)
        }
        XCTAssertThrowsError(try other.resume(from: url)) { error in
            XCTAssertTrue(
                "\(error)".contains("training state does not fit the model (missing: [\"training_state/3.mask_calls\"]"),
                "\(error)")
        }
    }

    func testResumeRejectsMismatchedFiles() throws {
        var a = linearTrainer(ParameterUpdater(Adam()))
        try a.fit(regressionData(), epochs: 1, verbose: false)
        let url = dir.appendingPathComponent("a.safetensors")
        try a.saveCheckpoint(to: url)
        // Another save's optimizer file next to these weights.
        let other = dir.appendingPathComponent("b.safetensors")
        try a.saveCheckpoint(to: other)
        try FileManager.default.removeItem(at: Trainer<LinearModel>.optimizerStateURL(for: url))
        try FileManager.default.copyItem(
            at: Trainer<LinearModel>.optimizerStateURL(for: other), to: Trainer<LinearModel>.optimizerStateURL(for: url))
        var b = linearTrainer(ParameterUpdater(Adam()))
        XCTAssertThrowsError(try b.resume(from: url)) { XCTAssertTrue("\($0)".contains("checkpoint_id"), "\($0)") }
        // A different optimizer type.
        var c = linearTrainer(ParameterUpdater(SGD(learningRate: 0.1, momentum: 0.9)))
        XCTAssertThrowsError(try c.resume(from: other)) { XCTAssertTrue("\($0)".contains("'adam'"), "\($0)") }
        // A model of another shape: the weights do not fit.
        var d = linearTrainer(ParameterUpdater(Adam()), outputs: 3)
        XCTAssertThrowsError(try d.resume(from: other)) { error in
            guard case CheckpointError.mismatch = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(d.progress.epoch, 0)
    }

    func testEarlyStoppingAndLearningRateScheduler() throws {
        var trainer = linearTrainer(ParameterUpdater(SGD(learningRate: 0)))  // loss never moves
        let stopper = EarlyStopping(monitor: "loss", patience: 1, minDelta: 1e-6)
        let history = try trainer.fit(regressionData(), epochs: 10, callbacks: [stopper], verbose: false)
        XCTAssertEqual(history.epochs.count, 3)
        XCTAssertTrue(history.stoppedEarly)
        XCTAssertEqual(stopper.stoppedEpoch, 2)

        var scheduled = linearTrainer(ParameterUpdater(SGD(learningRate: 0.1)))
        let h = try scheduled.fit(
            regressionData(), epochs: 4, callbacks: [LearningRateScheduler(StepSchedule(stepSize: 2, gamma: 0.5))], verbose: false)
        XCTAssertEqual(h.values("lr").map { $0! }, [0.1, 0.1, 0.05, 0.05].map { Double(Float($0)) })
        XCTAssertNil(scheduled.optimizer.learningRateOverride)
    }

    func testCSVAndJSONLinesLoggers() throws {
        var trainer = linearTrainer(ParameterUpdater(SGD(learningRate: 0.05)), metrics: [])
        let csv = dir.appendingPathComponent("log.csv"), jsonl = dir.appendingPathComponent("log.jsonl")
        try trainer.fit(
            regressionData(), epochs: 2, validationData: regressionData(seed: 5),
            callbacks: [CSVLogger(url: csv), JSONLinesLogger(url: jsonl)], verbose: false)
        try trainer.fit(
            regressionData(), epochs: 3, callbacks: [CSVLogger(url: csv, append: true), JSONLinesLogger(url: jsonl, append: true)],
            verbose: false)
        let rows = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 4)
        XCTAssertEqual(rows[0], "epoch,loss,val_loss,val_seconds,lr,epoch_seconds,step_ms_median")
        XCTAssertTrue(rows[3].hasPrefix("3,"))
        XCTAssertTrue(rows[3].contains(",,,"), "val_loss and val_seconds empty in the appended epoch: \(rows[3])")
        let lines = try String(contentsOf: jsonl, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        let obj = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        XCTAssertEqual(obj["epoch"] as? Int, 1)
        XCTAssertNotNil(obj["val_loss"] as? Double)
    }

    func testProgressBarLinesWhenNotATerminal() throws {
        var text = ""
        var trainer = linearTrainer(ParameterUpdater(SGD(learningRate: 0.05)), metrics: [])
        let data = TensorBatchSource(inputs: regressionData().inputs, targets: regressionData().targets, batchSize: 4)
        trainer.output = .custom { text += $0 }
        try trainer.fit(data, epochs: 2, verbose: true)
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.count, 2 * 10, text)  // 9 decile lines + the final line, per epoch
        XCTAssertFalse(text.contains("\r"))
        let last = String(lines.last!)
        XCTAssertTrue(last.hasPrefix("Epoch 2/2  16/16 [==============================] "), last)
        XCTAssertTrue(last.contains("ms/step - loss: ") && last.hasSuffix("samples/s"), last)
        XCTAssertTrue(lines[0].contains("ETA"), String(lines[0]))

        var live = ""
        var bar = ProgressBar(title: "Epoch 1/1", total: 3, output: .custom { live += $0 }, interactive: true)
        bar.update(done: 1, samples: 8, logs: Logs([("loss", 0.5)]))
        bar.finish(done: 3, samples: 24, logs: Logs([("loss", 0.25)]))
        XCTAssertTrue(live.hasPrefix("\rEpoch 1/1  1/3 [==========>...................] ETA"), live)
        XCTAssertTrue(live.contains("\rEpoch 1/1  3/3 [==============================]") && live.hasSuffix("\n"), live)
        XCTAssertEqual(ProgressBar.grouped(4900), "4,900")
        XCTAssertEqual(ProgressBar.grouped(1_234_567), "1,234,567")
    }

    func testBatchSourceShufflesPerEpochAndPeakMemory() {
        let x = Tensor(shape: [10, 1], scalars: (0..<10).map(Float.init))
        let source = TensorBatchSource(inputs: x, targets: x, batchSize: 4, shuffleSeed: 5)
        let e0 = source.batches(epoch: 0).flatMap { $0.inputs.scalars }, e1 = source.batches(epoch: 1).flatMap { $0.inputs.scalars }
        XCTAssertEqual(e0.sorted(), x.scalars)
        XCTAssertNotEqual(e0, e1)
        XCTAssertEqual(e0, source.batches(epoch: 0).flatMap { $0.inputs.scalars })
        XCTAssertEqual(source.batchCount, 3)
        let dropping = TensorBatchSource(inputs: x, targets: x, batchSize: 4, dropLast: true)
        XCTAssertEqual(dropping.batches(epoch: 0).map { $0.inputs.shape[0] }, [4, 4])
        XCTAssertEqual(dropping.sampleCount, 8)
        XCTAssertGreaterThan(PeakMemory.residentBytes() ?? 0, 1 << 20)
        XCTAssertEqual(PeakMemory.format(bytes: 3 << 20), "3.0 MB")
    }
}
