import Foundation
import XCTest

@testable import SwiftGrad

final class LossTests: XCTestCase {
    let logits = awayFromZero([4, 5], seed: 21)
    let labels = Tensor([0, 3, 4, 1])

    func naiveCrossEntropy(_ l: [Float], _ y: [Int], classes: Int, weights: [Float]? = nil) -> Float {
        var total: Double = 0, wsum: Double = 0
        for (r, label) in y.enumerated() {
            let row = l[(r * classes)..<((r + 1) * classes)].map(Double.init)
            let lse = Foundation.log(row.map { Foundation.exp($0) }.reduce(0, +))
            let w = Double(weights?[label] ?? 1)
            total += w * (lse - row[label])
            wsum += w
        }
        return Float(total / wsum)
    }

    func testSoftmaxCrossEntropyMatchesNaive() {
        let loss = softmaxCrossEntropy(logits: logits, labels: labels)
        XCTAssertEqual(loss.scalar, naiveCrossEntropy(logits.scalars, [0, 3, 4, 1], classes: 5), accuracy: 1e-5)
        assertGradientsMatch("softmaxCrossEntropy", inputs: [logits]) { softmaxCrossEntropy(logits: $0[0], labels: self.labels) }
        let w: [Float] = [1, 2, 0.5, 1, 3]
        let weighted = softmaxCrossEntropy(logits: logits, labels: labels, classWeights: w)
        XCTAssertEqual(weighted.scalar, naiveCrossEntropy(logits.scalars, [0, 3, 4, 1], classes: 5, weights: w), accuracy: 1e-5)
    }

    func testCrossEntropyOverProbabilitiesEqualsIndicesForOneHot() {
        var onehot = [Float](repeating: 0, count: 20)
        for (r, y) in [0, 3, 4, 1].enumerated() { onehot[r * 5 + y] = 1 }
        let p = Tensor(shape: [4, 5], scalars: onehot)
        XCTAssertEqual(
            softmaxCrossEntropy(logits: logits, probabilities: p).scalar,
            softmaxCrossEntropy(logits: logits, labels: labels).scalar, accuracy: 1e-5)
        assertGradientsMatch("softmaxCrossEntropy(probabilities:)", inputs: [logits]) {
            softmaxCrossEntropy(logits: $0[0], probabilities: p)
        }
    }

    func testLargeLogitsStayFinite() {
        let big = Tensor(shape: [1, 3], scalars: [1000, -1000, 0])
        XCTAssertEqual(softmaxCrossEntropy(logits: big, labels: Tensor([0])).scalar, 0, accuracy: 1e-5)
        XCTAssertTrue(sigmoidCrossEntropy(logits: Tensor([500, -500]), labels: Tensor([1, 0])).scalar.isFinite)
    }

    func testPixelwiseCrossEntropyMatchesRowwise() {
        let l = awayFromZero([2, 3, 2, 2], seed: 22)
        let y = Tensor(shape: [2, 2, 2], scalars: [0, 1, 2, 1, 2, 2, 0, 1])
        let rows = l.permuted([0, 2, 3, 1]).reshaped(to: [8, 3])
        let expected = naiveCrossEntropy(rows.scalars, y.scalars.map { Int($0) }, classes: 3, weights: [1, 2, 3])
        XCTAssertEqual(pixelwiseSoftmaxCrossEntropy(logits: l, labels: y, classWeights: [1, 2, 3]).scalar, expected, accuracy: 1e-5)
        assertGradientsMatch("pixelwiseSoftmaxCrossEntropy", inputs: [l]) { pixelwiseSoftmaxCrossEntropy(logits: $0[0], labels: y) }
    }

    /// Large enough for the kernel's parallel path, several summation
    /// blocks and its vector path (20,000 pixels), with scores spread over
    /// +-1.2 and +-48: the loss and its gradient against naive
    /// double-precision sums over the transposed rows, bit for bit the same
    /// at 1 and 2 threads.
    func testPixelwiseCrossEntropyAtScale() {
        let (n, c, h, w) = (2, 3, 100, 100)
        var g = SeededGenerator(seed: 26)
        let y = Tensor(shape: [n, h, w], scalars: (0..<(n * h * w)).map { _ in Float(g.next() % UInt64(c)) })
        let labels = y.scalars.map { Int($0) }
        let weights: [Float] = [1, 2, 0.5]
        for spread: Float in [1, 40] {
            let l = awayFromZero([n, c, h, w], seed: 25) * spread
            let rows = l.permuted([0, 2, 3, 1]).reshaped(to: [-1, c]).scalars
            var runs: [(Float, [Float])] = []
            for threads in [1, 2] {
                let saved = Kernels.threadCount
                Kernels.threadCount = threads
                defer { Kernels.threadCount = saved }
                let (loss, grad) = valueWithGradient(at: l) {
                    pixelwiseSoftmaxCrossEntropy(logits: $0, labels: y, classWeights: weights)
                }
                runs.append((loss.scalar, grad.scalars))
            }
            XCTAssertEqual(runs[0].0.bitPattern, runs[1].0.bitPattern, "loss differs at 1 and 2 threads")
            XCTAssertTrue(runs[0].1.elementsEqual(runs[1].1) { $0.bitPattern == $1.bitPattern }, "gradient differs at 1 and 2 threads")

            let expected = naiveCrossEntropy(rows, labels, classes: c, weights: weights)
            XCTAssertEqual(runs[0].0, expected, accuracy: 1e-5 * max(1, abs(expected)), "spread \(spread)")
            // d/dx of sum(w_y * nll) / sum(w) at pixel p, class j: w_y (softmax_j - [j == y]) / sum(w).
            let wsum = labels.reduce(0.0) { $0 + Double(weights[$1]) }
            var maxDiff: Double = 0
            for (p, label) in labels.enumerated() {
                let row = rows[(p * c)..<((p + 1) * c)].map(Double.init)
                let top = row.max()!
                let z = row.map { Foundation.exp($0 - top) }.reduce(0, +)
                let (b, pix) = (p / (h * w), p % (h * w))
                for j in 0..<c {
                    let want = Double(weights[label]) * (Foundation.exp(row[j] - top) / z - (j == label ? 1 : 0)) / wsum
                    maxDiff = max(maxDiff, abs(Double(runs[0].1[(b * c + j) * h * w + pix]) - want))
                }
            }
            XCTAssertLessThan(maxDiff, 1e-8, "gradient against the naive one, spread \(spread)")
        }
    }

    /// A NaN score makes the loss NaN (on the vector path too), so a
    /// diverging run shows.
    func testPixelwiseCrossEntropyKeepsNaN() {
        var l = awayFromZero([1, 3, 4, 8], seed: 27)
        l.withUnsafeMutableBufferPointer { $0[5] = .nan }
        let y = Tensor(shape: [1, 4, 8], scalars: (0..<32).map { Float($0 % 3) })
        XCTAssertTrue(pixelwiseSoftmaxCrossEntropy(logits: l, labels: y).scalar.isNaN)
    }

    func testBinaryCrossEntropyAndMSE() {
        let x = awayFromZero([6], seed: 23)
        let z = Tensor([1, 0, 1, 0, 0.5, 1])
        let naive =
            zip(x.scalars, z.scalars).map { xv, zv -> Float in
                let s = 1 / (1 + Foundation.exp(-xv))
                return -(zv * Foundation.log(s) + (1 - zv) * Foundation.log(1 - s))
            }.reduce(0, +) / 6
        XCTAssertEqual(sigmoidCrossEntropy(logits: x, labels: z).scalar, naive, accuracy: 1e-5)
        assertGradientsMatch("sigmoidCrossEntropy", inputs: [x]) { sigmoidCrossEntropy(logits: $0[0], labels: z) }
        let t = awayFromZero([6], seed: 24)
        let mse = zip(x.scalars, t.scalars).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 6
        XCTAssertEqual(meanSquaredError(predicted: x, expected: t).scalar, mse, accuracy: 1e-6)
        assertGradientsMatch("meanSquaredError", inputs: [x, t]) { meanSquaredError(predicted: $0[0], expected: $0[1]) }
    }
}
