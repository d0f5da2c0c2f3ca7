import Foundation
import XCTest

@testable import SwiftGradNN

/// A registry with every built-in bundle, independent of `Registry.shared`'s list.
func trainingRegistry() -> Registry {
    let r = Registry.withBuiltins()
    BuiltinOptimizers.register(into: r)
    BuiltinSchedules.register(into: r)
    BuiltinLosses.register(into: r)
    return r
}

final class OptimizerTests: XCTestCase {
    let p0: [Double] = [0.5, -1.25, 2.0, 0.0, -0.3]
    /// Three different gradients, one per step.
    let grads: [[Double]] = [[0.1, -0.2, 0.3, 0.0, 1.5], [-0.4, 0.05, 0.2, -0.1, 0.7], [0.25, 0.25, -0.6, 0.3, -0.2]]

    /// Runs `steps` updates through a `ParameterUpdater` on a one-tensor model.
    func run(_ name: String, _ fields: [String: ConfigValue], steps: Int = 3) throws -> [Float] {
        var updater = try trainingRegistry().updater(name, fields)
        var model: [String: Tensor] = ["w": Tensor(p0.map(Float.init))]
        for s in 0..<steps {
            let g = Gradients(byName: ["w": Tensor(grads[s].map(Float.init))], names: ["w"])
            updater.update(&model, along: g)
        }
        XCTAssertEqual(updater.step, steps)
        return model["w"]!.scalars
    }

    func assertClose(_ got: [Float], _ want: [Double], tol: Double = 1e-5, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, file: file, line: line)
        for (g, w) in zip(got, want) {
            XCTAssertEqual(Double(g), w, accuracy: tol * max(1, abs(w)), "got \(got), want \(want)", file: file, line: line)
        }
    }

    func testSGDPlainMomentumNesterov() throws {
        for (mu, nesterov, wd) in [(0.0, false, 0.0), (0.9, false, 0.01), (0.8, true, 0.05)] {
            var p = p0, buf = [Double](repeating: 0, count: p0.count)
            for g in grads {
                for i in p.indices {
                    var gi = g[i] + wd * p[i]
                    if mu > 0 {
                        buf[i] = mu * buf[i] + gi
                        gi = nesterov ? gi + mu * buf[i] : buf[i]
                    }
                    p[i] -= 0.1 * gi
                }
            }
            let got = try run("sgd", ["lr": 0.1, "momentum": .number(mu), "nesterov": .bool(nesterov), "weight_decay": .number(wd)])
            assertClose(got, p)
        }
    }

    /// Adam and AdamW reference, with L2 (`l2`) or decoupled (`decoupled`) decay.
    func adamReference(lr: Double, b1: Double, b2: Double, eps: Double, l2: Double, decoupled: Double) -> [Double] {
        var p = p0, m = [Double](repeating: 0, count: p0.count), v = m
        for (t, g) in grads.enumerated() {
            let step = Double(t + 1)
            for i in p.indices {
                p[i] *= 1 - lr * decoupled
                let gi = g[i] + l2 * p[i]
                m[i] = b1 * m[i] + (1 - b1) * gi
                v[i] = b2 * v[i] + (1 - b2) * gi * gi
                let mHat = m[i] / (1 - pow(b1, step)), vHat = v[i] / (1 - pow(b2, step))
                p[i] -= lr * mHat / (vHat.squareRoot() + eps)
            }
        }
        return p
    }

    func testAdamWithBiasCorrectionAndL2() throws {
        let got = try run("adam", ["learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-6, "weight_decay": 0.1])
        assertClose(got, adamReference(lr: 0.01, b1: 0.8, b2: 0.95, eps: 1e-6, l2: 0.1, decoupled: 0))
        let plain = try run("adam", ["lr": 0.001])
        assertClose(plain, adamReference(lr: 0.001, b1: 0.9, b2: 0.999, eps: 1e-8, l2: 0, decoupled: 0))
    }

    /// Adam on 40,009 elements (the kernel's parallel, vector and tail
    /// paths, with a NaN, an infinity and a -0 among the gradients) against
    /// the same float operations in Swift, bit for bit, over three steps.
    func testAdamKernelMatchesScalarFloatsBitForBit() throws {
        let n = 40_009
        var gen = SeededGenerator(seed: 31)
        let p0 = Tensor.uniform([n], lower: -1, upper: 1, generator: &gen)
        var grads = (0..<3).map { _ in Tensor.uniform([n], lower: -0.01, upper: 0.01, generator: &gen).scalars }
        (grads[0][3], grads[1][5], grads[2][7]) = (.nan, .infinity, -0.0)
        var updater = try trainingRegistry().updater("adam", ["learning_rate": 0.01, "weight_decay": 0.1])
        var model: [String: Tensor] = ["w": p0]
        var (p, m, v) = (p0.scalars, [Float](repeating: 0, count: n), [Float](repeating: 0, count: n))
        let (b1, b2, eps, l2): (Float, Float, Float, Float) = (0.9, 0.999, 1e-8, 0.1)
        for step in 1...3 {
            let g = grads[step - 1]
            updater.update(&model, along: Gradients(byName: ["w": Tensor(g)], names: ["w"]))
            let stepSize = Float(Double(Float(0.01)) / (1 - Foundation.pow(Double(b1), Double(step))))
            let invRootBC2 = Float(1 / (1 - Foundation.pow(Double(b2), Double(step))).squareRoot())
            for i in 0..<n {
                let gi = g[i] + l2 * p[i]
                m[i] = b1 * m[i] + (1 - b1) * gi
                v[i] = b2 * v[i] + (1 - b2) * gi * gi
                p[i] -= stepSize * m[i] / (v[i].squareRoot() * invRootBC2 + eps)
            }
        }
        let got = model["w"]!.scalars
        let same = zip(got, p).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
        XCTAssertTrue(
            same,
            "first difference at \(zip(got, p).enumerated().first { $0.element.0.bitPattern != $0.element.1.bitPattern }.map { "\($0.offset): \($0.element)" } ?? "-")"
        )
    }

    func testAdamWDecouplesDecay() throws {
        let got = try run("adamw", ["learning_rate": 0.05])  // weight_decay defaults to 0.01
        assertClose(got, adamReference(lr: 0.05, b1: 0.9, b2: 0.999, eps: 1e-8, l2: 0, decoupled: 0.01))
    }

    func testRMSpropPlainAndCenteredWithMomentum() throws {
        for (centered, mu, wd) in [(false, 0.0, 0.0), (true, 0.9, 0.02)] {
            let (lr, rho, eps) = (0.01, 0.9, 1e-8)
            var p = p0, s = [Double](repeating: 0, count: p0.count), a = s, buf = s
            for g in grads {
                for i in p.indices {
                    let gi = g[i] + wd * p[i]
                    s[i] = rho * s[i] + (1 - rho) * gi * gi
                    var d = s[i]
                    if centered {
                        a[i] = rho * a[i] + (1 - rho) * gi
                        d -= a[i] * a[i]
                    }
                    d = d.squareRoot() + eps
                    if mu > 0 {
                        buf[i] = mu * buf[i] + gi / d
                        p[i] -= lr * buf[i]
                    } else {
                        p[i] -= lr * gi / d
                    }
                }
            }
            let got = try run(
                "rmsprop",
                [
                    "lr": .number(lr), "alpha": .number(rho), "centered": .bool(centered),
                    "momentum": .number(mu), "weight_decay": .number(wd)
                ])
            // Centered RMSprop divides by a small sqrt(s - a^2); float32 rounding shows.
            assertClose(got, p, tol: 1e-4)
        }
    }

    func testAdagradWithDecay() throws {
        let (lr, decay, wd, eps, initial) = (0.1, 0.5, 0.01, 1e-10, 0.1)
        var p = p0, sum = [Double](repeating: initial, count: p0.count)
        for (t, g) in grads.enumerated() {
            let clr = lr / (1 + Double(t) * decay)
            for i in p.indices {
                let gi = g[i] + wd * p[i]
                sum[i] += gi * gi
                p[i] -= clr * gi / (sum[i].squareRoot() + eps)
            }
        }
        let got = try run(
            "adagrad",
            [
                "lr": .number(lr), "lr_decay": .number(decay), "weight_decay": .number(wd),
                "initial_accumulator_value": .number(initial)
            ])
        assertClose(got, p)
    }

    func testClippingByGlobalNorm() {
        var updater = ParameterUpdater(SGD(learningRate: 1), clipNorm: 1)
        var model: [String: Tensor] = ["a": Tensor([0, 0]), "b": Tensor([0])]
        // Global norm 5 over both tensors: scaled by 1/5.
        let g = Gradients(byName: ["a": Tensor([3, 0]), "b": Tensor([4])], names: ["a", "b"])
        updater.update(&model, along: g)
        XCTAssertEqual(updater.lastGradientNorm!, 5, accuracy: 1e-6)
        XCTAssertEqual(model["a"]!.scalars[0], -0.6, accuracy: 1e-5)
        XCTAssertEqual(model["b"]!.scalars[0], -0.8, accuracy: 1e-5)
        // Below the threshold nothing is scaled.
        let small = Gradients(byName: ["a": Tensor([0.3, 0]), "b": Tensor([0.4])], names: ["a", "b"])
        updater.update(&model, along: small)
        XCTAssertEqual(model["a"]!.scalars[0], -0.9, accuracy: 1e-5)
    }

    func testScheduleDrivesLearningRate() {
        var updater = ParameterUpdater(SGD(learningRate: 1), schedule: StepSchedule(stepSize: 2, gamma: 0.5))
        var model: [String: Tensor] = ["w": Tensor([0])]
        var rates: [Float] = []
        for _ in 0..<5 {
            rates.append(updater.learningRate)
            updater.update(&model, along: Gradients(byName: ["w": Tensor([1])], names: ["w"]))
        }
        XCTAssertEqual(rates, [1, 1, 0.5, 0.5, 0.25])
        XCTAssertEqual(model["w"]!.scalar, -3.25, accuracy: 1e-6)
    }

    func testStateExportImportContinuesExactly() throws {
        var a = ParameterUpdater(Adam(learningRate: 0.1))
        var model: [String: Tensor] = ["x.weight": Tensor(p0.map(Float.init)), "x": Tensor([1, 2])]
        func grads(_ s: Int) -> Gradients {
            Gradients(byName: ["x.weight": Tensor(self.grads[s].map(Float.init)), "x": Tensor([Float(s), 1])], names: ["x", "x.weight"])
        }
        a.update(&model, along: grads(0))
        a.update(&model, along: grads(1))
        let exported = a.exportState()
        XCTAssertEqual(exported.map(\.0), ["x.m", "x.v", "x.weight.m", "x.weight.v"])
        var b = ParameterUpdater(Adam(learningRate: 0.1))
        try b.importState(Dictionary(uniqueKeysWithValues: exported), step: a.step, model: model)
        var modelB = model
        a.update(&model, along: grads(2))
        b.update(&modelB, along: grads(2))
        XCTAssertEqual(model["x.weight"]!.scalars, modelB["x.weight"]!.scalars)
        XCTAssertEqual(model["x"]!.scalars, modelB["x"]!.scalars)
        // Unknown parameter, unknown slot, wrong shape: all listed, state untouched.
        var c = ParameterUpdater(Adam())
        let bad: [String: Tensor] = ["nope.m": Tensor([1]), "x.q": Tensor([1, 1]), "x.m": Tensor([1]), "x.v": Tensor([1, 1])]
        XCTAssertThrowsError(try c.importState(bad, step: 3, model: model)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("nope.m") && text.contains("'x.q'") && text.contains("'x.m' has shape [1]"), text)
        }
        XCTAssertEqual(c.step, 0)
    }

    func testConfigsRoundTripAndReject() throws {
        let registry = trainingRegistry()
        for name in ["sgd", "adam", "adamw", "rmsprop", "adagrad"] {
            let opt = try registry.optimizer(name, ["lr": 0.5])
            XCTAssertEqual(opt.learningRate, 0.5)
            let again = try registry.optimizer(Config(json: opt.config.jsonData))
            XCTAssertEqual(again.config, opt.config, name)
        }
        XCTAssertThrowsError(try registry.optimizer("adam", ["learning_rate": 0.1, "lr": 0.1]))
        XCTAssertThrowsError(try registry.optimizer("adam", ["beta1": 0.9])) { XCTAssertTrue("\($0)".contains("beta1")) }
        XCTAssertThrowsError(try registry.optimizer("sgd", ["nesterov": true]))
        XCTAssertThrowsError(try registry.optimizer("adam", ["lr": -1]))
        XCTAssertThrowsError(try registry.optimizer("lion", [:])) { XCTAssertTrue("\($0)".contains("adamw")) }
    }

    /// A large parameter is updated in place (no copy of its buffer per step).
    func testUpdateIsInPlace() {
        var updater = ParameterUpdater(Adam())
        var model: [String: Tensor] = ["w": Tensor.zeros([100_000])]
        let g = Gradients(byName: ["w": Tensor.ones([100_000])], names: ["w"])
        updater.update(&model, along: g)
        let before = model["w"]!.withUnsafeBufferPointer { $0.baseAddress }
        updater.update(&model, along: g)
        XCTAssertEqual(model["w"]!.withUnsafeBufferPointer { $0.baseAddress }, before)
    }

    /// The same holds for a built `Model` (parameters inside an existential root layer).
    func testModelUpdateIsInPlace() throws {
        var model = try Model(inputShape: [500], seed: 0) { Dense(units: 200) }
        var updater = ParameterUpdater(SGD(learningRate: 0.1, momentum: 0.9))
        let x = Tensor.ones([4, 500])
        func step() {
            let (_, grads) = valueWithGradient(at: model) { m in m(x).mean() }
            updater.update(&model, along: grads)
        }
        step()
        let before = model.namedParameters.map { $0.value.withUnsafeBufferPointer { $0.baseAddress } }
        step()
        XCTAssertEqual(model.namedParameters.map { $0.value.withUnsafeBufferPointer { $0.baseAddress } }, before)
    }
}
