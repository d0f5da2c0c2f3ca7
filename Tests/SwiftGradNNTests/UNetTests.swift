import Foundation
import XCTest

@testable import SwiftGradNN

final class UNetTests: XCTestCase {
    /// Two levels on 6x5 and 5x5 inputs: odd extents exercise the output
    /// padding of the transposed convolutions (6 -> 3 -> 1 -> 3 -> 6 and
    /// 5 -> 2 -> 1 -> 2 -> 5). Tanh instead of ReLU keeps the function smooth
    /// apart from max pooling; where a pooling window's winner changes within
    /// the finite-difference step the kit cannot always tell, so the seeds
    /// are ones whose windows have no near ties (ReLU itself is checked in
    /// the Conv2D layer tests).
    func testGradientsOfTinyUNet() throws {
        let unet = UNet(classes: 3, channels: [2, 3], bottleneck: 4, activation: .tanh)
        let report = try PluginTestKit.checkGradients(of: unet, inputShape: [1, 6, 5], batch: 2, seed: 1)
        XCTAssertGreaterThan(report.checked, 300, "\(report)")
        let twoChannels = UNet(classes: 2, channels: [3], bottleneck: 4, activation: .tanh)
        try PluginTestKit.checkGradients(of: twoChannels, inputShape: [2, 5, 5], batch: 2, seed: 2)
    }

    func testRegisteredAndConfigRoundTrip() throws {
        XCTAssertNotNil(Registry.shared.layerType(named: "unet"))
        try PluginTestKit.checkConfigRoundTrip(of: UNet(classes: 4, channels: [4, 8], bottleneck: 16), inputShape: [1, 16, 20])
        let model = try Model(inputShape: [2, 16, 12], seed: 5, root: UNet(classes: 3, channels: [4, 8], bottleneck: 8))
        try PluginTestKit.checkConfigRoundTrip(of: model)
        XCTAssertEqual(model.config["in_channels"], .int(2))
    }

    func testDefaultsFromJSONAndOutputShape() throws {
        let json = #"{"type": "unet", "classes": 11, "input_shape": [1, 64, 84], "seed": 0}"#
        let model = try Registry.shared.model(json: Data(json.utf8))
        let unet = try XCTUnwrap(model.root as? UNet)
        XCTAssertEqual(unet.channels, [16, 32, 64, 128])
        XCTAssertEqual(unet.bottleneckChannels, 256)
        XCTAssertEqual(model.outputShape, [11, 64, 84])
        // 84 -> 42 -> 21 -> 10 -> 5: up2 (10 -> 21) needs an output padding of 1.
        XCTAssertEqual(unet.partShapes["up2"], [64, 16, 21])
        XCTAssertEqual(unet.partShapes["dec0"], [16, 64, 84])
        XCTAssertEqual(unet.partShapes["bottleneck"], [256, 4, 5])
        let logits = model(randomTensor([2, 1, 64, 84]))
        XCTAssertEqual(logits.shape, [2, 11, 64, 84])
        XCTAssertTrue(logits.scalars.allSatisfy(\.isFinite))
        XCTAssertTrue(model.summary().contains("dec0 (double_conv)"))
    }

    func testParameterNamesAndShapes() throws {
        let model = try Model(inputShape: [1, 32, 32], root: UNet(classes: 4))
        let shapes = Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.value.shape) })
        XCTAssertEqual(model.namedParameters.first?.name, "enc0.conv1.weight")
        XCTAssertEqual(model.namedParameters.last?.name, "head.bias")
        XCTAssertEqual(shapes["enc0.conv1.weight"], [16, 1, 3, 3])
        XCTAssertEqual(shapes["enc3.conv2.bias"], [128])
        XCTAssertEqual(shapes["bottleneck.conv1.weight"], [256, 128, 3, 3])
        XCTAssertEqual(shapes["up3.weight"], [256, 128, 2, 2])  // PyTorch layout [C_in, C_out, kh, kw]
        XCTAssertEqual(shapes["dec3.conv1.weight"], [128, 256, 3, 3])
        XCTAssertEqual(shapes["up0.weight"], [32, 16, 2, 2])
        XCTAssertEqual(shapes["dec0.conv1.weight"], [16, 32, 3, 3])
        XCTAssertEqual(shapes["head.weight"], [4, 16, 1, 1])
        XCTAssertEqual(shapes.count, 4 * 4 + 4 + 4 * 6 + 2)
        // Weights plus biases, level by level as in the PyTorch twin.
        func conv(_ c: Int, _ k: Int, _ taps: Int) -> Int { c * k * taps + k }
        var expected = 0, c = 1
        for f in [16, 32, 64, 128] {
            expected += conv(c, f, 9) + conv(f, f, 9)
            c = f
        }
        expected += conv(128, 256, 9) + conv(256, 256, 9)
        c = 256
        for f in [128, 64, 32, 16] {
            expected += conv(c, f, 4) + conv(2 * f, f, 9) + conv(f, f, 9)
            c = f
        }
        expected += conv(16, 4, 1)
        XCTAssertEqual(model.parameterCount, expected)
        XCTAssertEqual(expected, 1_940_868)
    }

    func testBadConfigsThrow() {
        assertConfigError(["channels", "non-empty"]) { try UNet(config: Config(["type": "unet", "classes": 2, "channels": []])) }
        assertConfigError(["channels", "positive"]) { try UNet(config: Config(["type": "unet", "classes": 2, "channels": [8, 0]])) }
        assertConfigError(["classes"]) { try UNet(config: Config(["type": "unet"])) }
        assertConfigError(["bottleneck", "at least 1"]) { try UNet(config: Config(["type": "unet", "classes": 2, "bottleneck": -4])) }
        assertConfigError(["depth", "not an option"]) { try UNet(config: Config(["type": "unet", "classes": 2, "depth": 3])) }
        assertConfigError(["kernel_initializer"]) {
            try UNet(config: Config(["type": "unet", "classes": 2, "kernel_initializer": "magic"]))
        }
        assertConfigError(["in_channels", "3 channels"]) {
            try Model(inputShape: [3, 32, 32], root: UNet(classes: 2, inChannels: 1))
        }
        assertConfigError(["at least 16"]) { try Model(inputShape: [1, 12, 40], root: UNet(classes: 2)) }
        assertConfigError(["[C, H, W]"]) { try Model(inputShape: [64], root: UNet(classes: 2)) }
    }

    /// One batch of two 16x16 images holding a bright square and a dim bar
    /// (3 classes); 60 Adam steps must cut the loss well down and label
    /// almost every pixel right.
    func testOverfitsOneBatch() throws {
        var pixels = [Float](repeating: 0.1, count: 2 * 16 * 16)
        var labels = [Float](repeating: 0, count: 2 * 16 * 16)
        for n in 0..<2 {
            for r in 0..<16 {
                for c in 0..<16 {
                    let k = n * 256 + r * 16 + c
                    if (3 + n * 5..<9 + n * 5).contains(r), (2 + n..<8 + n).contains(c) { (pixels[k], labels[k]) = (0.9, 1) }
                    if (11..<14).contains(r), (4 + n * 2..<15).contains(c) { (pixels[k], labels[k]) = (0.5, 2) }
                }
            }
        }
        let images = Tensor(shape: [2, 1, 16, 16], scalars: pixels)
        let targets = Tensor(shape: [2, 16, 16], scalars: labels)
        var model = try Model(inputShape: [1, 16, 16], seed: 1, root: UNet(classes: 3, channels: [8, 16], bottleneck: 16))
        var updater = ParameterUpdater(Adam(learningRate: 3e-3))
        var losses: [Float] = []
        for _ in 0..<60 {
            let (loss, grads) = valueWithGradient(at: model) { m in
                pixelwiseSoftmaxCrossEntropy(logits: m(images), labels: targets)
            }
            losses.append(loss.scalar)
            updater.update(&model, along: grads)
        }
        XCTAssertLessThan(losses.last!, 0.1 * losses.first!, "losses \(losses)")
        var iou = MeanIoU(classCount: 3)
        iou.update(predictions: model(images), targets: targets)
        XCTAssertGreaterThan(iou.matrix.accuracy, 0.98, "\(iou.matrix)")
    }
}
