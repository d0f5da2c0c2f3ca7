import Foundation

/// Running statistics of a batch norm layer, shared by copies of the layer
/// and updated in place by training-mode calls (which are non-mutating).
final class RunningStatistics: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var mean: Tensor
    private(set) var variance: Tensor
    private(set) var batches: Int = 0

    init(channels: Int) {
        mean = .zeros([channels])
        variance = .ones([channels])
    }

    var snapshot: (mean: Tensor, variance: Tensor, batches: Int) { lock.withLock { (mean, variance, batches) } }

    /// running = (1 - momentum) * running + momentum * batch.
    func update(mean m: Tensor, variance v: Tensor, momentum: Float) {
        lock.withLock {
            mean = mean * (1 - momentum) + m * momentum
            variance = variance * (1 - momentum) + v * momentum
            batches += 1
        }
    }

    func set(mean m: Tensor? = nil, variance v: Tensor? = nil, batches b: Int? = nil) {
        lock.withLock {
            if let m { mean = m }
            if let v { variance = v }
            if let b { batches = b }
        }
    }
}

/// Batch normalization over the channel axis (PyTorch's `nn.BatchNorm2d`;
/// also accepts [N, C] like `nn.BatchNorm1d`).
///
/// Training mode (`LearningPhase.isTraining`) normalizes with the batch mean
/// and biased variance over every axis but 1, and updates the running
/// statistics: running = (1 - momentum) * running + momentum * batch, with
/// the unbiased variance (PyTorch's convention, momentum 0.1). Inference mode
/// uses the running statistics. Input [N, C, H, W] (or [N, C]) -> same shape.
///
/// Parameters: `weight` (gamma) [C], `bias` (beta) [C]. Buffers:
/// `running_mean` [C], `running_var` [C], `num_batches_tracked` [].
/// Config: `{"type": "batch_norm2d", "momentum": 0.1, "epsilon": 1e-5}`.
public struct BatchNorm2D: Layer {
    public static let typeName = "batch_norm2d"

    /// Weight of the current batch in the running statistics.
    public let momentum: Float
    /// Added to the variance before the square root.
    public let epsilon: Float
    /// Scale gamma [C], nil until built.
    public var weight: Tensor?
    /// Shift beta [C], nil until built.
    public var bias: Tensor?
    var stats: RunningStatistics?

    /// A batch norm layer; the channel count comes from `build`.
    public init(momentum: Float = 0.1, epsilon: Float = 1e-5) {
        precondition(momentum >= 0 && momentum <= 1 && epsilon > 0, "BatchNorm2D: momentum in [0, 1] and epsilon > 0")
        (self.momentum, self.epsilon) = (momentum, epsilon)
    }

    public init(config: Config) throws {
        try config.checkOnly(["momentum", "epsilon"])
        let eps = try config.float("epsilon", default: 1e-5)
        guard eps > 0 else { throw ConfigError.invalidValue(owner: config.owner, field: "epsilon", reason: "must be positive, got \(eps)") }
        self.init(momentum: try config.float("momentum", in: 0...1, default: 0.1), epsilon: eps)
    }

    public var config: Config {
        Config(["type": .string(Self.typeName), "momentum": .float(momentum), "epsilon": .float(epsilon)])
    }

    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] {
        guard inputShape.count == 1 || inputShape.count == 3 else {
            throw ConfigError.invalidValue(
                owner: Self.typeName, field: "input_shape",
                reason: "expects a per-sample input [C, H, W] or [C], got \(inputShape)")
        }
        let c = inputShape[0]
        (weight, bias, stats) = (.ones([c]), .zeros([c]), RunningStatistics(channels: c))
        return inputShape
    }

    /// [N, C, H, W] or [N, C] -> same shape.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        let (gamma, beta, stats) = (requireBuilt(weight, "BatchNorm2D"), bias!, stats!)
        let c = gamma.count
        precondition(
            (input.rank == 4 || input.rank == 2) && input.shape[1] == c,
            "BatchNorm2D: input \(input.shape) must be [N, \(c), H, W] or [N, \(c)]")
        let view = input.rank == 4 ? [1, c, 1, 1] : [1, c]
        let axes = input.rank == 4 ? [0, 2, 3] : [0]
        let normalized: Tensor
        if LearningPhase.isTraining {
            let n = input.count / c
            precondition(n > 1, "BatchNorm2D: training needs more than one value per channel, got input \(input.shape)")
            let mean = input.mean(alongAxes: axes, keepingDims: true)
            let centered = input - mean
            let variance = (centered * centered).mean(alongAxes: axes, keepingDims: true)
            normalized = centered / (variance + epsilon).sqrt()
            withoutGradient {
                stats.update(
                    mean: mean.detached.reshaped(to: [c]),
                    variance: variance.detached.reshaped(to: [c]) * (Float(n) / Float(n - 1)),
                    momentum: momentum)
            }
        } else {
            let s = stats.snapshot
            normalized = (input - s.mean.reshaped(to: view)) / (s.variance.reshaped(to: view) + epsilon).sqrt()
        }
        return normalized * gamma.reshaped(to: view) + beta.reshaped(to: view)
    }

    public mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {
        if weight != nil { visitor(joinName(prefix, "weight"), &weight!) }
        if bias != nil { visitor(joinName(prefix, "bias"), &bias!) }
    }

    public var buffers: [(name: String, value: Tensor)] {
        guard let s = stats?.snapshot else { return [] }
        return [("running_mean", s.mean), ("running_var", s.variance), ("num_batches_tracked", Tensor(Float(s.batches)))]
    }

    /// Restores a running statistic; the layer gets its own copy of the
    /// statistics first, so other copies of the layer are unaffected.
    public mutating func setBuffer(_ name: String, _ value: Tensor) throws {
        guard let old = stats?.snapshot else {
            throw ConfigError.invalidValue(owner: Self.typeName, field: name, reason: "cannot be set before the layer is built")
        }
        let fresh = RunningStatistics(channels: old.mean.count)
        fresh.set(mean: old.mean, variance: old.variance, batches: old.batches)
        let expected = name == "num_batches_tracked" ? [Int]() : old.mean.shape
        guard ["running_mean", "running_var", "num_batches_tracked"].contains(name) else {
            throw ConfigError.invalidValue(
                owner: Self.typeName, field: name, reason: "is not a buffer (running_mean, running_var, num_batches_tracked)")
        }
        guard value.shape == expected || (expected.isEmpty && value.count == 1) else {
            throw ConfigError.invalidValue(owner: Self.typeName, field: name, reason: "has shape \(value.shape), expected \(expected)")
        }
        switch name {
        case "running_mean": fresh.set(mean: value.detached)
        case "running_var": fresh.set(variance: value.detached)
        default: fresh.set(batches: Int(value.scalar))
        }
        stats = fresh
    }
}
