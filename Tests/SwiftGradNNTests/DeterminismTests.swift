import XCTest

@testable import SwiftGradNN

/// Training must give bit-identical losses whatever the thread count: the
/// kernels split reductions by fixed blocks, never by thread.
final class DeterminismTests: XCTestCase {
    func losses(threads: Int) throws -> [Float] {
        let saved = Kernels.threadCount
        Kernels.threadCount = threads
        defer { Kernels.threadCount = saved }
        var model = try Model(inputShape: [1, 20, 20], seed: 3) {
            Conv2D(filters: 16, kernelSize: 3, activation: .relu)
            MaxPool2D(poolSize: 2)
            Conv2D(filters: 16, kernelSize: 3, activation: .relu)
            Flatten()
            Dense(units: 4)
        }
        var g = SeededGenerator(seed: 11)
        let x = Tensor.normal([128, 1, 20, 20], generator: &g)
        let y = Tensor((0..<128).map { Float($0 % 4) })
        var optimizer = try ParameterUpdater("adam", ["learning_rate": 0.01])
        var out: [Float] = []
        for _ in 0..<5 {
            let (loss, grads) = valueWithGradient(at: model) { m in softmaxCrossEntropy(logits: m(x), labels: y) }
            optimizer.update(&model, along: grads)
            out.append(loss.scalar)
        }
        return out
    }

    func testSameLossesAtOneAndTwoThreads() throws {
        let one = try losses(threads: 1), two = try losses(threads: 2)
        XCTAssertEqual(one, two)
        XCTAssertLessThan(one.last!, one.first!, "training should reduce the loss")
    }
}
