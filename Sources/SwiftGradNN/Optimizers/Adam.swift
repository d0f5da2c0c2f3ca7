import CKernels
import Foundation

/// Adam (Kingma & Ba), following PyTorch's `torch.optim.Adam` including bias
/// correction and its L2-style `weight_decay` (added to the gradient):
///
///     g = grad + weight_decay * p
///     m = beta_1 * m + (1 - beta_1) * g
///     v = beta_2 * v + (1 - beta_2) * g * g
///     p = p - lr / (1 - beta_1^t) * m / (sqrt(v) / sqrt(1 - beta_2^t) + epsilon)
///
/// Config: `{"type": "adam", "learning_rate": 0.001, "beta_1": 0.9,
/// "beta_2": 0.999, "epsilon": 1e-8, "weight_decay": 0}`.
public struct Adam: Optimizer {
    /// The registry name, "adam".
    public static let typeName = "adam"
    /// The base learning rate.
    public var learningRate: Float
    /// Decay of the first-moment average.
    public var beta1: Float
    /// Decay of the second-moment average.
    public var beta2: Float
    /// Added to the denominator for numerical stability.
    public var epsilon: Float
    /// L2 penalty added to the gradient (not decoupled; see `AdamW`).
    public var weightDecay: Float

    /// Creates an Adam optimizer.
    public init(
        learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
        epsilon: Float = 1e-8, weightDecay: Float = 0
    ) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// Builds from `learning_rate`/`lr`, `beta_1`, `beta_2`, `epsilon`, `weight_decay`.
    public init(config: Config) throws {
        let h = try AdamHyperparameters(config: config, defaultWeightDecay: 0)
        self.init(learningRate: h.learningRate, beta1: h.beta1, beta2: h.beta2, epsilon: h.epsilon, weightDecay: h.weightDecay)
    }

    /// The config that rebuilds this optimizer.
    public var config: Config {
        AdamHyperparameters(
            learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
            weightDecay: weightDecay
        ).config(type: Self.typeName)
    }

    /// Zero first ("m") and second ("v") moment estimates.
    public func newState(for parameter: Tensor) -> [String: Tensor] {
        ["m": Tensor.zeros(like: parameter), "v": Tensor.zeros(like: parameter)]
    }

    /// One Adam step on `parameter`.
    public func applySingle(
        parameter: inout Tensor, gradient: Tensor, state: inout [String: Tensor],
        step: Int, learningRate lr: Float
    ) {
        adamStep(
            parameter: &parameter, gradient: gradient, state: &state, step: step, learningRate: lr,
            beta1: beta1, beta2: beta2, epsilon: epsilon, l2: weightDecay, name: Self.typeName)
    }
}

/// The hyperparameters `Adam` and `AdamW` share, read from and written to
/// configs in one place.
struct AdamHyperparameters {
    var learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float

    init(learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float) {
        (self.learningRate, self.beta1, self.beta2, self.epsilon, self.weightDecay) =
            (learningRate, beta1, beta2, epsilon, weightDecay)
    }

    init(config: Config, defaultWeightDecay: Float) throws {
        try config.checkOnly(["learning_rate", "lr", "beta_1", "beta_2", "epsilon", "weight_decay"])
        self.init(
            learningRate: try config.learningRate(default: 1e-3),
            beta1: try config.boundedFloat("beta_1", default: 0.9, in: 0...0.999_999),
            beta2: try config.boundedFloat("beta_2", default: 0.999, in: 0...0.999_999_9),
            epsilon: try config.boundedFloat("epsilon", default: 1e-8, in: 0...1),
            weightDecay: try config.boundedFloat("weight_decay", default: defaultWeightDecay, in: 0...Float.infinity))
    }

    func config(type: String) -> Config {
        Config([
            "type": .string(type), "learning_rate": .float(learningRate), "beta_1": .float(beta1),
            "beta_2": .float(beta2), "epsilon": .float(epsilon), "weight_decay": .float(weightDecay)
        ])
    }
}

/// The Adam moment update and parameter step shared by `Adam` and `AdamW`;
/// `l2` is added to the gradient as `l2 * p` (0 for AdamW).
func adamStep(
    parameter: inout Tensor, gradient: Tensor, state: inout [String: Tensor], step: Int,
    learningRate lr: Float, beta1: Float, beta2: Float, epsilon: Float, l2: Float, name: String
) {
    checkGradient(parameter, gradient, name)
    precondition(step >= 1, "\(name): step counts from 1, got \(step)")
    // Bias corrections in double precision: beta^t underflows gently there.
    let bc1 = 1 - Foundation.pow(Double(beta1), Double(step))
    let bc2 = 1 - Foundation.pow(Double(beta2), Double(step))
    let stepSize = Float(Double(lr) / bc1)
    let invRootBC2 = Float(1 / bc2.squareRoot())
    let (b1, b2, eps) = (beta1, beta2, epsilon)
    var m = state.takeSlot("m", like: parameter, optimizer: name)
    var v = state.takeSlot("v", like: parameter, optimizer: name)
    defer {
        state["m"] = m
        state["v"] = v
    }
    // The formula in the doc comment, element by element, in parallel.
    parameter.withUnsafeMutableBufferPointer { p in
        m.withUnsafeMutableBufferPointer { m in
            v.withUnsafeMutableBufferPointer { v in
                gradient.withUnsafeBufferPointer { g in
                    ck_adam_step_f32(
                        Int64(p.count), p.baseAddress, g.baseAddress, m.baseAddress, v.baseAddress,
                        stepSize, invRootBC2, b1, b2, eps, l2)
                }
            }
        }
    }
}
