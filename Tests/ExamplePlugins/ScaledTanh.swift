import Foundation
import SwiftGradNN

/// A third-party layer: y = scale * tanh(x) with a learnable scalar `scale`,
/// written as a custom differentiable op (`Tensor.record`) to show how a
/// plugin adds an op with its own pullback. Any shape in and out.
///
/// Config: `{"type": "mylib.scaled_tanh", "initial_scale": 1.0}`.
/// Parameters: `scale` [1].
public struct ScaledTanh: Layer {
    public static let typeName = "mylib.scaled_tanh"

    /// The starting value of `scale`.
    public let initialScale: Float
    /// The learnable factor [1], nil until built.
    public var scale: Tensor?

    public init(initialScale: Float = 1) { self.initialScale = initialScale }

    public init(config: Config) throws {
        try config.checkOnly(["initial_scale"])
        initialScale = try config.float("initial_scale", default: 1)
    }

    public var config: Config {
        Config(["type": .string(Self.typeName), "initial_scale": .float(initialScale)])
    }

    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] {
        scale = Tensor([initialScale])
        return inputShape
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        guard let scale else { preconditionFailure("ScaledTanh: not built") }
        let s = scale.scalar
        let t = input.scalars.map { Foundation.tanh($0) }
        let out = Tensor(shape: input.shape, scalars: t.map { s * $0 })
        return Tensor.record(out, inputs: [input, scale]) { g in
            let gs = g.scalars
            let dx = zip(gs, t).map { gi, ti in gi * s * (1 - ti * ti) }
            let ds = zip(gs, t).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            return [Tensor(shape: input.shape, scalars: dx), Tensor([ds])]
        }
    }

    public mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {
        if scale != nil { visitor(joinName(prefix, "scale"), &scale!) }
    }
}
