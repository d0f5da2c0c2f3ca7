import Foundation
import XCTest

@testable import SwiftGradNN

final class LossTests: XCTestCase {
    let registry = trainingRegistry()

    func loss(_ json: String) throws -> any Loss { try registry.loss(Config(jsonString: json)) }

    func testSoftmaxCrossEntropyMatchesNaive() throws {
        let logits = Tensor(shape: [2, 3], scalars: [1, 2, 0.5, -1, 0, 3])
        let labels = Tensor([1, 2])
        var naive = 0.0
        for (r, y) in [(0, 1), (1, 2)] {
            let row = (0..<3).map { Double(logits[r, $0]) }
            naive += log(row.map { exp($0) }.reduce(0, +)) - row[y]
        }
        let l = try loss(#"{"type": "softmax_cross_entropy"}"#)
        XCTAssertEqual(Double(l(logits, labels).scalar), naive / 2, accuracy: 1e-5)
        // One-hot targets give the same value.
        let onehot = Tensor(shape: [2, 3], scalars: [0, 1, 0, 0, 0, 1])
        XCTAssertEqual(Double(l(logits, onehot).scalar), naive / 2, accuracy: 1e-5)
    }

    func testBinaryCrossEntropyFromLogitsAndProbabilities() throws {
        let x: [Float] = [-2, 0.5, 3, -0.1], z: [Float] = [0, 1, 1, 0.3]
        let naive =
            zip(x, z).map { x, z -> Double in
                let p = 1 / (1 + exp(-Double(x)))
                return -(Double(z) * log(p) + (1 - Double(z)) * log(1 - p))
            }.reduce(0, +) / 4
        let fromLogits = try loss(#"{"type": "binary_cross_entropy"}"#)
        XCTAssertEqual(Double(fromLogits(Tensor(x), Tensor(z)).scalar), naive, accuracy: 1e-5)
        let fromProbs = try loss(#"{"type": "binary_cross_entropy", "from_logits": false}"#)
        XCTAssertEqual(Double(fromProbs(Tensor(x).sigmoid(), Tensor(z)).scalar), naive, accuracy: 1e-5)
    }

    func testMSEAndPixelwise() throws {
        let mse = try loss(#"{"type": "mse"}"#)
        XCTAssertEqual(mse(Tensor([1, 2, 3]), Tensor([1, 0, 4])).scalar, 5.0 / 3, accuracy: 1e-6)
        let logits = Tensor(shape: [1, 2, 1, 2], scalars: [1, 0, 0, 2])  // pixel 0: [1, 0], pixel 1: [0, 2]
        let labels = Tensor(shape: [1, 1, 2], scalars: [0, 0])
        let nll0 = log(exp(1.0) + 1) - 1, nll1 = log(1 + exp(2.0))
        let weighted = try loss(#"{"type": "pixelwise_cross_entropy", "class_weights": [2, 1]}"#)
        XCTAssertEqual(Double(weighted(logits, labels).scalar), (nll0 + nll1) / 2, accuracy: 1e-5)
        let both = Tensor(shape: [1, 1, 2], scalars: [0, 1])
        // Weighted mean: (2 * nll0 + 1 * nll(pixel 1, class 1)) / 3.
        let nll1c1 = log(1 + exp(2.0)) - 2
        XCTAssertEqual(Double(weighted(logits, both).scalar), (2 * nll0 + nll1c1) / 3, accuracy: 1e-5)
    }

    func huberNaive(_ d: Double, _ delta: Double) -> Double {
        abs(d) <= delta ? 0.5 * d * d : delta * (abs(d) - 0.5 * delta)
    }

    func testHuberAndSmoothL1Values() throws {
        let p: [Float] = [0.2, -3, 1.5, 0], t: [Float] = [0, 0, 0.25, 0]
        let d = zip(p, t).map { Double($0) - Double($1) }
        let huber = try loss(#"{"type": "huber", "delta": 1.0}"#)
        XCTAssertEqual(Double(huber(Tensor(p), Tensor(t)).scalar), d.map { huberNaive($0, 1) }.reduce(0, +) / 4, accuracy: 1e-6)
        let smooth = try loss(#"{"type": "smooth_l1", "beta": 0.5}"#)
        let smoothNaive = d.map { abs($0) < 0.5 ? 0.5 * $0 * $0 / 0.5 : abs($0) - 0.25 }.reduce(0, +) / 4
        XCTAssertEqual(Double(smooth(Tensor(p), Tensor(t)).scalar), smoothNaive, accuracy: 1e-6)
        let l1 = try loss(#"{"type": "smooth_l1", "beta": 0}"#)
        XCTAssertEqual(Double(l1(Tensor(p), Tensor(t)).scalar), d.map(abs).reduce(0, +) / 4, accuracy: 1e-6)
    }

    /// Central differences away from the kinks at |d| = delta.
    func testHuberGradientByFiniteDifferences() throws {
        let huber = HuberLoss(delta: 0.7)
        let p = Tensor([0.3, -2.0, 1.1, -0.2, 0.05]), t = Tensor([0.0, 0.5, -0.4, 0.1, 0.0])
        let (_, grads) = valueWithGradient(at: p, t) { huber($0, $1) }
        let h: Float = 1e-3
        for i in 0..<p.count {
            var plus = p.scalars, minus = p.scalars
            plus[i] += h
            minus[i] -= h
            let numeric = (huber(Tensor(plus), t).scalar - huber(Tensor(minus), t).scalar) / (2 * h)
            XCTAssertEqual(grads.0.scalars[i], numeric, accuracy: 2e-3, "d/dp[\(i)]")
            XCTAssertEqual(grads.1.scalars[i], -numeric, accuracy: 2e-3, "d/dt[\(i)]")
        }
        // Inside a bigger graph the upstream gradient scales the result.
        let g2 = gradient(at: p) { huber($0, t) * 3 }
        XCTAssertEqual(g2.scalars[0], 3 * 0.3 / 5, accuracy: 1e-6)
    }

    func testConfigsRoundTripAndErrors() throws {
        for json in [
            #"{"type": "softmax_cross_entropy", "class_weights": [1, 2]}"#, #"{"type": "mse"}"#,
            #"{"type": "huber", "delta": 2}"#, #"{"type": "smooth_l1", "beta": 0.5}"#,
            #"{"type": "binary_cross_entropy", "from_logits": false}"#, #"{"type": "pixelwise_cross_entropy"}"#
        ] {
            let l = try loss(json)
            XCTAssertEqual(try registry.loss(Config(json: l.config.jsonData)).config, l.config)
        }
        XCTAssertThrowsError(try loss(#"{"type": "huber", "delta": 0}"#))
        XCTAssertThrowsError(try loss(#"{"type": "mse", "reduction": "sum"}"#))
        XCTAssertThrowsError(try loss(#"{"type": "softmax_cross_entropy", "class_weights": [1, "a"]}"#))
    }
}
