/// How an example order splits into batches; shared by `BatchCollection`
/// and `SegmentationBatches` so both count and slice batches the same way.
enum Batching {
    /// Number of batches of `batchSize` over `count` examples, rounded up
    /// unless `dropRemainder`.
    static func batchCount(_ count: Int, batchSize: Int, dropRemainder: Bool) -> Int {
        dropRemainder ? count / batchSize : (count + batchSize - 1) / batchSize
    }

    /// The entries of `order` in batch `position` (fewer for a final partial batch).
    static func slice(_ order: [Int], batch position: Int, batchSize: Int, batchCount: Int, owner: String) -> [Int] {
        precondition(position >= 0 && position < batchCount, "\(owner): batch \(position) out of 0..<\(batchCount)")
        let start = position * batchSize
        return Array(order[start..<Swift.min(start + batchSize, order.count)])
    }
}
