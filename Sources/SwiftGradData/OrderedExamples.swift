/// One example of an `ImageClassificationSet`: its bytes `[H, W]` and label.
public struct Example: Sendable, Equatable {
    /// Position of the example in its split.
    public var index: Int
    /// Pixels, row-major `[H, W]`, one byte each.
    public var image: ArraySlice<UInt8>
    /// Class index in `[0, numClasses)`.
    public var label: Int32
}

/// A split seen in a fixed order: in order, or shuffled per epoch.
///
/// Built by `ImageClassificationSet.shuffled(seed:epoch:)` or
/// `inOrder()`; `repeated(epochs:)` appends further epochs, each with its own
/// permutation, and `batched(_:dropRemainder:normalization:)` groups it.
public struct OrderedExamples: RandomAccessCollection, Sendable {
    /// The split the examples come from.
    public let source: ImageClassificationSet
    /// Shuffle seed; `nil` means dataset order.
    public let seed: UInt64?
    /// The epochs covered; epoch `e` uses `epochOrder(count:seed:epoch: e)`.
    public let epochs: Range<Int>
    /// Example positions in iteration order, `source.count * epochs.count` of them.
    public let order: [Int]

    /// Creates the order for `epochs` of `source`, shuffled by `seed` when given.
    public init(source: ImageClassificationSet, seed: UInt64?, epochs: Range<Int>) {
        self.source = source
        self.seed = seed
        self.epochs = epochs
        var order: [Int] = []
        order.reserveCapacity(source.count * epochs.count)
        for epoch in epochs { order += epochOrder(count: source.count, seed: seed, epoch: epoch) }
        self.order = order
    }

    /// Index of the first example.
    public var startIndex: Int { 0 }
    /// One past the last example.
    public var endIndex: Int { order.count }

    /// The `position`-th example of this order.
    public subscript(position: Int) -> Example {
        let index = order[position]
        return Example(index: index, image: source.image(at: index), label: source.labels[index])
    }

    /// The same split over `epochs` consecutive epochs starting at this
    /// one's first; each epoch is reshuffled with its own epoch number.
    public func repeated(epochs count: Int) -> OrderedExamples {
        precondition(count >= 1, "OrderedExamples.repeated: epochs \(count) must be at least 1")
        return OrderedExamples(source: source, seed: seed, epochs: epochs.lowerBound..<(epochs.lowerBound + count))
    }

    /// Groups the order into batches of `size` examples (images
    /// `[size, 1, H, W]`, labels `[size]`); the last batch is smaller unless
    /// `dropRemainder`.
    public func batched(
        _ size: Int, dropRemainder: Bool = false, normalization: Normalization? = nil
    ) -> BatchCollection {
        BatchCollection(
            source: source, order: order, batchSize: size, dropRemainder: dropRemainder, normalization: normalization)
    }
}

extension ImageClassificationSet {
    /// The examples in a permutation fixed by `(seed, epoch)`; a different
    /// epoch gives a different, equally reproducible, permutation.
    public func shuffled(seed: UInt64, epoch: Int = 0) -> OrderedExamples {
        OrderedExamples(source: self, seed: seed, epochs: epoch..<(epoch + 1))
    }

    /// The examples in dataset order.
    public func inOrder() -> OrderedExamples {
        OrderedExamples(source: self, seed: nil, epochs: 0..<1)
    }

    /// Batches in dataset order: images `[size, 1, H, W]`, labels `[size]`.
    public func batched(
        _ size: Int, dropRemainder: Bool = false, normalization: Normalization? = nil
    ) -> BatchCollection {
        inOrder().batched(size, dropRemainder: dropRemainder, normalization: normalization)
    }

    /// The batches of one epoch, for index-based training loops:
    /// `batches[i]` builds batch `i` (images `[B, 1, H, W]`, labels `[B]`).
    /// - Parameters:
    ///   - shuffleSeed: `nil` keeps dataset order.
    ///   - epoch: selects the epoch's permutation when shuffling.
    public func batches(
        batchSize: Int, shuffleSeed: UInt64? = nil, epoch: Int = 0,
        dropRemainder: Bool = false, normalization: Normalization? = nil
    ) -> BatchCollection {
        OrderedExamples(source: self, seed: shuffleSeed, epochs: epoch..<(epoch + 1))
            .batched(batchSize, dropRemainder: dropRemainder, normalization: normalization)
    }
}
