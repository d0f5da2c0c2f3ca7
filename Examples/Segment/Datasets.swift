import ArgumentParser
import Foundation
import SwiftGradData

/// The datasets `--dataset` chooses from.
enum DatasetName: String, ExpressibleByArgument, CaseIterable {
    case shapes
    case mnistScenes = "mnist-scenes"

    /// Canvas size when `--image-size` is not given.
    var defaultSize: ImageSize {
        switch self {
        case .shapes: ImageSize(height: 64, width: 64)
        case .mnistScenes: ImageSize(height: 64, width: 84)
        }
    }

    /// Training images per epoch when `--train-size` is not given.
    var defaultTrainSize: Int {
        switch self {
        case .shapes: 2048
        case .mnistScenes: 4096
        }
    }

    /// Epochs when `--epochs` is not given.
    var defaultEpochs: Int {
        switch self {
        case .shapes: 5
        case .mnistScenes: 4
        }
    }
}

/// A training set and a held-out set of one dataset, with class names.
struct DatasetPair {
    let train: any SegmentationDataset
    let heldOut: any SegmentationDataset
    let classNames: [String]

    var numClasses: Int { classNames.count }
    var height: Int { train.height }
    var width: Int { train.width }

    /// Generates (lazily) `trainSize` training and `testSize` held-out images.
    /// The held-out set uses another seed (and for mnist-scenes the MNIST
    /// test digits), so it shares no image with the training set.
    static func make(
        _ name: DatasetName, size: ImageSize, trainSize: Int, testSize: Int, seed: UInt64,
        dataDir: String?
    ) throws -> DatasetPair {
        let heldOutSeed = SplitMix64.mix(seed ^ 0x4845_4C44_4F55_54)  // "HELDOUT"
        switch name {
        case .shapes:
            func make(_ count: Int, _ seed: UInt64) -> ShapesDataset {
                ShapesDataset(count: count, height: size.height, width: size.width, seed: seed)
            }
            return DatasetPair(
                train: make(trainSize, seed), heldOut: make(testSize, heldOutSeed),
                classNames: ["background", "circle", "rectangle", "triangle"])
        case .mnistScenes:
            let dataDir = dataDir ?? bundledMNISTDirectory()
            let mnist: MNIST
            do { mnist = try MNIST(directory: dataDir) } catch {
                throw SegmentError(
                    "cannot read MNIST from '\(dataDir)' (set --data-dir to the folder with the IDX files): \(describe(error))")
            }
            guard size.height >= mnist.train.rows, size.width >= mnist.train.cols else {
                throw SegmentError("--image-size \(size) is smaller than an MNIST digit (\(mnist.train.rows)x\(mnist.train.cols))")
            }
            func make(_ digits: ImageClassificationSet, _ count: Int, _ seed: UInt64) -> MNISTScenes {
                MNISTScenes(digits: digits, count: count, height: size.height, width: size.width, seed: seed)
            }
            return DatasetPair(
                train: make(mnist.train, trainSize, seed), heldOut: make(mnist.test, testSize, heldOutSeed),
                classNames: ["background"] + (0..<10).map { "digit \($0)" })
        }
    }

    /// Median-frequency class weights (Eigen & Fergus): median(f) / f_k over
    /// the pixel frequencies f of up to 256 training images; classes never
    /// seen get weight 1.
    func medianFrequencyWeights() -> [Float] {
        var counts = [Int](repeating: 0, count: numClasses)
        for i in 0..<min(train.count, 256) {
            for label in train.sample(at: i).labels { counts[Int(label)] += 1 }
        }
        let total = Double(counts.reduce(0, +))
        let frequencies = counts.map { Double($0) / max(total, 1) }
        let seen = frequencies.filter { $0 > 0 }.sorted()
        guard !seen.isEmpty else { return [Float](repeating: 1, count: numClasses) }
        let median = seen.count % 2 == 1 ? seen[seen.count / 2] : (seen[seen.count / 2 - 1] + seen[seen.count / 2]) / 2
        return frequencies.map { $0 > 0 ? Float(median / $0) : 1 }
    }
}

/// The package's Data/mnist, from the working directory or found from this
/// source file's location (so `swift run segment` works from anywhere).
func bundledMNISTDirectory() -> String {
    let local = "Data/mnist"
    if FileManager.default.fileExists(atPath: local) { return local }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(local).path
}

/// A failure with a plain message (bad input found after argument parsing).
struct SegmentError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
