import Foundation
import SwiftGrad
import SwiftGradData
import SwiftGradNN

/// Adapts an image-classification set to the training loop: shuffled per
/// epoch (reproducibly), batched, and prefetched on a background thread so
/// the next batch is ready when a step ends.
struct MNISTSource: BatchSource {
    let examples: ImageClassificationSet
    let batchSize: Int
    let shuffleSeed: UInt64?

    var batchCount: Int? { (examples.count + batchSize - 1) / batchSize }
    var sampleCount: Int? { examples.count }

    func batches(epoch: Int) -> AnySequence<TrainingBatch> {
        let batches = examples.batches(batchSize: batchSize, shuffleSeed: shuffleSeed, epoch: epoch)
        return AnySequence(batches.prefetched().lazy.map { ($0.images, $0.labelTensor) })
    }
}

/// Writes one JSON object per epoch with the keys the issue asks for.
final class MetricsWriter: Callback {
    let url: URL
    let samplesPerEpoch: Int
    var lines: [String] = []

    init(url: URL, samplesPerEpoch: Int, append: Bool) {
        self.url = url
        self.samplesPerEpoch = samplesPerEpoch
        if append, let old = try? String(contentsOf: url, encoding: .utf8) {
            lines = old.split(separator: "\n").map(String.init)
        }
    }

    func onEpochEnd(_ epoch: Int, logs: Logs, context: TrainingContext) throws {
        let seconds = logs["epoch_seconds"] ?? 0
        let record: [String: Double] = [
            "epoch": Double(epoch + 1),
            "train_loss": logs["loss"] ?? .nan,
            "train_accuracy": logs["accuracy"] ?? .nan,
            "test_loss": logs["val_loss"] ?? .nan,
            "test_accuracy": logs["val_accuracy"] ?? .nan,
            "epoch_seconds": seconds,
            "test_seconds": logs["val_seconds"] ?? .nan,
            "step_ms_median": logs["step_ms_median"] ?? .nan,
            "images_per_second": seconds > 0 ? Double(samplesPerEpoch) / seconds : 0,
            "peak_rss_bytes": Double(PeakMemory.residentBytes() ?? 0),
            "learning_rate": logs["lr"] ?? .nan
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        lines.append(String(decoding: try encoder.encode(record), as: UTF8.self))
        // Rewritten whole and atomically, so a crash never leaves half a line.
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url, options: .atomic)
    }
}

/// Saves a full training checkpoint (weights + optimizer state) after every
/// epoch, so `--resume` continues exactly where a run stopped.
final class CheckpointEveryEpoch: Callback {
    let url: URL
    init(url: URL) { self.url = url }
    func onEpochEnd(_ epoch: Int, logs: Logs, context: TrainingContext) throws {
        try context.saveCheckpoint(to: url)
    }
}

/// Prints a one-line epoch summary with test results and throughput.
final class EpochReporter: Callback {
    let quiet: Bool
    let samplesPerEpoch: Int
    init(quiet: Bool, samplesPerEpoch: Int) { (self.quiet, self.samplesPerEpoch) = (quiet, samplesPerEpoch) }

    func onEpochEnd(_ epoch: Int, logs: Logs, context: TrainingContext) throws {
        let seconds = logs["epoch_seconds"] ?? 0
        say(
            String(
                format: "epoch %d: train loss %.4f acc %.4f | test loss %.4f acc %.4f | %.1f s, %.0f images/s, peak RSS %@",
                epoch + 1, logs["loss"] ?? .nan, logs["accuracy"] ?? .nan, logs["val_loss"] ?? .nan,
                logs["val_accuracy"] ?? .nan, seconds, seconds > 0 ? Double(samplesPerEpoch) / seconds : 0,
                PeakMemory.format(bytes: PeakMemory.residentBytes() ?? 0)))
    }
}
