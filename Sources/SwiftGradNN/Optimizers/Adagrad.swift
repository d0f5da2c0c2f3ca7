/// Adagrad, following PyTorch's `torch.optim.Adagrad`:
///
///     g = grad + weight_decay * p
///     clr = lr / (1 + (t - 1) * lr_decay)
///     sum = sum + g * g
///     p = p - clr * g / (sqrt(sum) + epsilon)
///
/// Config: `{"type": "adagrad", "learning_rate": 0.01, "lr_decay": 0,
/// "initial_accumulator_value": 0, "epsilon": 1e-10, "weight_decay": 0}`.
public struct Adagrad: Optimizer {
    /// The registry name, "adagrad".
    public static let typeName = "adagrad"
    /// The base learning rate.
    public var learningRate: Float
    /// Per-step decay of the learning rate.
    public var learningRateDecay: Float
    /// Starting value of the squared-gradient sum.
    public var initialAccumulatorValue: Float
    /// Added to the denominator for numerical stability.
    public var epsilon: Float
    /// L2 penalty added to the gradient.
    public var weightDecay: Float

    /// Creates an Adagrad optimizer.
    public init(
        learningRate: Float = 0.01, learningRateDecay: Float = 0, initialAccumulatorValue: Float = 0,
        epsilon: Float = 1e-10, weightDecay: Float = 0
    ) {
        self.learningRate = learningRate
        self.learningRateDecay = learningRateDecay
        self.initialAccumulatorValue = initialAccumulatorValue
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// Builds from `learning_rate`/`lr`, `lr_decay`, `initial_accumulator_value`,
    /// `epsilon`, `weight_decay`.
    public init(config: Config) throws {
        try config.checkOnly(["learning_rate", "lr", "lr_decay", "initial_accumulator_value", "epsilon", "weight_decay"])
        self.init(
            learningRate: try config.learningRate(default: 0.01),
            learningRateDecay: try config.boundedFloat("lr_decay", default: 0, in: 0...Float.infinity),
            initialAccumulatorValue: try config.boundedFloat(
                "initial_accumulator_value", default: 0,
                in: 0...Float.infinity),
            epsilon: try config.boundedFloat("epsilon", default: 1e-10, in: 0...1),
            weightDecay: try config.boundedFloat("weight_decay", default: 0, in: 0...Float.infinity))
    }

    /// The config that rebuilds this optimizer.
    public var config: Config {
        Config([
            "type": .string(Self.typeName), "learning_rate": .float(learningRate),
            "lr_decay": .float(learningRateDecay), "initial_accumulator_value": .float(initialAccumulatorValue),
            "epsilon": .float(epsilon), "weight_decay": .float(weightDecay)
        ])
    }

    /// The squared-gradient "sum", starting at `initialAccumulatorValue`.
    public func newState(for parameter: Tensor) -> [String: Tensor] {
        ["sum": Tensor(repeating: initialAccumulatorValue, shape: parameter.shape)]
    }

    /// One Adagrad step on `parameter`.
    public func applySingle(
        parameter: inout Tensor, gradient: Tensor, state: inout [String: Tensor],
        step: Int, learningRate lr: Float
    ) {
        checkGradient(parameter, gradient, Self.typeName)
        let clr = lr / (1 + Float(step - 1) * learningRateDecay)
        let (eps, wd) = (epsilon, weightDecay)
        var sum = state.removeValue(forKey: "sum") ?? Tensor(repeating: initialAccumulatorValue, shape: parameter.shape)
        precondition(sum.shape == parameter.shape, "adagrad: state slot 'sum' has shape \(sum.shape), parameter has \(parameter.shape)")
        defer { state["sum"] = sum }
        parameter.withUnsafeMutableBufferPointer { p in
            sum.withUnsafeMutableBufferPointer { s in
                gradient.withUnsafeBufferPointer { g in
                    for i in 0..<p.count {
                        let gi = g[i] + wd * p[i]
                        let si = s[i] + gi * gi
                        s[i] = si
                        p[i] -= clr * gi / (si.squareRoot() + eps)
                    }
                }
            }
        }
    }
}
