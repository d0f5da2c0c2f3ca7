import ExamplePlugins
import XCTest

@testable import SwiftGradNN

/// A model with a third-party layer, trained by a third-party optimizer,
/// both built by name from configs.
final class TrainingPluginTests: XCTestCase {
    func testThirdPartyOptimizerReducesTheLoss() throws {
        let registry = Registry.withBuiltins()
        ExamplePlugins.register(into: registry)
        var model = try registry.model(
            json: Data(
                """
                {"type": "sequential", "input_shape": [4], "seed": 2, "layers": [
                  {"type": "dense", "units": 8, "activation": "tanh"},
                  {"type": "mylib.scaled_tanh", "initial_scale": 1.0},
                  {"type": "dense", "units": 1}]}
                """.utf8))
        var updater = ParameterUpdater(try registry.optimizer("mylib.sign_sgd", ["learning_rate": 0.01, "beta": 0.9]))
        let x = randomTensor([32, 4], seed: 3)
        let y = x.sum(alongAxes: [1], keepingDims: true) * 0.5
        func loss(_ m: Model) -> Tensor { meanSquaredError(predicted: m(x), expected: y) }
        let initial = loss(model).scalar
        for _ in 0..<150 {
            let (_, grads) = valueWithGradient(at: model, in: loss)
            updater.update(&model, along: grads)
        }
        let final = loss(model).scalar
        XCTAssertLessThan(final, initial * 0.3, "loss \(initial) -> \(final)")
        XCTAssertNotEqual(model.namedParameters.first { $0.name == "1.scale" }?.value.scalar, 1, "the plugin's parameter trains")
    }

    /// Optimizer updates write parameters in place through Model, Sequential
    /// and Graph (no copy-on-write copy per step).
    func testUpdatesAreInPlace() throws {
        try assertInPlace {
            try Model(inputShape: [3], seed: 0) {
                Dense(units: 2)
                Dense(units: 1)
            }
        }
        try assertInPlace {
            try Model(
                inputShape: [3], seed: 0,
                root: Graph(nodes: [
                    .layer("a", Dense(units: 2), input: "input"), .layer("b", Dense(units: 2), input: "a")
                ]))
        }
    }

    /// `make` must return a model no one else references.
    func assertInPlace(file: StaticString = #filePath, line: UInt = #line, _ make: () throws -> Model) throws {
        var model = try make()
        func addresses() -> [UnsafePointer<Float>?] {
            var out: [UnsafePointer<Float>?] = []
            model.visitParameters(prefix: "") { _, t in out.append(t.withUnsafeBufferPointer { $0.baseAddress }) }
            return out
        }
        let before = addresses()
        var updater = ParameterUpdater(SignSGD(learningRate: 0.1))
        let x = randomTensor([4, 3])
        let (_, grads) = valueWithGradient(at: model) { $0(x).sum() }
        updater.update(&model, along: grads)
        XCTAssertEqual(addresses(), before, file: file, line: line)
    }
}
