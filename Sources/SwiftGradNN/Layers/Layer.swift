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
///
/// A model that is not a chain can be a plain struct owning its sub-layers:
/// build them in `build`, call them in `callAsFunction`, and visit each with
/// its own prefix so parameters get dotted names ("down.weight"):
///
/// ```swift
/// struct TinyUNet: Layer {
///     static let typeName = "mylib.tiny_unet"
///     var down = Conv2D(filters: 4, kernelSize: 3, padding: .same, activation: .relu)
///     var up = ConvTranspose2D(filters: 4, kernelSize: 2, strides: 2)
///     var head = Conv2D(filters: 2, kernelSize: 1)
///
///     init() {}
///     init(config: Config) throws { try config.checkOnly([]) }
///     var config: Config { Config(["type": .string(Self.typeName)]) }
///
///     // [C, H, W] -> [2, H, W] (H and W even).
///     mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] {
///         let d = try down.build(inputShape: inputShape, generator: &generator)
///         let u = try up.build(inputShape: [d[0], d[1] / 2, d[2] / 2], generator: &generator)
///         return try head.build(inputShape: [u[0] + d[0], u[1], u[2]], generator: &generator)
///     }
///
///     func callAsFunction(_ x: Tensor) -> Tensor {
///         let skip = down(x)
///         let bottom = maxPool2d(skip, kernelSize: 2)
///         return head(Tensor.concatenate([up(bottom), skip], axis: 1))
///     }
///
///     mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {
///         down.visitParameters(prefix: joinName(prefix, "down"), visitor)
///         up.visitParameters(prefix: joinName(prefix, "up"), visitor)
///         head.visitParameters(prefix: joinName(prefix, "head"), visitor)
///     }
/// }
/// let model = try Model(inputShape: [1, 64, 64], seed: 0, root: TinyUNet())
/// ```
///
/// Register it (`Registry.shared.register(layer: TinyUNet.self)`) to build it
/// from JSON; `Sequential` and `Graph` cover chains and DAGs without code.
/// Layers holding sub-layers with buffers should also forward `buffers` and
/// `setBuffer` with the same prefixes.
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
    /// State a training run carries that is not part of the model's weights
    /// (dropout's count of masks drawn): saved with the optimizer state in
    /// training checkpoints, so a resumed run continues exactly, and kept
    /// out of `saveWeights` files (PyTorch's state dicts have no such entry).
    var trainingState: [(name: String, value: Tensor)] { get }
    /// Restores training state by name (as listed in `trainingState`).
    mutating func setTrainingState(_ name: String, _ value: Tensor) throws
}

extension Layer {
    public var buffers: [(name: String, value: Tensor)] { [] }
    public mutating func setBuffer(_ name: String, _ value: Tensor) throws {
        throw ConfigError.invalidValue(owner: Self.typeName, field: name, reason: "is not a buffer of this layer")
    }
    public var trainingState: [(name: String, value: Tensor)] { [] }
    public mutating func setTrainingState(_ name: String, _ value: Tensor) throws {
        throw ConfigError.invalidValue(owner: Self.typeName, field: name, reason: "is not training state of this layer")
    }
    /// Layers without parameters visit nothing.
    public mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {}
}
