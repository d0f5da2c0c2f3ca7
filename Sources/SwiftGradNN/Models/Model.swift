import Foundation

/// A built network: a root layer (usually `Sequential` or `Graph`) with a
/// per-sample input shape, its parameters created from `seed`.
///
/// ```swift
/// let model = try Model(inputShape: [1, 28, 28], seed: 0) {
///     Conv2D(filters: 32, kernelSize: 3, activation: .relu)
///     MaxPool2D(poolSize: 2)
///     Flatten()
///     Dense(units: 10)
/// }
/// let logits = model(images)            // [N, 1, 28, 28] -> [N, 10]
/// let again = try Registry.shared.model(json: model.config.jsonData)
/// ```
///
/// Config: the root layer's config plus `input_shape` and `seed`:
/// `{"type": "sequential", "input_shape": [1, 28, 28], "seed": 0, "layers": [...]}`.
/// Parameter and buffer names are the root's ("0.weight", "enc.c1.bias").
/// Layers with running state (batch norm) share it between copies of a
/// model, so statistics updated inside `valueWithGradient` are kept.
public struct Model: ParameterContainer, Sendable {
    /// The network.
    public var root: any Layer
    /// Per-sample input shape, e.g. [C, H, W].
    public let inputShape: [Int]
    /// The seed the parameters were initialized from.
    public let seed: UInt64
    /// Per-sample output shapes (one per head).
    public let outputShapes: [[Int]]

    /// Builds `root` for `inputShape`, initializing parameters from `seed`.
    /// Throws a `ConfigError` when a layer does not fit its input.
    public init(inputShape: [Int], seed: UInt64 = 0, root: any Layer) throws {
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 >= 1 }) else {
            throw ConfigError.invalidValue(owner: "model", field: "input_shape", reason: "must hold positive extents, got \(inputShape)")
        }
        var generator = SeededGenerator(seed: seed)
        var root = root
        let first = try root.build(inputShape: inputShape, generator: &generator)
        self.root = root
        (self.inputShape, self.seed) = (inputShape, seed)
        outputShapes = (root as? any MultiOutputLayer)?.outputShapes ?? [first]
    }

    /// A sequential model written one layer per line.
    public init(inputShape: [Int], seed: UInt64 = 0, @LayerBuilder _ layers: () -> [any Layer]) throws {
        try self.init(inputShape: inputShape, seed: seed, root: Sequential(layers()))
    }

    /// Builds from a model config (see the type's documentation).
    public init(config: Config, registry: Registry = .shared) throws {
        let inputShape = try config.intArray("input_shape")
        let seed = try config.int("seed", atLeast: 0, default: 0)
        var rootConfig = config
        rootConfig.fields["input_shape"] = nil
        rootConfig.fields["seed"] = nil
        try self.init(inputShape: inputShape, seed: UInt64(seed), root: registry.layer(rootConfig))
    }

    /// Builds from a model config in JSON.
    public init(json: Data, registry: Registry = .shared) throws {
        try self.init(config: Config(json: json, owner: "model"), registry: registry)
    }

    /// The config that rebuilds this model (same parameters when built
    /// with the same seed).
    public var config: Config {
        var c = root.config
        c["input_shape"] = .array(inputShape.map { .int($0) })
        c["seed"] = .number(Double(seed))
        return c
    }

    /// The per-sample output shape (of the first head).
    public var outputShape: [Int] { outputShapes[0] }

    /// Applies the network: [N, ...inputShape] -> [N, ...outputShape].
    /// - Precondition: the model has one output (see `outputs(_:)`).
    public func callAsFunction(_ input: Tensor) -> Tensor {
        checkInput(input)
        return root(input)
    }

    /// Every head's output for a batch, in the order of `outputShapes`.
    public func outputs(_ input: Tensor) -> [Tensor] {
        checkInput(input)
        if let multi = root as? any MultiOutputLayer { return multi.outputs(input) }
        return [root(input)]
    }

    private func checkInput(_ input: Tensor) {
        precondition(
            Array(input.shape.dropFirst()) == inputShape,
            "Model: input \(input.shape) does not match [N] + input shape \(inputShape)")
    }

    public mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {
        root.visitParameters(prefix: prefix, visitor)
    }

    /// Non-trainable state (batch norm running statistics) by dotted name.
    public var buffers: [(name: String, value: Tensor)] { root.buffers }

    /// Restores a buffer by its dotted name.
    public mutating func setBuffer(_ name: String, _ value: Tensor) throws { try root.setBuffer(name, value) }

    /// Training state (dropout mask counts) by dotted name; see `Layer`.
    public var trainingState: [(name: String, value: Tensor)] { root.trainingState }

    /// Restores training state by its dotted name.
    public mutating func setTrainingState(_ name: String, _ value: Tensor) throws {
        try root.setTrainingState(name, value)
    }
}

extension Registry {
    /// Builds a model from a config such as
    /// `{"type": "sequential", "input_shape": [1, 28, 28], "seed": 0, "layers": [...]}`.
    public func model(config: Config) throws -> Model { try Model(config: config, registry: self) }

    /// Builds a model from a JSON model config.
    public func model(json: Data) throws -> Model { try Model(json: json, registry: self) }
}
