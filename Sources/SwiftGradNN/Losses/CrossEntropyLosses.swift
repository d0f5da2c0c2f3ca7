/// Softmax cross-entropy averaged over the batch.
///
/// Predictions are logits [N, C]; targets are class indices [N] stored as
/// floats, or a distribution [N, C] (one-hot or soft).
/// Config: `{"type": "softmax_cross_entropy", "class_weights": [1, 2, ...]}`.
public struct SoftmaxCrossEntropyLoss: Loss {
    /// Optional per-class weights [C] (weighted mean, as PyTorch).
    public var classWeights: [Float]?

    /// Creates the loss.
    public init(classWeights: [Float]? = nil) { self.classWeights = classWeights }

    /// Builds from an optional `class_weights` array.
    public init(config: Config) throws {
        try config.checkOnly(["class_weights"])
        self.init(classWeights: try config.classWeights())
    }

    /// The config that rebuilds this loss.
    public var config: Config { lossConfig("softmax_cross_entropy", classWeights: classWeights) }

    /// The mean cross-entropy, shape [].
    public func callAsFunction(_ predictions: Tensor, _ targets: Tensor) -> Tensor {
        if targets.shape == predictions.shape && classWeights == nil {
            return softmaxCrossEntropy(logits: predictions, probabilities: targets)
        }
        return softmaxCrossEntropy(logits: predictions, labels: targets, classWeights: classWeights)
    }
}

/// Per-pixel softmax cross-entropy for segmentation: logits [N, C, H, W],
/// targets [N, H, W] class indices. Averaged over pixels (weighted mean with
/// `class_weights`). Config: `{"type": "pixelwise_cross_entropy", "class_weights": [...]}`.
public struct PixelwiseCrossEntropyLoss: Loss {
    /// Optional per-class weights [C].
    public var classWeights: [Float]?

    /// Creates the loss.
    public init(classWeights: [Float]? = nil) { self.classWeights = classWeights }

    /// Builds from an optional `class_weights` array.
    public init(config: Config) throws {
        try config.checkOnly(["class_weights"])
        self.init(classWeights: try config.classWeights())
    }

    /// The config that rebuilds this loss.
    public var config: Config { lossConfig("pixelwise_cross_entropy", classWeights: classWeights) }

    /// The mean per-pixel cross-entropy, shape [].
    public func callAsFunction(_ predictions: Tensor, _ targets: Tensor) -> Tensor {
        pixelwiseSoftmaxCrossEntropy(logits: predictions, labels: targets, classWeights: classWeights)
    }
}

/// Binary cross-entropy, averaged over every element. With `fromLogits`
/// (the default) predictions are logits and the stable form
/// `max(x,0) - x*z + log(1 + e^-|x|)` is used; otherwise predictions are
/// probabilities, clamped to [eps, 1 - eps]. Predictions and targets share a
/// shape; targets lie in [0, 1].
/// Config: `{"type": "binary_cross_entropy", "from_logits": true}`.
public struct BinaryCrossEntropyLoss: Loss {
    /// Whether predictions are logits (true) or probabilities.
    public var fromLogits: Bool
    /// Clamp for probabilities, so log never sees 0.
    public var epsilon: Float = 1e-7

    /// Creates the loss.
    public init(fromLogits: Bool = true) { self.fromLogits = fromLogits }

    /// Builds from an optional `from_logits` flag (default true).
    public init(config: Config) throws {
        try config.checkOnly(["from_logits"])
        self.init(fromLogits: try config.bool("from_logits", default: true))
    }

    /// The config that rebuilds this loss.
    public var config: Config { Config(["type": "binary_cross_entropy", "from_logits": .bool(fromLogits)]) }

    /// The mean binary cross-entropy, shape [].
    public func callAsFunction(_ predictions: Tensor, _ targets: Tensor) -> Tensor {
        let t = targets.shape == predictions.shape ? targets : targets.reshaped(to: predictions.shape)
        if fromLogits { return sigmoidCrossEntropy(logits: predictions, labels: t) }
        let p = predictions.clamped(min: epsilon, max: 1 - epsilon)
        let z = t.detached
        return -(z * p.log() + (1 - z) * (1 - p).log()).mean()
    }
}

/// Mean squared error over every element. Config: `{"type": "mse"}`.
public struct MeanSquaredErrorLoss: Loss {
    /// Creates the loss.
    public init() {}
    /// Builds from a config with no options.
    public init(config: Config) throws { try config.checkOnly([]) }
    /// The config that rebuilds this loss.
    public var config: Config { Config(["type": "mse"]) }
    /// The mean squared error, shape [].
    public func callAsFunction(_ predictions: Tensor, _ targets: Tensor) -> Tensor {
        let t = targets.shape == predictions.shape ? targets : targets.reshaped(to: predictions.shape)
        return meanSquaredError(predicted: predictions, expected: t)
    }
}

extension Config {
    /// Optional `class_weights`: an array of non-negative numbers.
    func classWeights() throws -> [Float]? {
        guard has("class_weights") else { return nil }
        let items = try array("class_weights")
        return try items.map { item in
            guard case .number(let d) = item, d.isFinite, d >= 0 else {
                throw ConfigError.wrongType(
                    owner: owner, field: "class_weights",
                    expected: "an array of non-negative numbers", got: item.kindName)
            }
            return Float(d)
        }
    }
}

/// A config with a type and optional class weights.
func lossConfig(_ type: String, classWeights: [Float]?) -> Config {
    var c = Config(["type": .string(type)])
    if let classWeights { c["class_weights"] = .array(classWeights.map { .float($0) }) }
    return c
}
