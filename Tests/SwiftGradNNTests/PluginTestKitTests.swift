import XCTest

@testable import SwiftGradNN

/// The test kit catches broken plugins with a useful message.
final class PluginTestKitTests: XCTestCase {
    /// y = x^2 with a pullback off by a factor of two.
    struct WrongGradient: Layer {
        static let typeName = "test.wrong_gradient"
        init() {}
        init(config: Config) throws {}
        var config: Config { Config(["type": .string(Self.typeName)]) }
        mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] { inputShape }
        func callAsFunction(_ x: Tensor) -> Tensor {
            let xd = x.detached
            return Tensor.record(xd * xd, inputs: [x]) { g in [g * xd * 4] }
        }
    }

    /// Writes `width` but reads `size`, so its config does not round-trip.
    struct LossyConfig: Layer {
        static let typeName = "test.lossy_config"
        var width = 3
        init() {}
        init(config: Config) throws { width = try config.int("size", default: 1) }
        var config: Config { Config(["type": .string(Self.typeName), "width": .int(width)]) }
        mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] { inputShape }
        func callAsFunction(_ x: Tensor) -> Tensor { x }
    }

    /// Output shape differs from what `build` promised.
    struct WrongShape: Layer {
        static let typeName = "test.wrong_shape"
        init() {}
        init(config: Config) throws {}
        var config: Config { Config(["type": .string(Self.typeName)]) }
        mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] { inputShape }
        func callAsFunction(_ x: Tensor) -> Tensor { x.flattened() }
    }

    func assertFailure(_ fragment: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected a PluginTestKit.Failure mentioning \(fragment)", file: file, line: line)
        } catch let f as PluginTestKit.Failure {
            XCTAssertTrue(f.message.contains(fragment), f.message, file: file, line: line)
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
    }

    func testWrongGradientIsCaught() {
        assertFailure("gradient of input[") { try PluginTestKit.checkGradients(of: WrongGradient(), inputShape: [4]) }
    }

    func testWrongOutputShapeIsCaught() {
        assertFailure("build returned [2, 2]") { try PluginTestKit.checkGradients(of: WrongShape(), inputShape: [2, 2]) }
    }

    func testConfigProblemsAreCaught() {
        let r = Registry.withBuiltins()
        assertFailure("is not registered") { try PluginTestKit.checkConfigRoundTrip(of: LossyConfig(), inputShape: [2], registry: r) }
        r.register(layer: LossyConfig.self)
        assertFailure("came back as {\"type\":\"test.lossy_config\",\"width\":1}") {
            try PluginTestKit.checkConfigRoundTrip(of: LossyConfig(), inputShape: [2], registry: r)
        }
    }

    func testKinksAreSkippedNotFailed() throws {
        // ReLU and max pooling have kinks; the check must pass and say what it skipped.
        let report = try PluginTestKit.checkGradients(
            of: Sequential {
                ReLU()
                MaxPool2D(poolSize: 2)
            }, inputShape: [2, 4, 4], batch: 4, seed: 5, samplesPerTensor: 200)
        XCTAssertGreaterThan(report.checked, 50, "\(report)")
    }
}
