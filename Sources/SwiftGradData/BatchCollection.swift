/// The batches of an example order: a random-access collection whose
/// elements are built on demand (`Batch`: images `[B, 1, H, W]`, labels `[B]`).
///
/// Building on access keeps memory at one batch; wrap it in
/// `prefetched()` to build the next batch on a background thread.
public struct BatchCollection: RandomAccessCollection, Sendable {
    /// The split the examples come from.
    public let source: ImageClassificationSet
    /// Example positions in iteration order.
    public let order: [Int]
    /// Examples per batch B.
    public let batchSize: Int
    /// Whether a final batch smaller than `batchSize` is left out.
    public let dropRemainder: Bool
    /// Applied after scaling pixels to `[0, 1]`, when given.
    public let normalization: Normalization?

    /// Creates batches over `order` (positions in `source`).
    public init(
        source: ImageClassificationSet, order: [Int], batchSize: Int,
        dropRemainder: Bool = false, normalization: Normalization? = nil
    ) {
        precondition(batchSize >= 1, "BatchCollection: batchSize \(batchSize) must be at least 1")
        self.source = source
        self.order = order
        self.batchSize = batchSize
        self.dropRemainder = dropRemainder
        self.normalization = normalization
    }

    /// Index of the first batch.
    public var startIndex: Int { 0 }
    /// Number of batches: `order.count / B`, rounded up unless `dropRemainder`.
    public var endIndex: Int {
        Batching.batchCount(order.count, batchSize: batchSize, dropRemainder: dropRemainder)
    }

    /// The example positions of batch `position`, `[B]` (fewer for a final partial batch).
    public func exampleIndices(ofBatch position: Int) -> [Int] {
        Batching.slice(order, batch: position, batchSize: batchSize, batchCount: endIndex, owner: "BatchCollection")
    }

    /// Batch `position` before tensor conversion: pixels `[B, 1, H, W]`, labels `[B]`.
    public func raw(_ position: Int) -> RawBatch {
        source.rawBatch(indices: exampleIndices(ofBatch: position), normalization: normalization)
    }

    /// Batch `position`: images `[B, 1, H, W]`, labels `[B]`.
    public subscript(position: Int) -> Batch {
        Batch(raw(position))
    }
}
