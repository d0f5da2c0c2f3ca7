/// A sequence iterated `times` times over (forever when `times` is `nil`).
///
/// The base is re-iterated from a fresh iterator each pass, so a
/// `BatchCollection` yields the same batches each pass. For a new shuffle per
/// epoch use `OrderedExamples.repeated(epochs:)` before batching instead.
public struct RepeatedSequence<Base: Sequence>: Sequence {
    /// The sequence repeated.
    public let base: Base
    /// Number of passes; `nil` repeats forever.
    public let times: Int?

    /// Iterates `base` `times` times in a row.
    public init(base: Base, times: Int?) {
        precondition(times.map { $0 >= 0 } ?? true, "RepeatedSequence: times must not be negative")
        self.base = base
        self.times = times
    }

    /// Iterator over all passes.
    public struct Iterator: IteratorProtocol {
        let base: Base
        let times: Int?
        var pass = 0
        var current: Base.Iterator?
        var sawElement = false

        /// The next element, moving to a new pass when the current one ends.
        public mutating func next() -> Base.Element? {
            while true {
                if current == nil {
                    if let times, pass >= times { return nil }
                    current = base.makeIterator()
                    sawElement = false
                }
                if let element = current!.next() {
                    sawElement = true
                    return element
                }
                current = nil
                pass += 1
                // An empty base would otherwise spin forever.
                if !sawElement { return nil }
            }
        }
    }

    /// Starts at the first element of the first pass.
    public func makeIterator() -> Iterator { Iterator(base: base, times: times) }
}

extension RepeatedSequence: Sendable where Base: Sendable {}

/// A sequence whose elements are `transform` applied to `base`'s, lazily.
///
/// Unlike `LazyMapSequence` it is `Sendable` (the closure is `@Sendable`),
/// so the mapping can run on the prefetch thread.
public struct MappedSequence<Base: Sequence & Sendable, Element>: Sequence, Sendable {
    /// The sequence mapped.
    public let base: Base
    /// Applied to each element of `base` as it is requested.
    public let transform: @Sendable (Base.Element) -> Element

    /// Maps `base` lazily through `transform`.
    public init(base: Base, transform: @escaping @Sendable (Base.Element) -> Element) {
        self.base = base
        self.transform = transform
    }

    /// Iterator applying `transform` element by element.
    public struct Iterator: IteratorProtocol {
        var base: Base.Iterator
        let transform: @Sendable (Base.Element) -> Element

        /// The next mapped element.
        public mutating func next() -> Element? { base.next().map(transform) }
    }

    /// Starts mapping from `base`'s first element.
    public func makeIterator() -> Iterator { Iterator(base: base.makeIterator(), transform: transform) }
}

extension Sequence {
    /// This sequence `times` times over; `nil` repeats forever.
    public func repeated(times: Int? = nil) -> RepeatedSequence<Self> {
        RepeatedSequence(base: self, times: times)
    }
}

extension Sequence where Self: Sendable {
    /// Lazily maps each element with a `@Sendable` transform (e.g. an
    /// augmentation on `Batch`), keeping the pipeline `Sendable`.
    public func mapped<T>(_ transform: @escaping @Sendable (Element) -> T) -> MappedSequence<Self, T> {
        MappedSequence(base: self, transform: transform)
    }
}
