/// A loss function plugin: maps predictions and targets to a scalar tensor.
///
/// Concrete losses (cross-entropy, MSE, ...) register a factory under a name
/// with `Registry.register(loss:_:)` and are built from a config such as
/// `{"type": "softmax_cross_entropy"}`.
public protocol Loss: Sendable {
    /// The config that rebuilds this loss, `type` included.
    var config: Config { get }
    /// The loss value, a one-element tensor (shape `[]`).
    ///
    /// - Parameters:
    ///   - predictions: the model output, e.g. logits [N, C].
    ///   - targets: what the loss compares against, e.g. class indices [N]
    ///     stored as floats, or a tensor shaped like `predictions`.
    func callAsFunction(_ predictions: Tensor, _ targets: Tensor) -> Tensor
}

/// A learning-rate schedule plugin: scales the optimizer's base rate per step.
///
/// Registered with `Registry.register(schedule:_:)` and built from a config
/// such as `{"type": "cosine", "total_steps": 1000}`.
public protocol LearningRateSchedule: Sendable {
    /// The config that rebuilds this schedule, `type` included.
    var config: Config { get }
    /// The learning rate to use at `step` (counting from 0) given the
    /// optimizer's base rate.
    func learningRate(base: Float, step: Int) -> Float
}
