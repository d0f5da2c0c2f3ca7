import ExamplePlugins
import XCTest

@testable import SwiftGradNN

final class RegistryTests: XCTestCase {
    func testBuiltinsAreRegistered() {
        let names = Registry.shared.layerNames
        for n in [
            "dense", "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "global_avg_pool2d", "flatten", "reshape",
            "dropout", "batch_norm2d", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "sequential", "graph"
        ] {
            XCTAssertTrue(names.contains(n), n)
        }
        XCTAssertTrue(Registry().layerNames.isEmpty, "a plain Registry() starts empty")
        // The training half's bundles are in the shared registry too.
        XCTAssertTrue(Registry.shared.optimizerNames.contains("adam") && Registry.shared.optimizerNames.contains("sgd"))
        XCTAssertFalse(Registry.shared.lossNames.isEmpty)
        XCTAssertFalse(Registry.shared.scheduleNames.isEmpty)
    }

    func testNameValidation() {
        for good in ["dense", "mylib.fancy_adam", "a.b.c2"] { XCTAssertTrue(Registry.isValidName(good), good) }
        for bad in ["", "Dense", "my-lib", "a..b", ".a", "a.", "with space"] { XCTAssertFalse(Registry.isValidName(bad), bad) }
    }

    func testReRegistrationReplaces() throws {
        let r = Registry.withBuiltins()
        r.register(layer: Tanh.self, as: "relu")
        XCTAssertTrue(try r.layer(Config(["type": "relu"])) is Tanh)
        XCTAssertTrue(try Registry.shared.layer(Config(["type": "relu"])) is ReLU, "other registries are unaffected")
    }

    func testUnknownNamesListKnownOnes() {
        let r = Registry.withBuiltins()
        ExamplePlugins.register(into: r)
        assertConfigError(["unknown optimizer 'mylib.lion'", "mylib.sign_sgd"]) { try r.optimizer("mylib.lion") }
        assertConfigError(["unknown loss 'hinge'"]) { try r.loss(Config(["type": "hinge"])) }
        assertConfigError(["unknown schedule 'cyclic'"]) { try r.schedule(Config(["type": "cyclic"])) }
    }

    func testThirdPartyLayerAndOptimizerByName() throws {
        let r = Registry.withBuiltins()
        ExamplePlugins.register(into: r)
        let json = """
            {"type": "sequential", "input_shape": [4], "seed": 1,
             "layers": [{"type": "dense", "units": 3}, {"type": "mylib.scaled_tanh", "initial_scale": 2}]}
            """
        let model = try r.model(json: Data(json.utf8))
        XCTAssertEqual(model.namedParameters.map(\.name), ["0.weight", "0.bias", "1.scale"])
        XCTAssertEqual(model.namedParameters[2].value.scalars, [2])
        XCTAssertThrowsError(try Registry().model(json: Data(json.utf8)), "unknown in a registry without the plugin")
        let optimizer = try r.optimizer("mylib.sign_sgd", ["learning_rate": 0.5, "beta": 0.9])
        XCTAssertTrue(optimizer is SignSGD)
        XCTAssertEqual(optimizer.learningRate, 0.5)
        XCTAssertEqual(try r.optimizer(optimizer.config).config, optimizer.config)
        assertConfigError(["mylib.sign_sgd", "'beta' must be in [0, 1)"]) { try r.optimizer("mylib.sign_sgd", ["beta": 1]) }
    }

    func testThirdPartyPluginPassesTheTestKit() throws {
        let r = Registry.withBuiltins()
        ExamplePlugins.register(into: r)
        try PluginTestKit.checkGradients(of: ScaledTanh(initialScale: 1.5), inputShape: [3, 2], batch: 2)
        try PluginTestKit.checkConfigRoundTrip(of: ScaledTanh(initialScale: 1.5), inputShape: [3], registry: r)
    }

    func testRegistrationIntoSharedFromAnotherModule() throws {
        Registry.shared.register(layer: ScaledTanh.self)
        let layer = try Registry.shared.layer(json: Data(#"{"type": "mylib.scaled_tanh"}"#.utf8))
        XCTAssertEqual(layer.config, ScaledTanh().config)
    }

    func testLossAndScheduleFactories() throws {
        struct Half: LearningRateSchedule {
            var config: Config { Config(["type": "test.half"]) }
            func learningRate(base: Float, step: Int) -> Float { base / 2 }
        }
        struct L1: Loss {
            var config: Config { Config(["type": "test.l1"]) }
            func callAsFunction(_ p: Tensor, _ t: Tensor) -> Tensor { (p - t).abs().mean() }
        }
        let r = Registry()
        r.register(schedule: "test.half") { _ in Half() }
        r.register(loss: "test.l1") { c in
            try c.checkOnly([])
            return L1()
        }
        XCTAssertEqual(try r.schedule(Config(["type": "test.half"])).learningRate(base: 1, step: 0), 0.5)
        let loss = try r.loss(Config(["type": "test.l1"]))
        XCTAssertEqual(loss(Tensor([1, 2]), Tensor([0, 0])).scalar, 1.5)
        assertConfigError(["'oops' is not an option"]) { try r.loss(Config(["type": "test.l1", "oops": 1])) }
        XCTAssertEqual(r.lossNames, ["test.l1"])
    }

    func testConcurrentRegistrationAndLookup() {
        let r = Registry.withBuiltins()
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            r.register(layer: ReLU.self, as: "relu_\(i % 8)")
            _ = try? r.layer(Config(["type": "dense", "units": 2]))
            _ = r.layerNames
        }
        XCTAssertTrue(r.layerNames.contains("relu_7"))
    }
}
