import ArgumentParser
import ExampleSupport
import Foundation
import SwiftGrad
import SwiftGradData
import SwiftGradNN

/// `segment`: trains a U-Net on a generated segmentation dataset, reports
/// per-class and mean IoU on a held-out set every epoch and draws
/// input | ground truth | prediction strips for a few held-out samples.
struct Segment: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment",
        abstract: "Trains a U-Net for semantic segmentation on generated data.",
        discussion: """
            Datasets: shapes (noisy gray images with circles, rectangles and triangles; 4 classes) and \
            mnist-scenes (MNIST digits placed on a larger canvas; 11 classes).
            Examples:
              swift run -c release segment
              swift run -c release segment --dataset mnist-scenes --metrics-out scenes.jsonl
              swift run -c release segment --epochs 2 --checkpoint run.safetensors
              swift run -c release segment --epochs 4 --resume run.safetensors --checkpoint run.safetensors
            """)

    @Option(help: "Generated dataset to train on.")
    var dataset: DatasetName = .shapes

    @Option(help: "Training epochs, the total when resuming (default: 5 for shapes, 4 for mnist-scenes).")
    var epochs: Int?

    @Option(help: "Images per training step.")
    var batchSize: Int = 8

    @Option(help: "Optimizer: any registered name (default adam; when resuming, the checkpoint's).")
    var optimizer: String?

    @Option(help: "Base learning rate (default 0.001; when resuming, the checkpoint's).")
    var learningRate: Float?

    @Option(help: "Learning-rate schedule over the whole run: cosine (decays to 5%) or constant.")
    var schedule: ScheduleName = .cosine

    @Option(help: "Seed of the data, the shuffles and the weight initialization.")
    var seed: UInt64 = 0

    @OptionGroup var kernels: KernelOptions

    @Option(help: "Training images per epoch (default: 2048 for shapes, 4096 for mnist-scenes).")
    var trainSize: Int?

    @Option(help: "Held-out images evaluated after every epoch.")
    var testSize: Int = 256

    @Option(help: "Image size as HxW, e.g. 64x84 (default: 64x64 for shapes, 64x84 for mnist-scenes).")
    var imageSize: ImageSize?

    @Option(help: "Model config JSON (default: a U-Net with channels [16, 32, 64, 128] and a 256-channel bottleneck).")
    var model: String?

    @Option(
        help: "Per-class loss weights: comma-separated numbers, one per class (background first), or 'auto' for median-frequency weights.")
    var classWeights: String?

    @Option(
        help:
            "Write one JSON object per epoch (loss, mean_iou, per-class IoU, timings) to this file, one per line (appended to when resuming)."
    )
    var metricsOut: String?

    @Option(help: "Save a training checkpoint (weights, optimizer state, progress) here after every epoch.")
    var checkpoint: String?

    @Option(help: "Resume from a checkpoint written by --checkpoint.")
    var resume: String?

    @Option(help: "Folder for the prediction images.")
    var outputDir: String = "./segment-output"

    @Option(help: "Held-out samples drawn in each image.")
    var samples: Int = 4

    @Option(help: "Folder with the MNIST IDX files for mnist-scenes (default: the bundled Data/mnist).")
    var dataDir: String?

    @Flag(help: "No progress bar; one summary per epoch.")
    var quiet = false

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        guard batchSize <= 4096 else { throw ValidationError("--batch-size \(batchSize) is unreasonably large (at most 4096)") }
        if let learningRate, !(learningRate.isFinite && learningRate > 0) {
            throw ValidationError("--learning-rate must be a positive finite number, got \(learningRate)")
        }
        if let trainSize, !(1...10_000_000).contains(trainSize) {
            throw ValidationError("--train-size must be in 1...10000000, got \(trainSize)")
        }
        guard (1...1_000_000).contains(testSize) else { throw ValidationError("--test-size must be in 1...1000000, got \(testSize)") }
        guard (0...64).contains(samples) else { throw ValidationError("--samples must be in 0...64, got \(samples)") }
        if let optimizer, !Registry.isValidName(optimizer) {
            throw ValidationError("--optimizer '\(optimizer)' is not a valid plugin name (lowercase letters, digits, '_' and '.')")
        }
        if let imageSize {
            let minimum = dataset == .mnistScenes ? 28 : 8
            guard imageSize.height >= minimum, imageSize.width >= minimum, imageSize.height * imageSize.width <= 4096 * 4096 else {
                throw ValidationError(
                    "--image-size \(imageSize) must be at least \(minimum)x\(minimum) for \(dataset.rawValue) (and at most 4096x4096 pixels)"
                )
            }
        }
        if let classWeights { _ = try ClassWeights(argument: classWeights) }
    }

    func run() throws {
        do {
            try SegmentationRun(options: self).run()
        } catch let error as ValidationError {
            throw error
        } catch {
            // Errors from files, configs and checkpoints: a message, exit code 1.
            FileHandle.standardError.write(Data("segment: error: \(describe(error))\n".utf8))
            throw ExitCode.failure
        }
    }
}

/// The text of an error: its description (every error here has one).
func describe(_ error: Error) -> String { String(describing: error) }

/// The learning-rate schedules offered on the command line.
enum ScheduleName: String, ExpressibleByArgument, CaseIterable {
    case cosine, constant
}

/// "HxW" on the command line.
struct ImageSize: ExpressibleByArgument, CustomStringConvertible {
    var height: Int
    var width: Int

    init(height: Int, width: Int) { (self.height, self.width) = (height, width) }

    init?(argument: String) {
        let parts = argument.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let h = Int(parts[0]), let w = Int(parts[1]) else { return nil }
        (height, width) = (h, w)
    }

    var description: String { "\(height)x\(width)" }
}

/// `--class-weights`: explicit numbers or median-frequency balancing.
enum ClassWeights {
    case explicit([Float])
    case auto

    init(argument: String) throws {
        if argument == "auto" {
            self = .auto
            return
        }
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var values: [Float] = []
        for p in parts {
            guard let v = Float(p), v.isFinite, v >= 0 else {
                throw ValidationError("--class-weights: '\(p)' is not a non-negative number (give e.g. 1,2,2,2 or auto)")
            }
            values.append(v)
        }
        guard values.contains(where: { $0 > 0 }) else { throw ValidationError("--class-weights: at least one weight must be positive") }
        self = .explicit(values)
    }
}
