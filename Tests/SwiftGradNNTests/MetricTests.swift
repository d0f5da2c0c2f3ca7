import XCTest

@testable import SwiftGradNN

final class MetricTests: XCTestCase {
    func testAccuracyStreamsAcrossBatches() {
        var acc = Accuracy()
        acc.update(predictions: Tensor(shape: [2, 3], scalars: [0, 5, 1, 2, 1, 0]), targets: Tensor([1, 1]))
        acc.update(predictions: Tensor(shape: [1, 3], scalars: [0, 0, 9]), targets: Tensor([2]))
        XCTAssertEqual(acc.result, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(acc.total, 3)
        // One-hot targets and binary logits.
        var oneHot = Accuracy()
        oneHot.update(predictions: Tensor(shape: [2, 2], scalars: [1, 0, 1, 0]), targets: Tensor(shape: [2, 2], scalars: [1, 0, 0, 1]))
        XCTAssertEqual(oneHot.result, 0.5)
        var binary = Accuracy()
        binary.update(predictions: Tensor(shape: [3, 1], scalars: [2, -1, 0.5]), targets: Tensor(shape: [3, 1], scalars: [1, 0, 0]))
        XCTAssertEqual(binary.result, 2.0 / 3, accuracy: 1e-12)
        acc.reset()
        XCTAssertEqual(acc.result, 0)
    }

    func testTopK() {
        var top2 = TopKAccuracy(k: 2)
        let logits = Tensor(shape: [3, 4], scalars: [0.1, 0.5, 0.3, 0.2, 0.9, 0.1, 0.2, 0.3, 0, 0, 0, 0])
        top2.update(predictions: logits, targets: Tensor([2, 2, 1]))  // hit, miss, tie -> index 1 ranks second: hit
        XCTAssertEqual(top2.result, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(top2.name, "top_2_accuracy")
    }

    func testConfusionMatrixIoU() {
        var m = ConfusionMatrix(classCount: 3, classNames: ["bg", "cat", "dog"])
        m.add(predicted: [0, 0, 1, 1, 2, 0, 1], actual: [0, 0, 1, 2, 2, 1, 255])
        XCTAssertEqual(m.total, 6)  // label 255 skipped
        XCTAssertEqual(m[1, 0], 1)
        XCTAssertEqual(m[2, 1], 1)
        let iou = m.perClassIoU
        XCTAssertEqual(iou[0]!, 2.0 / 3, accuracy: 1e-12)  // TP 2, FP 1, FN 0
        XCTAssertEqual(iou[1]!, 1.0 / 3, accuracy: 1e-12)  // TP 1, FP 1, FN 1
        XCTAssertEqual(iou[2]!, 1.0 / 2, accuracy: 1e-12)  // TP 1, FP 0, FN 1
        XCTAssertEqual(m.meanIoU, (2.0 / 3 + 1.0 / 3 + 0.5) / 3, accuracy: 1e-12)
        XCTAssertEqual(m.recall[2]!, 0.5, accuracy: 1e-12)
        XCTAssertTrue(m.description.contains("dog"))
        XCTAssertTrue(m.description.contains("mean IoU"))
        // A class that never appears is left out of the mean.
        var sparse = ConfusionMatrix(classCount: 3)
        sparse.add(predicted: [0, 1], actual: [0, 1])
        XCTAssertNil(sparse.perClassIoU[2])
        XCTAssertEqual(sparse.meanIoU, 1)
    }

    func testSegmentationMeanIoUStreams() {
        // logits [N=2, C=2, H=1, W=2]: arg-max maps [[1, 0]], [[0, 0]].
        let logits = Tensor(shape: [2, 2, 1, 2], scalars: [0, 1, 1, 0, 3, 2, 1, 0])
        let labels = Tensor(shape: [2, 1, 2], scalars: [1, 0, 0, 1])
        var whole = MeanIoU(classCount: 2)
        whole.update(predictions: logits, targets: labels)
        var split = MeanIoU(classCount: 2)
        split.update(predictions: logits.slice(axis: 0, 0..<1), targets: labels.slice(axis: 0, 0..<1))
        split.update(predictions: logits.slice(axis: 0, 1..<2), targets: labels.slice(axis: 0, 1..<2))
        XCTAssertEqual(whole.matrix, split.matrix)
        // predicted [1,0,0,0] vs true [1,0,0,1]: class 0 IoU 2/3, class 1 IoU 1/2.
        XCTAssertEqual(split.result, (2.0 / 3 + 0.5) / 2, accuracy: 1e-12)
        var pixels = Accuracy()
        pixels.update(predictions: logits, targets: labels)
        XCTAssertEqual(pixels.result, 0.75)
    }
}
