import SwiftGrad

/// One single-channel segmentation example.
public struct SegmentationSample: Sendable, Equatable {
    /// Image height H.
    public var height: Int
    /// Image width W.
    public var width: Int
    /// Pixel intensities, row-major `[H, W]`, in `[0, 1]`.
    public var image: [Float]
    /// Class index of each pixel, row-major `[H, W]`, in `[0, numClasses)`.
    public var labels: [Int32]

    /// A blank sample: image all `fill`, labels all 0 (background).
    public init(height: Int, width: Int, fill: Float = 0) {
        self.height = height
        self.width = width
        image = [Float](repeating: fill, count: height * width)
        labels = [Int32](repeating: 0, count: height * width)
    }
}

/// A dataset of segmentation examples generated or read on demand.
///
/// `sample(at:)` must be deterministic: the same index always gives the
/// same sample, so epochs can be reshuffled and batches rebuilt at will.
public protocol SegmentationDataset: Sendable {
    /// Number of examples N.
    var count: Int { get }
    /// Image height H.
    var height: Int { get }
    /// Image width W.
    var width: Int { get }
    /// Number of classes C (background included, as class 0).
    var numClasses: Int { get }
    /// Example `index`: image `[H, W]` and labels `[H, W]`.
    func sample(at index: Int) -> SegmentationSample
}

/// A segmentation batch before conversion to tensors.
public struct RawSegmentationBatch: Sendable, Equatable {
    /// Image height H.
    public var height: Int
    /// Image width W.
    public var width: Int
    /// Pixels, row-major `[N, 1, H, W]`.
    public var pixels: [Float]
    /// Per-pixel class indices, row-major `[N, H, W]`.
    public var labels: [Int32]
    /// Dataset positions of the examples, `[N]`.
    public var indices: [Int]

    /// Number of examples N.
    public var count: Int { indices.count }
}

/// A segmentation batch: images `[N, 1, H, W]`, per-pixel labels `[N, H, W]`.
public struct SegmentationBatch: Sendable {
    /// Images, shape `[N, 1, H, W]`, values in `[0, 1]`.
    public let images: Tensor
    /// Class index of each pixel as Float values `0, 1, ..., C-1`, shape `[N, H, W]`.
    public let labels: Tensor
    /// The same class indices as integers, row-major `[N, H, W]`.
    public let labelIndices: [Int32]
    /// Dataset positions of the examples, `[N]`.
    public let indices: [Int]

    /// Wraps a raw batch in tensors.
    public init(_ raw: RawSegmentationBatch) {
        images = Tensor(shape: [raw.count, 1, raw.height, raw.width], scalars: raw.pixels)
        labels = Tensor(shape: [raw.count, raw.height, raw.width], scalars: raw.labels.map { Float($0) })
        labelIndices = raw.labels
        indices = raw.indices
    }

    /// Number of examples N.
    public var count: Int { indices.count }
}

extension SegmentationDataset {
    /// The examples at `indices`: pixels `[N, 1, H, W]`, labels `[N, H, W]`.
    public func rawBatch(indices: [Int]) -> RawSegmentationBatch {
        var pixels: [Float] = []
        var labels: [Int32] = []
        pixels.reserveCapacity(indices.count * height * width)
        labels.reserveCapacity(indices.count * height * width)
        for index in indices {
            precondition(index >= 0 && index < count, "\(Self.self): index \(index) out of 0..<\(count)")
            let sample = sample(at: index)
            pixels += sample.image
            labels += sample.labels
        }
        return RawSegmentationBatch(height: height, width: width, pixels: pixels, labels: labels, indices: indices)
    }

    /// The examples at `indices` as tensors: images `[N, 1, H, W]`, labels `[N, H, W]`.
    public func batch(indices: [Int]) -> SegmentationBatch {
        SegmentationBatch(rawBatch(indices: indices))
    }

    /// The batches of one epoch; `batches[i]` builds batch `i` on demand.
    /// - Parameters:
    ///   - shuffleSeed: `nil` keeps dataset order.
    ///   - epoch: selects the epoch's permutation when shuffling.
    public func batches(
        batchSize: Int, shuffleSeed: UInt64? = nil, epoch: Int = 0, dropRemainder: Bool = false
    ) -> SegmentationBatches<Self> {
        SegmentationBatches(
            dataset: self, order: epochOrder(count: count, seed: shuffleSeed, epoch: epoch),
            batchSize: batchSize, dropRemainder: dropRemainder)
    }
}

/// The batches of a segmentation dataset in a fixed order, built on access
/// (`SegmentationBatch`: images `[B, 1, H, W]`, labels `[B, H, W]`).
public struct SegmentationBatches<Dataset: SegmentationDataset>: RandomAccessCollection, Sendable {
    /// The dataset batched.
    public let dataset: Dataset
    /// Example positions in iteration order.
    public let order: [Int]
    /// Examples per batch B.
    public let batchSize: Int
    /// Whether a final batch smaller than `batchSize` is left out.
    public let dropRemainder: Bool

    /// Batches `order` (positions in `dataset`) into groups of `batchSize`.
    public init(dataset: Dataset, order: [Int], batchSize: Int, dropRemainder: Bool = false) {
        precondition(batchSize >= 1, "SegmentationBatches: batchSize \(batchSize) must be at least 1")
        self.dataset = dataset
        self.order = order
        self.batchSize = batchSize
        self.dropRemainder = dropRemainder
    }

    /// Index of the first batch.
    public var startIndex: Int { 0 }
    /// Number of batches.
    public var endIndex: Int {
        Batching.batchCount(order.count, batchSize: batchSize, dropRemainder: dropRemainder)
    }

    /// The example positions of batch `position`, `[B]`.
    public func exampleIndices(ofBatch position: Int) -> [Int] {
        Batching.slice(order, batch: position, batchSize: batchSize, batchCount: endIndex, owner: "SegmentationBatches")
    }

    /// Batch `position` before tensor conversion.
    public func raw(_ position: Int) -> RawSegmentationBatch {
        dataset.rawBatch(indices: exampleIndices(ofBatch: position))
    }

    /// Batch `position`: images `[B, 1, H, W]`, labels `[B, H, W]`.
    public subscript(position: Int) -> SegmentationBatch {
        SegmentationBatch(raw(position))
    }
}
