/// One training or evaluation batch: model inputs and what the loss compares
/// the outputs with.
public typealias TrainingBatch = (inputs: Tensor, targets: Tensor)

/// Where `fit`, `evaluate` and `predict` get their batches. Deliberately
/// minimal so any input pipeline (SwiftGradData's included) adapts to it in
/// a few lines.
public protocol BatchSource {
    /// The batches of one pass over the data. `epoch` (from 0) lets a source
    /// reshuffle per epoch deterministically, so a run resumed at epoch e
    /// sees the same batches as an uninterrupted one.
    func batches(epoch: Int) -> AnySequence<TrainingBatch>
    /// Batches per pass, if known (progress bars show a total).
    var batchCount: Int? { get }
    /// Samples per pass, if known.
    var sampleCount: Int? { get }
}

extension BatchSource {
    /// Unknown by default.
    public var batchCount: Int? { nil }
    /// Unknown by default.
    public var sampleCount: Int? { nil }
}

/// A source from a closure that makes each epoch's batches, for adapting
/// other pipelines:
///
/// ```swift
/// let source = ClosureBatchSource(batchCount: 469, sampleCount: 60_000) { epoch in
///     AnySequence(train.shuffled(seed: 0 &+ UInt64(epoch)).batched(128).lazy.map { ($0.images, $0.labels) })
/// }
/// ```
public struct ClosureBatchSource: BatchSource {
    /// Batches per epoch, if known.
    public let batchCount: Int?
    /// Samples per epoch, if known.
    public let sampleCount: Int?
    private let make: (Int) -> AnySequence<TrainingBatch>

    /// Creates a source; `make(epoch)` returns that epoch's batches.
    public init(batchCount: Int? = nil, sampleCount: Int? = nil, _ make: @escaping (Int) -> AnySequence<TrainingBatch>) {
        (self.batchCount, self.sampleCount, self.make) = (batchCount, sampleCount, make)
    }

    /// The batches of one epoch.
    public func batches(epoch: Int) -> AnySequence<TrainingBatch> { make(epoch) }
}

/// Batches cut from two in-memory tensors along axis 0, optionally shuffled
/// with a seed mixed with the epoch number.
public struct TensorBatchSource: BatchSource, Sendable {
    /// Inputs [N, ...].
    public let inputs: Tensor
    /// Targets [N, ...].
    public let targets: Tensor
    /// Samples per batch (the last batch may be smaller unless `dropLast`).
    public let batchSize: Int
    /// Shuffle seed; nil keeps the stored order.
    public let shuffleSeed: UInt64?
    /// Drop a final partial batch.
    public let dropLast: Bool

    /// Creates a source over `inputs` [N, ...] and `targets` [N, ...].
    public init(inputs: Tensor, targets: Tensor, batchSize: Int, shuffleSeed: UInt64? = nil, dropLast: Bool = false) {
        precondition(
            inputs.rank >= 1 && targets.rank >= 1 && inputs.shape[0] == targets.shape[0],
            "TensorBatchSource: inputs \(inputs.shape) and targets \(targets.shape) need the same first axis")
        precondition(batchSize >= 1, "TensorBatchSource: batchSize must be >= 1")
        (self.inputs, self.targets, self.batchSize, self.shuffleSeed, self.dropLast) = (inputs, targets, batchSize, shuffleSeed, dropLast)
    }

    /// N.
    public var sampleCount: Int? { dropLast ? inputs.shape[0] / batchSize * batchSize : inputs.shape[0] }
    /// ceil(N / batchSize), or floor with `dropLast`.
    public var batchCount: Int? {
        let n = inputs.shape[0]
        return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize
    }

    /// The sample order of one epoch.
    public func order(epoch: Int) -> [Int] {
        var order = Array(0..<inputs.shape[0])
        if let shuffleSeed {
            var g = SeededGenerator(seed: shuffleSeed ^ (UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15))
            order.shuffle(using: &g)
        }
        return order
    }

    /// The batches of one epoch.
    public func batches(epoch: Int) -> AnySequence<TrainingBatch> {
        let order = order(epoch: epoch), count = batchCount ?? 0
        let (x, y, size) = (inputs, targets, batchSize)
        return AnySequence(
            (0..<count).lazy.map { b -> TrainingBatch in
                let rows = Array(order[(b * size)..<min((b + 1) * size, order.count)])
                return (Self.gather(x, rows), Self.gather(y, rows))
            })
    }

    /// Rows of `t` along axis 0, copied in the given order.
    static func gather(_ t: Tensor, _ rows: [Int]) -> Tensor {
        let rowSize = t.shape[0] == 0 ? 0 : t.count / t.shape[0]
        var out = Tensor(uninitializedShape: [rows.count] + t.shape.dropFirst())
        t.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (i, r) in rows.enumerated() {
                    for j in 0..<rowSize { dst[i * rowSize + j] = src[r * rowSize + j] }
                }
            }
        }
        return out
    }
}
