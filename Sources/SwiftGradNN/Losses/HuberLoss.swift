/// Huber loss, averaged over every element, with d = prediction - target:
///
///     |d| <= delta:  0.5 * d^2
///     otherwise:     delta * (|d| - 0.5 * delta)
///
/// Quadratic near zero, linear in the tails, so outliers pull less than with
/// MSE. Config: `{"type": "huber", "delta": 1.0}`.
public struct HuberLoss: Loss {
    /// Where the loss turns from quadratic to linear (> 0).
    public var delta: Float

    /// Creates the loss.
    public init(delta: Float = 1) {
        precondition(delta > 0, "HuberLoss: delta must be > 0")
        self.delta = delta
    }

    /// Builds from an optional `delta` (default 1).
    public init(config: Config) throws {
        try config.checkOnly(["delta"])
        let d = try config.float("delta", default: 1)
        guard d > 0 else { throw ConfigError.invalidValue(owner: config.owner, field: "delta", reason: "must be > 0, got \(d)") }
        self.init(delta: d)
    }

    /// The config that rebuilds this loss.
    public var config: Config { Config(["type": "huber", "delta": .float(delta)]) }

    /// The mean Huber loss, shape [].
    public func callAsFunction(_ predictions: Tensor, _ targets: Tensor) -> Tensor {
        huberLoss(predictions, targets, delta: delta, scale: 1, op: "huber")
    }
}

/// Smooth L1 loss (PyTorch `SmoothL1Loss`), averaged over every element:
///
///     |d| < beta:  0.5 * d^2 / beta
///     otherwise:   |d| - 0.5 * beta
///
/// Equal to Huber(delta: beta) / beta; `beta = 0` gives plain L1.
/// Config: `{"type": "smooth_l1", "beta": 1.0}`.
public struct SmoothL1Loss: Loss {
    /// Where the loss turns from quadratic to linear (>= 0).
    public var beta: Float

    /// Creates the loss.
    public init(beta: Float = 1) {
        precondition(beta >= 0, "SmoothL1Loss: beta must be >= 0")
        self.beta = beta
    }

    /// Builds from an optional `beta` (default 1).
    public init(config: Config) throws {
        try config.checkOnly(["beta"])
        let b = try config.float("beta", default: 1)
        guard b >= 0 else { throw ConfigError.invalidValue(owner: config.owner, field: "beta", reason: "must be >= 0, got \(b)") }
        self.init(beta: b)
    }

    /// The config that rebuilds this loss.
    public var config: Config { Config(["type": "smooth_l1", "beta": .float(beta)]) }

    /// The mean smooth L1 loss, shape [].
    public func callAsFunction(_ predictions: Tensor, _ targets: Tensor) -> Tensor {
        // beta = 0 is L1: Huber with a vanishing quadratic zone, scaled by 1/delta.
        beta == 0 ? l1(predictions, targets) : huberLoss(predictions, targets, delta: beta, scale: 1 / beta, op: "smooth_l1")
    }

    private func l1(_ p: Tensor, _ t: Tensor) -> Tensor {
        (p - (t.shape == p.shape ? t : t.reshaped(to: p.shape))).abs().mean()
    }
}

/// `scale * mean(huber_delta(p - t))` in one pass, with its own pullback:
/// d/dp = scale * clamp(d, -delta, delta) / n, and the negative for t.
func huberLoss(_ p: Tensor, _ t: Tensor, delta: Float, scale: Float, op: String) -> Tensor {
    let target = t.shape == p.shape ? t : t.reshaped(to: p.shape)
    precondition(target.shape == p.shape, "\(op): predictions \(p.shape) and targets \(t.shape) differ")
    let n = p.count
    var clipped = Tensor(uninitializedShape: p.shape)  // clamp(d, -delta, delta), for the pullback
    var total: Double = 0
    p.withUnsafeBufferPointer { a in
        target.withUnsafeBufferPointer { b in
            clipped.withUnsafeMutableBufferPointer { c in
                for i in 0..<n {
                    let d = a[i] - b[i]
                    let ad = Swift.abs(d)
                    total += Double(ad <= delta ? 0.5 * d * d : delta * (ad - 0.5 * delta))
                    c[i] = Swift.min(Swift.max(d, -delta), delta)
                }
            }
        }
    }
    let factor = scale / Float(Swift.max(n, 1))
    let value = Tensor(Float(total) * factor)
    let slope = clipped
    return Tensor.record(value, inputs: [p, target]) { g in
        let dp = slope * (g.scalar * factor)
        return [dp, -dp]
    }
}
