import Foundation

/// Checks for layer plugins, usable from any test framework: each check
/// returns a report or throws a `PluginTestKit.Failure` describing what is
/// wrong.
///
/// ```swift
/// func testScaledTanh() throws {
///     let layer = ScaledTanh(scale: 2)
///     try PluginTestKit.checkGradients(of: layer, inputShape: [3, 4], batch: 2, seed: 0)
///     try PluginTestKit.checkConfigRoundTrip(of: layer, inputShape: [3, 4])
/// }
/// ```
public enum PluginTestKit {
    /// A failed check, with a human-readable explanation.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// What went wrong.
        public let message: String
        public var description: String { message }
        init(_ message: String) { self.message = message }
    }

    /// The outcome of a passed gradient check.
    public struct GradientReport: Sendable, CustomStringConvertible {
        /// Elements whose analytic and numeric derivatives were compared.
        public var checked = 0
        /// Elements skipped because the function has a kink (ReLU at 0, a
        /// max-pool tie) within the finite-difference step.
        public var skippedNearKinks = 0
        /// Largest relative error seen.
        public var maxError = 0.0
        /// Where `maxError` occurred ("weight[17]", "input[3]").
        public var worst = ""
        public var description: String {
            "checked \(checked) elements (\(skippedNearKinks) skipped near kinks), max relative error \(maxError) at \(worst)"
        }
    }

    /// The layer and its input as one parameter container, so one gradient
    /// pass yields both input and parameter gradients.
    struct Probe: ParameterContainer {
        static let inputName = "<input>"
        var layer: any Layer
        var input: Tensor
        mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {
            visitor(Self.inputName, &input)
            layer.visitParameters(prefix: "", visitor)
        }
    }

    /// Compares the layer's gradients (with respect to its input and every
    /// parameter) against central finite differences.
    ///
    /// The layer is built on `inputShape` from `seed`, fed a random batch
    /// [batch, ...inputShape] in [-1, 1], and reduced to the scalar
    /// sum(output * R) with a fixed random R. For up to `samplesPerTensor`
    /// elements of each tensor, the numeric derivative uses steps h and h/2
    /// (h = `step` * max(1, |x|)); where the two disagree the point is near a
    /// kink and is skipped (at most a third may be). Analytic and numeric
    /// values must agree within `tolerance` relative to max(|a|, |n|, 0.05).
    ///
    /// - Parameter training: run in training mode (batch statistics). Layers
    ///   drawing fresh randomness per call (training-mode dropout) cannot be
    ///   checked this way.
    @discardableResult
    public static func checkGradients(
        of layer: any Layer, inputShape: [Int], batch: Int = 2, seed: UInt64 = 0, training: Bool = false,
        samplesPerTensor: Int = 24, step: Float = 1e-2, tolerance: Double = 2e-2
    ) throws -> GradientReport {
        var generator = SeededGenerator(seed: seed)
        var built = layer
        let outShape: [Int]
        do { outShape = try built.build(inputShape: inputShape, generator: &generator) } catch {
            throw Failure("\(type(of: layer)): build(inputShape: \(inputShape)) threw \(error)")
        }
        let input = Tensor.uniform([batch] + inputShape, lower: -1, upper: 1, generator: &generator)
        let projection = Tensor.normal([batch] + outShape, generator: &generator)
        let probe = Probe(layer: built, input: input)

        func forward(_ p: Probe) -> Tensor {
            LearningPhase.with(training: training) { p.layer(p.input) }
        }
        let first = forward(probe)
        guard first.shape == projection.shape else {
            throw Failure("\(type(of: layer)): build returned \(outShape) but the output has shape \(first.shape) for input \(input.shape)")
        }
        let (_, grads) = valueWithGradient(at: probe) { p in (forward(p) * projection).sum() }

        func objective(_ p: Probe) -> Double {
            let out = forward(p)
            return out.withUnsafeBufferPointer { o in
                projection.withUnsafeBufferPointer { r in
                    zip(o, r).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                }
            }
        }
        var report = GradientReport()
        for (name, value) in probe.namedParameters {
            guard let analytic = grads[name], analytic.shape == value.shape else {
                throw Failure("\(type(of: layer)): no gradient of shape \(value.shape) for '\(name)'")
            }
            let a = analytic.scalars, v = value.scalars
            var picker = SeededGenerator(seed: seed &+ UInt64(name.utf8.count))
            let indices =
                v.count <= samplesPerTensor
                ? Array(v.indices) : (0..<samplesPerTensor).map { _ in Int(picker.next() % UInt64(v.count)) }
            for i in indices {
                func numeric(_ h: Float) -> Double {
                    func at(_ x: Float) -> Double {
                        var p = probe
                        p.visitParameters(prefix: "") { n, t in
                            if n == name { t.withUnsafeMutableBufferPointer { $0[i] = x } }
                        }
                        return objective(p)
                    }
                    let (plus, minus) = (v[i] + h, v[i] - h)
                    return (at(plus) - at(minus)) / Double(plus - minus)
                }
                let h = step * max(1, Swift.abs(v[i]))
                let (n1, n2) = (numeric(h), numeric(h / 2))
                if Swift.abs(n1 - n2) > tolerance * max(Swift.abs(n1), Swift.abs(n2), 0.05) {
                    report.skippedNearKinks += 1
                    continue
                }
                let error = Swift.abs(Double(a[i]) - n2) / max(Swift.abs(Double(a[i])), Swift.abs(n2), 0.05)
                report.checked += 1
                let label = "\(name == Probe.inputName ? "input" : name)[\(i)]"
                if error > report.maxError { (report.maxError, report.worst) = (error, label) }
                if error > tolerance {
                    throw Failure(
                        "\(type(of: layer)): gradient of \(label) is \(a[i]), finite differences give \(n2) (relative error \(error) > \(tolerance))"
                    )
                }
            }
        }
        guard report.skippedNearKinks * 2 <= report.checked else {
            throw Failure(
                "\(type(of: layer)): \(report.skippedNearKinks) of \(report.checked + report.skippedNearKinks) points look non-smooth; is the forward pass deterministic?"
            )
        }
        return report
    }
}
