/// The built-in losses, registered as a third-party bundle would.
public enum BuiltinLosses {
    /// Registers "softmax_cross_entropy", "pixelwise_cross_entropy",
    /// "binary_cross_entropy", "mse", "huber" and "smooth_l1".
    public static func register(into registry: Registry) {
        registry.register(loss: "softmax_cross_entropy") { try SoftmaxCrossEntropyLoss(config: $0) }
        registry.register(loss: "pixelwise_cross_entropy") { try PixelwiseCrossEntropyLoss(config: $0) }
        registry.register(loss: "binary_cross_entropy") { try BinaryCrossEntropyLoss(config: $0) }
        registry.register(loss: "mse") { try MeanSquaredErrorLoss(config: $0) }
        registry.register(loss: "huber") { try HuberLoss(config: $0) }
        registry.register(loss: "smooth_l1") { try SmoothL1Loss(config: $0) }
    }
}
