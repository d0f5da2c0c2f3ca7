import Foundation
import XCTest

@testable import SwiftGradData

/// A thread-safe counter for observing the producer thread.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func increment() {
        lock.lock()
        count += 1
        lock.unlock()
    }

    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}

final class PrefetchTests: XCTestCase {
    func testPrefetchYieldsSameBatchesAsDirect() {
        let set = tinySet(count: 23)
        let direct = set.shuffled(seed: 5).batched(4, normalization: .mnist)
        let fetched = Array(direct.prefetched())
        XCTAssertEqual(fetched.count, direct.count)
        for (i, batch) in fetched.enumerated() {
            XCTAssertEqual(batch.images.scalars, direct[i].images.scalars)
            XCTAssertEqual(batch.images.shape, direct[i].images.shape)
            XCTAssertEqual(batch.labels, direct[i].labels)
        }
    }

    func testDepthOneAndEmptyAndNested() {
        XCTAssertEqual(Array((0..<100).prefetched(depth: 1)), Array(0..<100))
        XCTAssertEqual(Array([Int]().prefetched()), [])
        XCTAssertEqual(Array((0..<10).prefetched().mapped { $0 + 1 }.prefetched()), Array(1...10))
    }

    func testIteratingTwiceStartsTwoProducers() {
        let seq = (0..<5).prefetched()
        XCTAssertEqual(Array(seq), Array(seq))
    }

    func testProducerStopsWhenConsumerDropsIterator() throws {
        let produced = Counter()
        let infinite = (0..<1000).repeated().mapped { value -> Int in
            produced.increment()
            return value
        }
        var taken = 0
        for value in infinite.prefetched(depth: 2) {
            XCTAssertEqual(value, taken)
            taken += 1
            if taken == 3 { break }
        }
        // The producer may finish one element in flight; then it must stop.
        Thread.sleep(forTimeInterval: 0.5)
        let settled = produced.value
        XCTAssertLessThanOrEqual(settled, 3 + 2 + 1)
        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertEqual(produced.value, settled)
    }

    func testProducerRunsAheadOnlyByDepth() {
        let produced = Counter()
        let seq = (0..<50).mapped { value -> Int in
            produced.increment()
            return value
        }
        var iterator = seq.prefetched(depth: 1).makeIterator()
        XCTAssertEqual(iterator.next(), 0)
        Thread.sleep(forTimeInterval: 0.2)
        // One queued plus one blocked in put: at most 3 produced after one take.
        XCTAssertLessThanOrEqual(produced.value, 3)
        XCTAssertEqual(iterator.next(), 1)
    }
}
