import SwiftGradNN

/// A third-party optimizer: signSGD with optional momentum (Signum,
/// Bernstein et al. 2018). m = beta * m + (1 - beta) * g;
/// p -= lr * sign(m). With beta = 0 it is plain signSGD and keeps no state.
///
/// Config: `{"type": "mylib.sign_sgd", "learning_rate": 0.01, "beta": 0.9}`.
public struct SignSGD: Optimizer {
    public static let typeName = "mylib.sign_sgd"

    public var learningRate: Float
    /// Momentum factor in [0, 1).
    public let beta: Float

    public init(learningRate: Float = 0.01, beta: Float = 0) {
        (self.learningRate, self.beta) = (learningRate, beta)
    }

    public init(config: Config) throws {
        try config.checkOnly(["learning_rate", "beta"])
        let beta = try config.float("beta", default: 0)
        guard beta >= 0, beta < 1 else {
            throw ConfigError.invalidValue(owner: config.owner, field: "beta", reason: "must be in [0, 1), got \(beta)")
        }
        self.init(learningRate: try config.float("learning_rate", default: 0.01), beta: beta)
    }

    public var config: Config {
        Config(["type": .string(Self.typeName), "learning_rate": .float(learningRate), "beta": .float(beta)])
    }

    public func newState(for parameter: Tensor) -> [String: Tensor] {
        beta > 0 ? ["m": Tensor.zeros(like: parameter)] : [:]
    }

    public func applySingle(
        parameter: inout Tensor, gradient: Tensor, state: inout [String: Tensor], step: Int, learningRate: Float
    ) {
        var direction = gradient
        if beta > 0, let m = state["m"] {
            direction = m * beta + gradient * (1 - beta)
            state["m"] = direction
        }
        let d = direction.scalars
        parameter.withUnsafeMutableBufferPointer { p in
            for i in p.indices where d[i] != 0 { p[i] -= learningRate * (d[i] > 0 ? 1 : -1) }
        }
    }
}

/// The bundle a third-party package exposes: one line per plugin.
public enum ExamplePlugins {
    public static func register(into registry: Registry) {
        registry.register(layer: ScaledTanh.self)
        registry.register(optimizer: SignSGD.self)
    }
}
