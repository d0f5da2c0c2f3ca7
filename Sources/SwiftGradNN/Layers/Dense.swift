/// A fully connected layer, y = activation(x W^T + b).
///
/// The weight is stored [units, inFeatures] like PyTorch's `nn.Linear`, so
/// checkpoints carry over. Input [N, inFeatures] -> output [N, units].
///
/// Config: `{"type": "dense", "units": 10, "activation": "relu",
/// "use_bias": true, "kernel_initializer": "glorot_uniform",
/// "bias_initializer": "zeros"}`. Parameters: `weight` [units, in], `bias` [units].
public struct Dense: Layer {
    public static let typeName = "dense"

    /// Output features.
    public let units: Int
    /// Applied after the affine map.
    public let activation: Activation
    /// Whether the layer has a `bias` parameter.
    public let useBias: Bool
    /// Weight initializer.
    public let kernelInitializer: Initializer
    /// Bias initializer.
    public let biasInitializer: Initializer
    /// [units, inFeatures], nil until built.
    public var weight: Tensor?
    /// [units], nil until built or without bias.
    public var bias: Tensor?

    /// A dense layer with `units` outputs; parameters are created by `build`.
    public init(
        units: Int, activation: Activation = .linear, useBias: Bool = true,
        kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer? = nil
    ) {
        precondition(units >= 1, "Dense: units must be at least 1, got \(units)")
        self.units = units
        self.activation = activation
        self.useBias = useBias
        self.kernelInitializer = kernelInitializer
        self.biasInitializer = biasInitializer ?? kernelInitializer.defaultBias
    }

    public init(config: Config) throws {
        try config.checkOnly(["units", "activation", "use_bias", "kernel_initializer", "bias_initializer"])
        let kernel = try Initializer(config: config, key: "kernel_initializer", default: .glorotUniform)
        self.init(
            units: try config.int("units", atLeast: 1),
            activation: try Activation(config: config),
            useBias: try config.bool("use_bias", default: true),
            kernelInitializer: kernel,
            biasInitializer: try Initializer(config: config, key: "bias_initializer", default: kernel.defaultBias))
    }

    public var config: Config {
        Config([
            "type": .string(Self.typeName), "units": .int(units), "activation": activation.configValue,
            "use_bias": .bool(useBias), "kernel_initializer": .string(kernelInitializer.rawValue),
            "bias_initializer": .string(biasInitializer.rawValue)
        ])
    }

    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] {
        try checkRank(inputShape, 1, Self.typeName, expected: "[features] (add a Flatten before Dense)")
        let shape = [units, inputShape[0]]
        let fans = Tensor.fans(shape)
        weight = kernelInitializer.make(shape, fans: fans, generator: &generator)
        bias = useBias ? biasInitializer.make([units], fans: fans, generator: &generator) : nil
        return [units]
    }

    /// [N, in] -> [N, units].
    public func callAsFunction(_ input: Tensor) -> Tensor {
        let w = requireBuilt(weight, "Dense")
        precondition(
            input.rank == 2 && input.shape[1] == w.shape[1],
            "Dense: input \(input.shape) does not match weight \(w.shape) (expected [N, \(w.shape[1])])")
        var y = matmul(input, w, transposeB: true)
        if let bias { y = y + bias }
        return activation(y)
    }

    public mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {
        if weight != nil { visitor(joinName(prefix, "weight"), &weight!) }
        if bias != nil { visitor(joinName(prefix, "bias"), &bias!) }
    }
}
