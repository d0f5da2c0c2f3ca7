/// RMSprop, following PyTorch's `torch.optim.RMSprop`:
///
///     g = grad + weight_decay * p
///     s = rho * s + (1 - rho) * g * g
///     centered: a = rho * a + (1 - rho) * g;  d = sqrt(s - a * a) + epsilon
///     else:     d = sqrt(s) + epsilon
///     momentum > 0: buf = momentum * buf + g / d;  p = p - lr * buf
///     else:         p = p - lr * g / d
///
/// Config: `{"type": "rmsprop", "learning_rate": 0.01, "rho": 0.99,
/// "epsilon": 1e-8, "momentum": 0, "centered": false, "weight_decay": 0}`;
/// `alpha` (PyTorch's name) is accepted for `rho`.
public struct RMSprop: Optimizer {
    /// The registry name, "rmsprop".
    public static let typeName = "rmsprop"
    /// The base learning rate.
    public var learningRate: Float
    /// Decay of the squared-gradient average (PyTorch's `alpha`).
    public var rho: Float
    /// Added to the denominator for numerical stability.
    public var epsilon: Float
    /// Momentum factor; 0 disables the momentum buffer.
    public var momentum: Float
    /// Normalize by the estimated variance instead of the raw second moment.
    public var centered: Bool
    /// L2 penalty added to the gradient.
    public var weightDecay: Float

    /// Creates an RMSprop optimizer.
    public init(
        learningRate: Float = 0.01, rho: Float = 0.99, epsilon: Float = 1e-8,
        momentum: Float = 0, centered: Bool = false, weightDecay: Float = 0
    ) {
        self.learningRate = learningRate
        self.rho = rho
        self.epsilon = epsilon
        self.momentum = momentum
        self.centered = centered
        self.weightDecay = weightDecay
    }

    /// Builds from `learning_rate`/`lr`, `rho`/`alpha`, `epsilon`, `momentum`,
    /// `centered`, `weight_decay`.
    public init(config: Config) throws {
        try config.checkOnly(["learning_rate", "lr", "rho", "alpha", "epsilon", "momentum", "centered", "weight_decay"])
        if config.has("rho") && config.has("alpha") {
            throw ConfigError.invalidValue(owner: config.owner, field: "alpha", reason: "duplicates 'rho'; give only one")
        }
        let rhoKey = config.has("alpha") ? "alpha" : "rho"
        self.init(
            learningRate: try config.learningRate(default: 0.01),
            rho: try config.boundedFloat(rhoKey, default: 0.99, in: 0...1),
            epsilon: try config.boundedFloat("epsilon", default: 1e-8, in: 0...1),
            momentum: try config.boundedFloat("momentum", default: 0, in: 0...1),
            centered: try config.bool("centered", default: false),
            weightDecay: try config.boundedFloat("weight_decay", default: 0, in: 0...Float.infinity))
    }

    /// The config that rebuilds this optimizer.
    public var config: Config {
        Config([
            "type": .string(Self.typeName), "learning_rate": .float(learningRate), "rho": .float(rho),
            "epsilon": .float(epsilon), "momentum": .float(momentum), "centered": .bool(centered),
            "weight_decay": .float(weightDecay)
        ])
    }

    /// "square_avg", plus "grad_avg" when centered and "momentum_buffer" with momentum.
    public func newState(for parameter: Tensor) -> [String: Tensor] {
        var s = ["square_avg": Tensor.zeros(like: parameter)]
        if centered { s["grad_avg"] = Tensor.zeros(like: parameter) }
        if momentum > 0 { s["momentum_buffer"] = Tensor.zeros(like: parameter) }
        return s
    }

    /// One RMSprop step on `parameter`.
    public func applySingle(
        parameter: inout Tensor, gradient: Tensor, state: inout [String: Tensor],
        step: Int, learningRate lr: Float
    ) {
        let name = Self.typeName
        checkGradient(parameter, gradient, name)
        let (rho, eps, mu, wd, centered) = (rho, epsilon, momentum, weightDecay, centered)
        // Unused slots stay empty tensors; their pointers are never read.
        var sq = state.takeSlot("square_avg", like: parameter, optimizer: name)
        var ga = centered ? state.takeSlot("grad_avg", like: parameter, optimizer: name) : Tensor.zeros([0])
        var buf = mu > 0 ? state.takeSlot("momentum_buffer", like: parameter, optimizer: name) : Tensor.zeros([0])
        defer {
            state["square_avg"] = sq
            if centered { state["grad_avg"] = ga }
            if mu > 0 { state["momentum_buffer"] = buf }
        }
        parameter.withUnsafeMutableBufferPointer { p in
            sq.withUnsafeMutableBufferPointer { s in
                ga.withUnsafeMutableBufferPointer { a in
                    buf.withUnsafeMutableBufferPointer { b in
                        gradient.withUnsafeBufferPointer { g in
                            for i in 0..<p.count {
                                let gi = g[i] + wd * p[i]
                                let si = rho * s[i] + (1 - rho) * gi * gi
                                s[i] = si
                                var d: Float
                                if centered {
                                    let ai = rho * a[i] + (1 - rho) * gi
                                    a[i] = ai
                                    d = (si - ai * ai).squareRoot() + eps
                                } else {
                                    d = si.squareRoot() + eps
                                }
                                if mu > 0 {
                                    let bi = mu * b[i] + gi / d
                                    b[i] = bi
                                    p[i] -= lr * bi
                                } else {
                                    p[i] -= lr * gi / d
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
