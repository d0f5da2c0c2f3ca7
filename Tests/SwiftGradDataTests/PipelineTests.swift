import XCTest

@testable import SwiftGradData

/// 10 images of 2x2 where every pixel of image n is `n * 25`, label `n % 3`.
func tinySet(count: Int = 10) -> ImageClassificationSet {
    let images = (0..<count).flatMap { n in [UInt8](repeating: UInt8(n * 25 % 256), count: 4) }
    return ImageClassificationSet(rows: 2, cols: 2, images: images, labels: (0..<count).map { Int32($0 % 3) }, numClasses: 3)
}

final class PipelineTests: XCTestCase {
    func testSplitMix64MatchesReferenceOutputs() {
        // First outputs of Vigna's reference splitmix64.c seeded with 0.
        var rng = SplitMix64(seed: 0)
        XCTAssertEqual([rng.next(), rng.next(), rng.next()], [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
    }

    func testUniformStaysInRange() {
        var rng = SplitMix64(seed: 42)
        var seen = Set<Int>()
        for _ in 0..<1000 {
            let v = rng.uniform(below: 7)
            XCTAssertTrue((0..<7).contains(v))
            seen.insert(v)
        }
        XCTAssertEqual(seen.count, 7)
        for _ in 0..<100 { XCTAssertTrue((0.0..<1.0).contains(rng.unitDouble())) }
    }

    func testShuffleIsDeterministicCompleteAndSeedDependent() {
        let a = epochOrder(count: 1000, seed: 7, epoch: 0)
        XCTAssertEqual(a, epochOrder(count: 1000, seed: 7, epoch: 0))
        XCTAssertEqual(a.sorted(), Array(0..<1000))
        XCTAssertNotEqual(a, Array(0..<1000))
        XCTAssertNotEqual(a, epochOrder(count: 1000, seed: 8, epoch: 0))
        XCTAssertNotEqual(a, epochOrder(count: 1000, seed: 7, epoch: 1))
        XCTAssertEqual(epochOrder(count: 5, seed: nil, epoch: 3), [0, 1, 2, 3, 4])
        XCTAssertEqual(epochOrder(count: 0, seed: 1, epoch: 0), [])
    }

    func testShuffledViewAndRepeatedEpochs() {
        let set = tinySet()
        let view = set.shuffled(seed: 3, epoch: 2)
        XCTAssertEqual(view.map(\.index), epochOrder(count: 10, seed: 3, epoch: 2))
        XCTAssertEqual(view[0].label, set.labels[view[0].index])
        let three = view.repeated(epochs: 3)
        XCTAssertEqual(three.count, 30)
        XCTAssertEqual(Array(three.order[10..<20]), epochOrder(count: 10, seed: 3, epoch: 3))
        XCTAssertEqual(Array(three.order[20..<30]), epochOrder(count: 10, seed: 3, epoch: 4))
    }

    func testBatchingCountsAndRemainder() {
        let set = tinySet()
        XCTAssertEqual(set.batched(4).count, 3)
        XCTAssertEqual(set.batched(4).map(\.count), [4, 4, 2])
        XCTAssertEqual(set.batched(4, dropRemainder: true).count, 2)
        XCTAssertEqual(set.batched(5, dropRemainder: true).count, 2)
        let batches = set.batches(batchSize: 4, shuffleSeed: 9, epoch: 1)
        XCTAssertEqual((0..<batches.count).flatMap { batches.exampleIndices(ofBatch: $0) }, epochOrder(count: 10, seed: 9, epoch: 1))
    }

    func testBatchContentsShapeScalingAndNormalization() {
        let set = tinySet()
        let batch = set.batch(indices: [3, 0])
        XCTAssertEqual(batch.images.shape, [2, 1, 2, 2])
        XCTAssertEqual(batch.images.scalars, [Float](repeating: 75 / 255, count: 4) + [0, 0, 0, 0])
        XCTAssertEqual(batch.labels, [0, 0])
        XCTAssertEqual(batch.indices, [3, 0])
        XCTAssertEqual(batch.labelTensor.shape, [2])
        XCTAssertEqual(batch.oneHotLabels(numClasses: 3).scalars, [1, 0, 0, 1, 0, 0])
        let white = ImageClassificationSet(rows: 1, cols: 2, images: [255, 0], labels: [1], numClasses: 2)
        XCTAssertEqual(white.rawBatch(indices: [0]).pixels, [1, 0])
        let norm = white.rawBatch(indices: [0], normalization: Normalization(mean: 0.5, std: 0.25)).pixels
        XCTAssertEqual(norm[0], 2, accuracy: 1e-6)
        XCTAssertEqual(norm[1], -2, accuracy: 1e-6)
    }

    func testRepeatedAndMappedSequences() {
        XCTAssertEqual(Array([1, 2].repeated(times: 3)), [1, 2, 1, 2, 1, 2])
        XCTAssertEqual(Array([Int]().repeated()), [])  // empty base must not spin forever
        XCTAssertEqual(Array([1, 2].repeated().prefix(5)), [1, 2, 1, 2, 1])
        XCTAssertEqual(Array([1, 2, 3].mapped { $0 * 10 }), [10, 20, 30])
        let labels = tinySet().batched(4).mapped { $0.labels.count }
        XCTAssertEqual(Array(labels), [4, 4, 2])
    }
}
