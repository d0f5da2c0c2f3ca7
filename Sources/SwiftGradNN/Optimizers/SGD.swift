/// Stochastic gradient descent with optional momentum, Nesterov momentum and
/// L2 weight decay, following PyTorch's `torch.optim.SGD` (dampening 0):
///
///     g = grad + weight_decay * p
///     buf = momentum * buf + g            (buf starts at 0, so step 1 gives g)
///     g = nesterov ? g + momentum * buf : buf
///     p = p - lr * g
///
/// Config: `{"type": "sgd", "learning_rate": 0.01, "momentum": 0.9,
/// "nesterov": false, "weight_decay": 0}`.
public struct SGD: Optimizer {
    /// The registry name, "sgd".
    public static let typeName = "sgd"
    /// The base learning rate.
    public var learningRate: Float
    /// Momentum factor in [0, 1); 0 disables the momentum buffer.
    public var momentum: Float
    /// Use Nesterov momentum (requires momentum > 0).
    public var nesterov: Bool
    /// L2 penalty added to the gradient.
    public var weightDecay: Float

    /// Creates an SGD optimizer.
    public init(learningRate: Float = 0.01, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) {
        precondition(!nesterov || momentum > 0, "SGD: nesterov needs momentum > 0")
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    /// Builds from `learning_rate`/`lr`, `momentum`, `nesterov`, `weight_decay`.
    public init(config: Config) throws {
        try config.checkOnly(["learning_rate", "lr", "momentum", "nesterov", "weight_decay"])
        let momentum = try config.boundedFloat("momentum", default: 0, in: 0...1)
        let nesterov = try config.bool("nesterov", default: false)
        if nesterov && momentum <= 0 {
            throw ConfigError.invalidValue(owner: config.owner, field: "nesterov", reason: "needs momentum > 0")
        }
        self.init(
            learningRate: try config.learningRate(default: 0.01), momentum: momentum, nesterov: nesterov,
            weightDecay: try config.boundedFloat("weight_decay", default: 0, in: 0...Float.infinity))
    }

    /// The config that rebuilds this optimizer.
    public var config: Config {
        Config([
            "type": .string(Self.typeName), "learning_rate": .float(learningRate), "momentum": .float(momentum),
            "nesterov": .bool(nesterov), "weight_decay": .float(weightDecay)
        ])
    }

    /// A zero "momentum_buffer" when momentum is on, otherwise no state.
    public func newState(for parameter: Tensor) -> [String: Tensor] {
        momentum > 0 ? ["momentum_buffer": Tensor.zeros(like: parameter)] : [:]
    }

    /// One SGD step on `parameter`.
    public func applySingle(
        parameter: inout Tensor, gradient: Tensor, state: inout [String: Tensor],
        step: Int, learningRate lr: Float
    ) {
        checkGradient(parameter, gradient, "sgd")
        let (mu, wd, nest) = (momentum, weightDecay, nesterov)
        guard mu > 0 else {
            parameter.withUnsafeMutableBufferPointer { p in
                gradient.withUnsafeBufferPointer { g in
                    for i in 0..<p.count { p[i] -= lr * (g[i] + wd * p[i]) }
                }
            }
            return
        }
        var buf = state.takeSlot("momentum_buffer", like: parameter, optimizer: "sgd")
        defer { state["momentum_buffer"] = buf }
        parameter.withUnsafeMutableBufferPointer { p in
            buf.withUnsafeMutableBufferPointer { b in
                gradient.withUnsafeBufferPointer { g in
                    for i in 0..<p.count {
                        let gi = g[i] + wd * p[i]
                        let bi = mu * b[i] + gi
                        b[i] = bi
                        p[i] -= lr * (nest ? gi + mu * bi : bi)
                    }
                }
            }
        }
    }
}
