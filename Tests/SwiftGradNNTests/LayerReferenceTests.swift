import XCTest

@testable import SwiftGradNN

/// Layers against naive loops and the documented training/inference behaviour.
final class LayerReferenceTests: XCTestCase {
    func testDenseMatchesLoops() throws {
        let layer = try built(Dense(units: 3, activation: .relu, biasInitializer: .pytorch), [4])
        let x = randomTensor([2, 4])
        let (w, b) = (layer.weight!, layer.bias!)
        var expected: [Float] = []
        for n in 0..<2 {
            for o in 0..<3 {
                var s = b[o]
                for i in 0..<4 { s += x[n, i] * w[o, i] }
                expected.append(max(s, 0))
            }
        }
        assertClose(layer(x).scalars, expected)
    }

    func testConv2DSamePaddingWithStrideMatchesLoops() throws {
        let layer = try built(Conv2D(filters: 2, kernelSize: 3, strides: 2, padding: .same), [1, 5, 4])
        let x = randomTensor([1, 1, 5, 4])
        let (w, b) = (layer.weight!, layer.bias!)
        let y = layer(x)
        XCTAssertEqual(y.shape, [1, 2, 3, 2])
        for k in 0..<2 {
            for oy in 0..<3 {
                for ox in 0..<2 {
                    var s = b[k]
                    for dy in 0..<3 {
                        for dx in 0..<3 {
                            let (iy, ix) = (oy * 2 - 1 + dy, ox * 2 - 1 + dx)
                            if iy >= 0, iy < 5, ix >= 0, ix < 4 { s += x[0, 0, iy, ix] * w[k, 0, dy, dx] }
                        }
                    }
                    XCTAssertEqual(y[0, k, oy, ox], s, accuracy: 1e-5)
                }
            }
        }
    }

    func testMaxPoolMatchesLoops() throws {
        let layer = try built(MaxPool2D(poolSize: 2, strides: 1), [1, 3, 3])
        let x = randomTensor([1, 1, 3, 3])
        let y = layer(x)
        for i in 0..<2 {
            for j in 0..<2 {
                XCTAssertEqual(y[0, 0, i, j], max(x[0, 0, i, j], x[0, 0, i + 1, j], x[0, 0, i, j + 1], x[0, 0, i + 1, j + 1]))
            }
        }
    }

    func testBatchNormTrainingAndInference() throws {
        let layer = try built(BatchNorm2D(momentum: 0.1, epsilon: 1e-5), [2, 2, 2])
        let x = randomTensor([3, 2, 2, 2]) * 3 + 1
        let y = LearningPhase.with(training: true) { layer(x) }
        // Manual per-channel mean and biased variance over N, H, W.
        for c in 0..<2 {
            var values: [Float] = []
            for n in 0..<3 { for i in 0..<2 { for j in 0..<2 { values.append(x[n, c, i, j]) } } }
            let mean = values.reduce(0, +) / 12
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 12
            for n in 0..<3 {
                XCTAssertEqual(y[n, c, 1, 0], (x[n, c, 1, 0] - mean) / (variance + 1e-5).squareRoot(), accuracy: 1e-4)
            }
            // Running statistics: 0.9 * initial + 0.1 * batch, unbiased variance.
            let stats = Dictionary(uniqueKeysWithValues: layer.buffers.map { ($0.name, $0.value) })
            XCTAssertEqual(stats["running_mean"]![c], 0.1 * mean, accuracy: 1e-5)
            XCTAssertEqual(stats["running_var"]![c], 0.9 + 0.1 * variance * 12 / 11, accuracy: 1e-4)
            XCTAssertEqual(stats["num_batches_tracked"]!.scalar, 1)
        }
        // Inference uses the running statistics and leaves them alone.
        let before = layer.buffers.map(\.value.scalars)
        let z = layer(x)
        let rm = layer.buffers[0].value, rv = layer.buffers[1].value
        XCTAssertEqual(z[2, 1, 0, 1], (x[2, 1, 0, 1] - rm[1]) / (rv[1] + 1e-5).squareRoot(), accuracy: 1e-5)
        XCTAssertEqual(layer.buffers.map(\.value.scalars), before)
    }

    func testBatchNormStatisticsSurviveGradientComputation() throws {
        var model = try Model(inputShape: [2, 3, 3], seed: 1) {
            BatchNorm2D()
            Flatten()
        }
        let x = randomTensor([4, 2, 3, 3])
        _ = LearningPhase.with(training: true) { valueWithGradient(at: model) { $0(x).sum() } }
        XCTAssertEqual(model.buffers.first { $0.name == "0.num_batches_tracked" }?.value.scalar, 1)
        try model.setBuffer("0.running_mean", Tensor([5, 6]))
        XCTAssertEqual(model.buffers[0].value.scalars, [5, 6])
        assertConfigError(["running_mean", "[3]", "expected [2]"]) { try model.setBuffer("0.running_mean", Tensor([1, 2, 3])) }
        assertConfigError(["names no child buffer"]) { try model.setBuffer("7.running_mean", Tensor([1, 2])) }
    }

    func testDropoutTrainingAndInference() throws {
        let layer = try built(Dropout(rate: 0.25, seed: 11), [1000])
        let x = Tensor.ones([2, 1000])
        XCTAssertEqual(layer(x).scalars, x.scalars, "identity in inference mode")
        let (a, b) = LearningPhase.with(training: true) { (layer(x), layer(x)) }
        XCTAssertTrue(a.scalars.allSatisfy { $0 == 0 || Swift.abs($0 - 1 / 0.75) < 1e-6 })
        let dropped = Float(a.scalars.filter { $0 == 0 }.count) / 2000
        XCTAssertEqual(dropped, 0.25, accuracy: 0.04)
        XCTAssertNotEqual(a.scalars, b.scalars, "a new mask every call")
        // Reproducible: the same build and call sequence gives the same masks.
        let twin = try built(Dropout(rate: 0.25, seed: 11), [1000])
        XCTAssertEqual(LearningPhase.with(training: true) { twin(x) }.scalars, a.scalars)
        // The gradient is the mask (x is all ones, so the output is the mask).
        let fresh = try built(Dropout(rate: 0.25, seed: 11), [1000])
        let g = LearningPhase.with(training: true) { gradient(at: x) { fresh($0).sum() } }
        XCTAssertEqual(g.scalars, a.scalars)
        // Sibling dropouts in one model draw different masks.
        let model = try Model(inputShape: [1000], seed: 0) {
            Dropout(rate: 0.5)
            Dropout(rate: 0.5)
        }
        let seq = model.root as! Sequential
        let (m0, m1) = LearningPhase.with(training: true) { (seq.layers[0](x), seq.layers[1](x)) }
        XCTAssertNotEqual(m0.scalars, m1.scalars)
    }

    func testActivationsByName() throws {
        let x = Tensor(shape: [1, 3], scalars: [-1, 0.5, 2])
        for (name, expected) in [("relu", [0, 0.5, 2]), ("leaky_relu", [-0.01, 0.5, 2]), ("linear", [-1, 0.5, 2]), ("none", [-1, 0.5, 2])]
            as [(String, [Float])]
        {
            let a = try Activation(config: Config(["activation": .string(name)]))
            assertClose(a(x).scalars, expected)
        }
        let softmax = Activation.softmax(x).scalars
        XCTAssertEqual(softmax.reduce(0, +), 1, accuracy: 1e-6)
        assertConfigError(["activation", "'gelu' is not an activation", "relu"]) { try Activation(config: Config(["activation": "gelu"])) }
    }
}
