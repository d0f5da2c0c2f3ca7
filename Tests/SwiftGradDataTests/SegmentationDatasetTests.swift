import XCTest

@testable import SwiftGradData

final class ShapesDatasetTests: XCTestCase {
    func testDeterministicAndIndexDependent() {
        let a = ShapesDataset(count: 10, seed: 4)
        let b = ShapesDataset(count: 10, seed: 4)
        XCTAssertEqual(a.sample(at: 3), b.sample(at: 3))
        XCTAssertNotEqual(a.sample(at: 3).labels, a.sample(at: 4).labels)
        XCTAssertNotEqual(a.sample(at: 3).labels, ShapesDataset(count: 10, seed: 5).sample(at: 3).labels)
    }

    func testLabelsMatchPixelsWithoutNoise() {
        let data = ShapesDataset(count: 20, height: 32, width: 40, seed: 1, noiseStd: 0)
        var seen = Set<Int32>()
        for i in 0..<data.count {
            let (background, shapes) = data.layout(at: i)
            let sample = data.sample(at: i)
            XCTAssertEqual(sample.image.count, 32 * 40)
            for (pixel, label) in zip(sample.image, sample.labels) {
                XCTAssertTrue((0...3).contains(label))
                seen.insert(label)
                // Shapes are at least 0.3 brighter than the background, so label 0 <=> background level.
                XCTAssertEqual(label == 0, pixel == background)
                if label != 0 { XCTAssertTrue(shapes.contains { $0.kind.rawValue == label && $0.intensity == pixel }) }
            }
            // The topmost shape covering a pixel centre owns it.
            for r in stride(from: 0, to: 32, by: 3) {
                for c in stride(from: 0, to: 40, by: 3) {
                    let top = shapes.last { $0.contains(x: Float(c) + 0.5, y: Float(r) + 0.5) }
                    XCTAssertEqual(sample.labels[r * 40 + c], top?.kind.rawValue ?? 0)
                }
            }
        }
        XCTAssertEqual(seen, [0, 1, 2, 3])
    }

    func testShapeGeometry() {
        let circle = Shape(kind: .circle, centerX: 20, centerY: 20, halfWidth: 10, halfHeight: 10, orientation: 0, intensity: 1)
        let rect = Shape(kind: .rectangle, centerX: 20, centerY: 20, halfWidth: 6, halfHeight: 3, orientation: 0, intensity: 1)
        func area(_ s: Shape) -> Int {
            (0..<40).reduce(0) { sum, r in sum + (0..<40).filter { s.contains(x: Float($0) + 0.5, y: Float(r) + 0.5) }.count }
        }
        XCTAssertEqual(Double(area(circle)), Double.pi * 100, accuracy: 12)
        XCTAssertEqual(area(rect), 12 * 6)
        for orientation in 0..<4 {
            let tri = Shape(kind: .triangle, centerX: 20, centerY: 20, halfWidth: 8, halfHeight: 8, orientation: orientation, intensity: 1)
            XCTAssertEqual(Double(area(tri)), 16 * 16 / 2, accuracy: 16)  // base 16, height 16
        }
        let up = Shape(kind: .triangle, centerX: 20, centerY: 20, halfWidth: 8, halfHeight: 8, orientation: 0, intensity: 1)
        XCTAssertTrue(up.contains(x: 20, y: 13))  // near the apex at the top
        XCTAssertFalse(up.contains(x: 14, y: 13))
        XCTAssertTrue(up.contains(x: 13, y: 27.5))  // wide base at the bottom
    }

    func testNoiseStaysInUnitRange() {
        let sample = ShapesDataset(count: 1, seed: 2, noiseStd: 0.3).sample(at: 0)
        XCTAssertTrue(sample.image.allSatisfy { (0...1).contains($0) })
        XCTAssertEqual(sample.labels, ShapesDataset(count: 1, seed: 2, noiseStd: 0).sample(at: 0).labels)
    }

    func testBatchShapesAndOrder() {
        let data = ShapesDataset(count: 7, height: 16, width: 12, seed: 3)
        let batches = data.batches(batchSize: 3, shuffleSeed: 11, epoch: 2)
        XCTAssertEqual(batches.count, 3)
        XCTAssertEqual((0..<3).flatMap { batches.exampleIndices(ofBatch: $0) }, epochOrder(count: 7, seed: 11, epoch: 2))
        let batch = batches[0]
        XCTAssertEqual(batch.images.shape, [3, 1, 16, 12])
        XCTAssertEqual(batch.labels.shape, [3, 16, 12])
        let first = data.sample(at: batch.indices[0])
        XCTAssertEqual(Array(batch.labelIndices.prefix(16 * 12)), first.labels)
        XCTAssertEqual(Array(batch.labels.scalars.prefix(16 * 12)), first.labels.map { Float($0) })
        XCTAssertEqual(Array(batch.images.scalars.prefix(16 * 12)), first.image)
        XCTAssertEqual(data.batches(batchSize: 3, dropRemainder: true).count, 2)
    }
}

final class MNISTScenesTests: XCTestCase {
    /// 6 digits of 5x4: digit n has a filled 3x2 block of byte 200 plus a faint
    /// (byte 60) pixel, label n % 10.
    func digitSet() -> ImageClassificationSet {
        var images: [UInt8] = []
        for _ in 0..<6 {
            var image = [UInt8](repeating: 0, count: 20)
            for r in 1...3 { for c in 1...2 { image[r * 4 + c] = 200 } }
            image[0] = 60
            images += image
        }
        return ImageClassificationSet(rows: 5, cols: 4, images: images, labels: [3, 7, 0, 9, 1, 5], numClasses: 10)
    }

    func testLabelsFollowPlacementsAndThreshold() {
        let scenes = MNISTScenes(digits: digitSet(), count: 30, height: 12, width: 16, digitsPerScene: 1...3, seed: 8)
        XCTAssertEqual(scenes.numClasses, 11)
        var total = 0
        for i in 0..<scenes.count {
            let sample = scenes.sample(at: i)
            var expected = [Int32](repeating: 0, count: 12 * 16)
            let placements = scenes.placements(at: i)
            XCTAssertFalse(placements.isEmpty)
            total += placements.count
            for p in placements {
                XCTAssertEqual(p.digitClass, scenes.digits.labels[p.exampleIndex])
                for r in 1...3 { for c in 1...2 { expected[(p.top + r) * 16 + p.left + c] = p.digitClass + 1 } }
                XCTAssertEqual(sample.image[p.top * 16 + p.left], Float(60) / 255)  // faint pixel: drawn, not labelled
            }
            XCTAssertEqual(sample.labels, expected)  // also proves no two digits' ink overlapped
        }
        XCTAssertGreaterThan(total, 30)  // most scenes hold more than one digit
        XCTAssertEqual(scenes.sample(at: 5), MNISTScenes(digits: digitSet(), count: 30, height: 12, width: 16, seed: 8).sample(at: 5))
    }

    func testBundledMNISTScenesBatch() throws {
        let digits = try MNIST(directory: bundledMNISTDirectory).test.prefix(200)
        let scenes = MNISTScenes(digits: digits, count: 8, seed: 1)
        let batch = scenes.batch(indices: Array(0..<4))
        XCTAssertEqual(batch.images.shape, [4, 1, 64, 84])
        XCTAssertEqual(batch.labels.shape, [4, 64, 84])
        XCTAssertTrue(batch.labelIndices.allSatisfy { (0..<11).contains($0) })
        XCTAssertTrue(batch.labelIndices.contains { $0 > 0 })
    }
}
