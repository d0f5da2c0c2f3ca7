import XCTest

@testable import SwiftGradNN

/// Finite-difference gradient checks (input and every parameter) and config
/// round trips for every built-in layer, through the public PluginTestKit.
final class LayerTests: XCTestCase {
    /// Each layer with a per-sample input shape.
    static let cases: [(any Layer, [Int])] = [
        (Dense(units: 4, activation: .tanh), [5]),
        (Dense(units: 3, activation: .relu, kernelInitializer: .pytorch), [6]),
        (Dense(units: 3, activation: .softmax, useBias: false), [4]),
        (Conv2D(filters: 3, kernelSize: 3, padding: .same, activation: .sigmoid), [2, 5, 5]),
        (Conv2D(filters: 4, kernelSize: Size2(3, 2), strides: 2, padding: .explicit(1), dilation: Size2(1, 2), groups: 2), [4, 7, 7]),
        (ConvTranspose2D(filters: 3, kernelSize: 3, strides: 2, padding: .same), [2, 3, 3]),
        (ConvTranspose2D(filters: 4, kernelSize: 2, strides: 2, groups: 2, activation: .leakyRelu), [2, 3, 4]),
        (ConvTranspose2D(filters: 2, kernelSize: 3, strides: 2, padding: .explicit(1), outputPadding: 1), [3, 3, 3]),
        (MaxPool2D(poolSize: 2), [2, 4, 6]),
        (MaxPool2D(poolSize: 3, strides: 1, padding: .same), [1, 4, 4]),
        (AvgPool2D(poolSize: 3, strides: 2, padding: .explicit(1), countIncludePad: false), [2, 5, 5]),
        (AvgPool2D(poolSize: 2), [1, 4, 4]),
        (GlobalAvgPool2D(), [3, 4, 5]),
        (GlobalAvgPool2D(keepDims: true), [2, 3, 3]),
        (Flatten(), [2, 3, 2]),
        (Reshape(targetShape: [3, -1]), [2, 3, 2]),
        (Dropout(rate: 0.5, seed: 3), [7]),
        (BatchNorm2D(), [3, 3, 3]),
        (BatchNorm2D(momentum: 0.2, epsilon: 1e-3), [4]),
        (ReLU(), [2, 3, 3]),
        (LeakyReLU(alpha: 0.2), [10]),
        (Sigmoid(), [10]),
        (Tanh(), [10]),
        (Softmax(), [6]),
        (Softmax(axis: 1), [3, 2, 2])
    ]

    func testGradientsInInferenceMode() throws {
        for (i, (layer, shape)) in Self.cases.enumerated() {
            let report = try PluginTestKit.checkGradients(of: layer, inputShape: shape, batch: 3, seed: UInt64(i))
            XCTAssertGreaterThan(report.checked, 0, "\(type(of: layer))")
        }
    }

    func testBatchNormGradientsInTrainingMode() throws {
        try PluginTestKit.checkGradients(of: BatchNorm2D(), inputShape: [2, 3, 3], batch: 3, training: true)
        try PluginTestKit.checkGradients(of: BatchNorm2D(), inputShape: [5], batch: 4, seed: 9, training: true)
    }

    func testConfigRoundTripOfEveryLayer() throws {
        for (layer, shape) in Self.cases {
            try PluginTestKit.checkConfigRoundTrip(of: layer, inputShape: shape)
        }
        // Every built-in leaf layer has a case here (containers and models have their own tests).
        let names = Set(Self.cases.map { $0.0.dynamicTypeName })
        let untested = Set(BuiltinLayers.registeredNames).subtracting(names).subtracting(["sequential", "graph", "unet"])
        XCTAssertEqual(untested, [])
    }

    func testCompositeGradients() throws {
        let chain = Sequential {
            Conv2D(filters: 2, kernelSize: 3, padding: .same, activation: .tanh)
            BatchNorm2D()
            AvgPool2D(poolSize: 2)
            Flatten()
            Dense(units: 3)
        }
        try PluginTestKit.checkGradients(of: chain, inputShape: [1, 4, 4], batch: 2, training: true)
        try PluginTestKit.checkGradients(of: GraphFixtures.skipNet(), inputShape: [2, 4, 4], batch: 2)
    }

    func testUnbuiltLayerHasNoParameters() {
        XCTAssertTrue(Dense(units: 3).namedParameters.isEmpty)
        XCTAssertTrue(Conv2D(filters: 3, kernelSize: 3).namedParameters.isEmpty)
    }

    func testParameterNamesAndShapesMatchPyTorch() throws {
        let dense = try built(Dense(units: 4), [5])
        XCTAssertEqual(dense.namedParameters.map(\.name), ["weight", "bias"])
        XCTAssertEqual(dense.namedParameters.map(\.value.shape), [[4, 5], [4]])
        let conv = try built(Conv2D(filters: 6, kernelSize: Size2(3, 2), groups: 2), [4, 8, 8])
        XCTAssertEqual(conv.namedParameters.map(\.value.shape), [[6, 2, 3, 2], [6]])
        let deconv = try built(ConvTranspose2D(filters: 6, kernelSize: 2, strides: 2, groups: 3), [3, 4, 4])
        XCTAssertEqual(deconv.namedParameters.map(\.value.shape), [[3, 2, 2, 2], [6]])
        let bn = try built(BatchNorm2D(), [5, 2, 2])
        XCTAssertEqual(bn.namedParameters.map(\.name), ["weight", "bias"])
        XCTAssertEqual(bn.buffers.map(\.name), ["running_mean", "running_var", "num_batches_tracked"])
    }

    func testInitializers() throws {
        // Keras defaults: glorot-uniform kernel within sqrt(6 / (in + out)), zero bias.
        let d = try built(Dense(units: 50), [30])
        let limit = Float((6.0 / 80.0).squareRoot())
        XCTAssertTrue(d.weight!.scalars.allSatisfy { Swift.abs($0) <= limit })
        XCTAssertEqual(d.bias!.scalars, [Float](repeating: 0, count: 50))
        // PyTorch default: weight and bias in U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
        let p = try built(Conv2D(filters: 8, kernelSize: 3, kernelInitializer: .pytorch), [4, 5, 5])
        let bound = Float(1 / (36.0).squareRoot())
        XCTAssertTrue(p.weight!.scalars.allSatisfy { Swift.abs($0) <= bound })
        XCTAssertTrue(p.bias!.scalars.allSatisfy { Swift.abs($0) <= bound } && p.bias!.scalars.contains { $0 != 0 })
        // he_normal: standard deviation sqrt(2 / fanIn).
        let h = try built(Dense(units: 200, kernelInitializer: .heNormal), [50])
        let v = h.weight!.scalars
        let std = (v.map { Double($0 * $0) }.reduce(0, +) / Double(v.count)).squareRoot()
        XCTAssertEqual(std, (2.0 / 50).squareRoot(), accuracy: 0.01)
        // The same seed gives the same parameters.
        XCTAssertEqual(try built(Dense(units: 5), [3], seed: 4).weight!.scalars, try built(Dense(units: 5), [3], seed: 4).weight!.scalars)
    }

    func testOutputShapes() throws {
        var g = SeededGenerator(seed: 0)
        func shape(_ l: any Layer, _ s: [Int]) throws -> [Int] {
            var l = l
            return try l.build(inputShape: s, generator: &g)
        }
        XCTAssertEqual(try shape(Conv2D(filters: 4, kernelSize: 3, strides: 2, padding: .same), [1, 7, 8]), [4, 4, 4])
        XCTAssertEqual(try shape(Conv2D(filters: 4, kernelSize: 3, dilation: 2), [1, 7, 8]), [4, 3, 4])
        XCTAssertEqual(try shape(ConvTranspose2D(filters: 2, kernelSize: 3, strides: 2, padding: .same), [1, 5, 6]), [2, 10, 12])
        XCTAssertEqual(try shape(ConvTranspose2D(filters: 2, kernelSize: 4, strides: 2, padding: .same), [1, 5, 6]), [2, 10, 12])
        XCTAssertEqual(try shape(ConvTranspose2D(filters: 2, kernelSize: 3, strides: 1, padding: .same), [1, 5, 6]), [2, 5, 6])
        XCTAssertEqual(try shape(MaxPool2D(poolSize: 2), [3, 7, 7]), [3, 3, 3])
        XCTAssertEqual(try shape(MaxPool2D(poolSize: 3, strides: 2, padding: .same), [3, 7, 8]), [3, 4, 4])
        XCTAssertEqual(try shape(Reshape(targetShape: [-1, 4]), [2, 3, 4]), [6, 4])
        // Built shapes agree with what the layer computes.
        let conv = try built(ConvTranspose2D(filters: 2, kernelSize: 4, strides: 2, padding: .same), [1, 5, 6])
        XCTAssertEqual(conv(randomTensor([2, 1, 5, 6])).shape, [2, 2, 10, 12])
    }
}

extension BuiltinLayers {
    /// The names `register(into:)` adds.
    static var registeredNames: [String] {
        let r = Registry()
        register(into: r)
        return r.layerNames
    }
}
