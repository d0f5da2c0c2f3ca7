import XCTest

@testable import SwiftGradNN

enum GraphFixtures {
    /// A residual block with a concatenation, one output.
    static func skipNet() -> Graph {
        Graph(nodes: [
            .layer("c1", Conv2D(filters: 2, kernelSize: 3, padding: .same, activation: .tanh), input: "input"),
            .layer("c2", Conv2D(filters: 2, kernelSize: 3, padding: .same), input: "c1"),
            .add("res", ["c1", "c2"]),
            .concatenate("cat", ["res", "input"]),
            .layer("flat", Flatten(), input: "cat"),
            .layer("out", Dense(units: 3), input: "flat")
        ])
    }

    /// A small U-Net with a segmentation head and a classification head.
    static let twoHeadJSON = """
        {"type": "graph", "input_shape": [1, 8, 8], "seed": 3,
         "nodes": [
           {"name": "c1", "layer": {"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"}, "inputs": ["input"]},
           {"name": "down", "layer": {"type": "max_pool2d", "pool_size": 2}},
           {"name": "c2", "layer": {"type": "conv2d", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"}},
           {"name": "up", "layer": {"type": "conv_transpose2d", "filters": 4, "kernel_size": 2, "strides": 2}},
           {"name": "skip", "merge": "concatenate", "axis": 1, "inputs": ["c1", "up"]},
           {"name": "seg", "layer": {"type": "conv2d", "filters": 2, "kernel_size": 1}},
           {"name": "pooled", "layer": {"type": "global_avg_pool2d"}, "inputs": ["c2"]},
           {"name": "cls", "layer": {"type": "dense", "units": 3}}
         ],
         "outputs": ["seg", "cls"]}
        """
}

final class ModelConfigTests: XCTestCase {
    func testMNISTReferenceModel() throws {
        let model = try ReferenceModels.mnistCNN(seed: 0)
        XCTAssertEqual(model.parameterCount, 93_322)
        XCTAssertEqual(model.outputShape, [10])
        XCTAssertEqual(
            model.namedParameters.map(\.name),
            ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias", "6.weight", "6.bias", "7.weight", "7.bias"])
        XCTAssertEqual(model(randomTensor([2, 1, 28, 28])).shape, [2, 10])
        let summary = model.summary()
        XCTAssertTrue(summary.contains("Total params: 93,322"), summary)
        XCTAssertTrue(summary.contains("4 (conv2d)") && summary.contains("[64, 3, 3]") && summary.contains("36,928"), summary)
        try PluginTestKit.checkConfigRoundTrip(of: model)
        // The same model written in Swift has the same config and parameters.
        let swift = try Model(inputShape: [1, 28, 28], seed: 0) {
            Conv2D(filters: 32, kernelSize: 3, activation: .relu)
            MaxPool2D(poolSize: 2)
            Conv2D(filters: 64, kernelSize: 3, activation: .relu)
            MaxPool2D(poolSize: 2)
            Conv2D(filters: 64, kernelSize: 3, activation: .relu)
            Flatten()
            Dense(units: 64, activation: .relu)
            Dense(units: 10)
        }
        XCTAssertEqual(swift.config.fields, model.config.fields)
        XCTAssertEqual(swift.namedParameters.map(\.value.scalars), model.namedParameters.map(\.value.scalars))
    }

    func testSequentialFromJSONAndBack() throws {
        let json = """
            {"type": "sequential", "input_shape": [3, 6, 6], "seed": 5, "layers": [
              {"type": "conv2d", "filters": 4, "kernel_size": [3, 3], "padding": "same", "kernel_initializer": "he_normal"},
              {"type": "batch_norm2d"}, {"type": "relu"}, {"type": "dropout", "rate": 0.1},
              {"type": "avg_pool2d", "pool_size": 2}, {"type": "flatten"},
              {"type": "dense", "units": 2, "activation": "softmax"}]}
            """
        let model = try Registry.shared.model(json: Data(json.utf8))
        XCTAssertEqual(model.outputShape, [2])
        XCTAssertEqual(model.buffers.map(\.name), ["1.running_mean", "1.running_var", "1.num_batches_tracked"])
        XCTAssertEqual(model.namedParameters.map(\.name), ["0.weight", "0.bias", "1.weight", "1.bias", "6.weight", "6.bias"])
        let again = try Registry.shared.model(json: model.config.jsonData)
        XCTAssertEqual(again.config, model.config)
        XCTAssertEqual(again.namedParameters.map(\.value.scalars), model.namedParameters.map(\.value.scalars))
        XCTAssertEqual(model.config["seed"], 5)
    }

    func testTwoHeadedGraphFromJSON() throws {
        let model = try Registry.shared.model(json: Data(GraphFixtures.twoHeadJSON.utf8))
        XCTAssertEqual(model.outputShapes, [[2, 8, 8], [3]])
        let outs = model.outputs(randomTensor([2, 1, 8, 8]))
        XCTAssertEqual(outs.map(\.shape), [[2, 2, 8, 8], [2, 3]])
        XCTAssertEqual(
            model.namedParameters.map(\.name),
            ["c1.weight", "c1.bias", "c2.weight", "c2.bias", "up.weight", "up.bias", "seg.weight", "seg.bias", "cls.weight", "cls.bias"])
        XCTAssertEqual(model.namedParameters[4].value.shape, [8, 4, 2, 2])
        XCTAssertEqual(model.namedParameters[6].value.shape, [2, 8, 1, 1])
        try PluginTestKit.checkConfigRoundTrip(of: model)
        // Both heads are differentiable through the shared trunk.
        let (_, grads) = valueWithGradient(at: model) { m in
            let o = m.outputs(randomTensor([2, 1, 8, 8]))
            return o[0].mean() + o[1].sum()
        }
        XCTAssertTrue(grads["c1.weight"]!.scalars.contains { $0 != 0 })
        let summary = model.summary()
        XCTAssertTrue(summary.contains("skip (concatenate)") && summary.contains("[8, 8, 8]"), summary)
    }

    func testGraphInSwiftWithResidual() throws {
        let model = try Model(inputShape: [2, 4, 4], seed: 1, root: GraphFixtures.skipNet())
        XCTAssertEqual(model.outputShape, [3])
        XCTAssertEqual(model.namedParameters.map(\.name), ["c1.weight", "c1.bias", "c2.weight", "c2.bias", "out.weight", "out.bias"])
        XCTAssertEqual(model.namedParameters[4].value.shape, [3, 64])
        try PluginTestKit.checkConfigRoundTrip(of: model)
    }

    func testNestedSequentialNamesAndSummary() throws {
        let model = try Model(inputShape: [4], seed: 0) {
            Sequential {
                Dense(units: 3, activation: .relu)
                Dense(units: 3)
            }
            Dense(units: 1)
        }
        XCTAssertEqual(model.namedParameters.map(\.name), ["0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias", "1.weight", "1.bias"])
        XCTAssertEqual(model.summaryRows.map(\.name), ["0.0", "0.1", "1"])
        try PluginTestKit.checkConfigRoundTrip(of: model)
    }

    func testCustomCompositeStruct() throws {
        let model = try Model(inputShape: [1, 8, 8], seed: 2, root: ExampleUNet())
        XCTAssertEqual(model.outputShape, [2, 8, 8])
        XCTAssertEqual(model.namedParameters.map(\.name), ["down.weight", "down.bias", "up.weight", "up.bias", "head.weight", "head.bias"])
        try PluginTestKit.checkGradients(of: ExampleUNet(), inputShape: [1, 4, 4])
    }
}

/// A model written as a Swift struct that owns its sub-layers (the pattern
/// documented on `Layer`): a one-level U-Net.
struct ExampleUNet: Layer {
    static let typeName = "test.example_unet"
    var down = Conv2D(filters: 4, kernelSize: 3, padding: .same, activation: .relu)
    var up = ConvTranspose2D(filters: 4, kernelSize: 2, strides: 2)
    var head = Conv2D(filters: 2, kernelSize: 1)

    init() {}
    init(config: Config) throws { try config.checkOnly([]) }
    var config: Config { Config(["type": .string(Self.typeName)]) }

    mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] {
        let d = try down.build(inputShape: inputShape, generator: &generator)
        let u = try up.build(inputShape: [d[0], d[1] / 2, d[2] / 2], generator: &generator)
        return try head.build(inputShape: [u[0] + d[0], u[1], u[2]], generator: &generator)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let skip = down(x)
        let bottom = maxPool2d(skip, kernelSize: 2)
        return head(Tensor.concatenate([up(bottom), skip], axis: 1))
    }

    mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {
        down.visitParameters(prefix: joinName(prefix, "down"), visitor)
        up.visitParameters(prefix: joinName(prefix, "up"), visitor)
        head.visitParameters(prefix: joinName(prefix, "head"), visitor)
    }
}
