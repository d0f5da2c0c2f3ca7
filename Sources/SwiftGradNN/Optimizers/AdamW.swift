/// Adam with decoupled weight decay (Loshchilov & Hutter), following PyTorch's
/// `torch.optim.AdamW`: first `p = p * (1 - lr * weight_decay)`, then the
/// plain Adam step (see `Adam`) with no decay in the gradient.
///
/// Config: `{"type": "adamw", "learning_rate": 0.001, "beta_1": 0.9,
/// "beta_2": 0.999, "epsilon": 1e-8, "weight_decay": 0.01}`.
public struct AdamW: Optimizer {
    /// The registry name, "adamw".
    public static let typeName = "adamw"
    /// The base learning rate.
    public var learningRate: Float
    /// Decay of the first-moment average.
    public var beta1: Float
    /// Decay of the second-moment average.
    public var beta2: Float
    /// Added to the denominator for numerical stability.
    public var epsilon: Float
    /// Decoupled decay: each step multiplies parameters by `1 - lr * weightDecay`.
    public var weightDecay: Float

    /// Creates an AdamW optimizer.
    public init(
        learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
        epsilon: Float = 1e-8, weightDecay: Float = 0.01
    ) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// Builds from `learning_rate`/`lr`, `beta_1`, `beta_2`, `epsilon`, `weight_decay`.
    public init(config: Config) throws {
        let h = try AdamHyperparameters(config: config, defaultWeightDecay: 0.01)
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

    /// One AdamW step on `parameter`.
    public func applySingle(
        parameter: inout Tensor, gradient: Tensor, state: inout [String: Tensor],
        step: Int, learningRate lr: Float
    ) {
        let shrink = 1 - lr * weightDecay
        if shrink != 1 {
            parameter.withUnsafeMutableBufferPointer { p in
                for i in 0..<p.count { p[i] *= shrink }
            }
        }
        adamStep(
            parameter: &parameter, gradient: gradient, state: &state, step: step, learningRate: lr,
            beta1: beta1, beta2: beta2, epsilon: epsilon, l2: 0, name: Self.typeName)
    }
}
