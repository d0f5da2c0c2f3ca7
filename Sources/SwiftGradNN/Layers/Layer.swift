/// Whether layers run in training mode (dropout active, batch norm using
/// batch statistics) or inference mode. Bound per task/thread, like the tape.
public enum LearningPhase {
    @TaskLocal public static var isTraining: Bool = false

    /// Runs `body` in training (or inference) mode.
    public static func with<R>(training: Bool, _ body: () throws -> R) rethrows -> R {
        try $isTraining.withValue(training) { try body() }
    }
}

/// A differentiable layer or model: a value that maps a batch tensor to a
/// batch tensor and owns named parameters.
///
/// Layers are plugins: each has a registry name, is built from a `Config`,
/// and writes its config back. A layer whose parameter shapes depend on its
/// input (Keras-style `Conv2D(filters:)`) creates them in `build`.
public protocol Layer: ParameterContainer, Sendable {
    /// The default registry name, e.g. "conv2d".
    static var typeName: String { get }
    /// Builds an unbuilt layer from a config (the `type` field already matched).
    init(config: Config) throws
    /// The config that rebuilds this layer, `type` included.
    var config: Config { get }
    /// Creates parameters for a per-sample input shape (no batch axis, e.g.
    /// [C, H, W]) and returns the per-sample output shape. Throws a
    /// `ConfigError` when the input shape does not fit the layer.
    mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int]
    /// Applies the layer to a batch, [N, ...inputShape] -> [N, ...outputShape].
    func callAsFunction(_ input: Tensor) -> Tensor
    /// Non-trainable state saved in checkpoints (batch norm running stats).
    var buffers: [(name: String, value: Tensor)] { get }
    /// Restores a buffer by name (as listed in `buffers`).
    mutating func setBuffer(_ name: String, _ value: Tensor) throws
}

extension Layer {
    public var buffers: [(name: String, value: Tensor)] { [] }
    public mutating func setBuffer(_ name: String, _ value: Tensor) throws {
        throw ConfigError.invalidValue(owner: Self.typeName, field: name, reason: "is not a buffer of this layer")
    }
    /// Layers without parameters visit nothing.
    public mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {}
}
