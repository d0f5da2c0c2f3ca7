import Foundation

/// A sequence whose elements are produced on a background thread, up to
/// `depth` elements ahead of the consumer.
///
/// Each `makeIterator()` starts one producer `Thread` that iterates `base`
/// and hands elements over through a bounded queue guarded by a condition
/// variable. The producer stops after its current element when every copy of
/// the iterator has been dropped, so breaking out of a `for` loop is safe.
/// Elements arrive in exactly `base`'s order.
public struct PrefetchSequence<Base: Sequence & Sendable>: Sequence, Sendable where Base.Element: Sendable {
    /// The sequence produced in the background.
    public let base: Base
    /// Queue capacity: how many finished elements may wait for the consumer.
    public let depth: Int

    /// Prefetches `base` with a queue of `depth` (at least 1) elements.
    public init(base: Base, depth: Int = 2) {
        precondition(depth >= 1, "PrefetchSequence: depth \(depth) must be at least 1")
        self.base = base
        self.depth = depth
    }

    /// The consumer side; dropping all copies stops the producer.
    public struct Iterator: IteratorProtocol {
        let handle: ConsumerHandle<Base.Element>

        /// Blocks until the producer has the next element; `nil` at the end.
        public mutating func next() -> Base.Element? { handle.channel.take() }
    }

    /// Starts the producer thread and returns the consumer side.
    public func makeIterator() -> Iterator {
        let channel = PrefetchChannel<Base.Element>(capacity: depth)
        let base = self.base
        let thread = Thread {
            var iterator = base.makeIterator()
            while !channel.isCancelled, let element = iterator.next() {
                if !channel.put(element) { break }
            }
            channel.finish()
        }
        thread.name = "SwiftGradData.prefetch"
        thread.start()
        return Iterator(handle: ConsumerHandle(channel: channel))
    }
}

extension Sequence where Self: Sendable, Element: Sendable {
    /// Produces elements on a background thread, `depth` (1-2 is plenty) ahead.
    public func prefetched(depth: Int = 2) -> PrefetchSequence<Self> {
        PrefetchSequence(base: self, depth: depth)
    }
}

/// Owned by the iterator; its deinit tells the producer to stop.
final class ConsumerHandle<Element: Sendable> {
    let channel: PrefetchChannel<Element>

    init(channel: PrefetchChannel<Element>) { self.channel = channel }

    deinit { channel.cancel() }
}

/// A bounded FIFO between one producer and one consumer thread.
///
/// `@unchecked Sendable`: every stored property is read and written only
/// while holding `condition`'s lock.
final class PrefetchChannel<Element: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private let capacity: Int
    private var buffer: [Element] = []
    private var finished = false
    private var cancelled = false

    init(capacity: Int) { self.capacity = capacity }

    /// True once the consumer has gone away.
    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    /// Blocks while the queue is full; returns false if the consumer is gone.
    func put(_ element: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while buffer.count >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        buffer.append(element)
        condition.broadcast()
        return true
    }

    /// Marks the end of the stream.
    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until an element or the end arrives.
    func take() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while buffer.isEmpty && !finished { condition.wait() }
        guard !buffer.isEmpty else { return nil }
        let element = buffer.removeFirst()  // O(depth), and depth is 1-2
        condition.broadcast()
        return element
    }

    /// Called when the consumer goes away: drops queued elements, wakes the producer.
    func cancel() {
        condition.lock()
        cancelled = true
        buffer.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}
