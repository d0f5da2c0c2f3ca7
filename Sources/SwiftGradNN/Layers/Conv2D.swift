/// A 2-D convolution layer (cross-correlation, as PyTorch's `nn.Conv2d`).
///
/// Input [N, C, H, W] -> output [N, filters, Ho, Wo] with
/// Ho = (H + 2*pad - dilation*(kh-1) - 1) / stride + 1.
///
/// Config: `{"type": "conv2d", "filters": 32, "kernel_size": 3,
/// "strides": 1, "padding": "valid", "dilation": 1, "groups": 1,
/// "activation": "relu", "use_bias": true, "kernel_initializer": ...}`
/// (`kernel` is accepted for `kernel_size`).
/// Parameters: `weight` [filters, C/groups, kh, kw], `bias` [filters].
public struct Conv2D: Layer {
    public static let typeName = "conv2d"

    /// Output channels.
    public let filters: Int
    /// Kernel extent (kh, kw).
    public let kernelSize: Size2
    /// Step between windows.
    public let strides: Size2
    /// Zero padding.
    public let padding: Padding
    /// Spacing between kernel taps.
    public let dilation: Size2
    /// Channel groups; input and output channels must divide by it.
    public let groups: Int
    /// Applied after the convolution.
    public let activation: Activation
    /// Whether the layer has a `bias` parameter.
    public let useBias: Bool
    /// Weight initializer.
    public let kernelInitializer: Initializer
    /// Bias initializer.
    public let biasInitializer: Initializer
    /// [filters, C/groups, kh, kw], nil until built.
    public var weight: Tensor?
    /// [filters], nil until built or without bias.
    public var bias: Tensor?
    /// Padding per side with "same" resolved (set by `init`).
    public let resolvedPadding: Size2

    /// A convolution with `filters` output channels; parameters are created
    /// by `build`: `Conv2D(filters: 32, kernelSize: 3, activation: .relu)`.
    /// - Precondition: positive sizes; "same" padding needs an odd kernel.
    public init(
        filters: Int, kernelSize: Size2, strides: Size2 = 1, padding: Padding = .valid, dilation: Size2 = 1,
        groups: Int = 1, activation: Activation = .linear, useBias: Bool = true,
        kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer? = nil
    ) {
        precondition(
            filters >= 1 && groups >= 1 && filters % groups == 0,
            "Conv2D: filters \(filters) must be positive and divisible by groups \(groups)")
        precondition(
            min(kernelSize.h, kernelSize.w, strides.h, strides.w, dilation.h, dilation.w) >= 1,
            "Conv2D: kernel size, strides and dilation must be positive")
        guard let p = try? padding.resolve(kernel: kernelSize, dilation: dilation, owner: Self.typeName) else {
            preconditionFailure("Conv2D: \"same\" padding needs an odd effective kernel, got \(kernelSize)")
        }
        (self.filters, self.kernelSize, self.strides, self.padding) = (filters, kernelSize, strides, padding)
        (self.dilation, self.groups, self.activation, self.useBias) = (dilation, groups, activation, useBias)
        self.kernelInitializer = kernelInitializer
        self.biasInitializer = biasInitializer ?? kernelInitializer.defaultBias
        self.resolvedPadding = p
    }

    public init(config: Config) throws {
        try config.checkOnly([
            "filters", "kernel_size", "kernel", "strides", "padding", "dilation", "groups", "activation", "use_bias",
            "kernel_initializer", "bias_initializer"
        ])
        let filters = try config.int("filters", atLeast: 1)
        let groups = try config.int("groups", atLeast: 1, default: 1)
        guard filters % groups == 0 else {
            throw ConfigError.invalidValue(
                owner: config.owner, field: "filters",
                reason: "\(filters) is not divisible by groups \(groups)")
        }
        let kernel = try config.kernelSize()
        let dilation = try config.size2("dilation", atLeast: 1, default: 1)
        let padding = try Padding(config: config)
        _ = try padding.resolve(kernel: kernel, dilation: dilation, owner: config.owner)
        let kernelInit = try Initializer(config: config, key: "kernel_initializer", default: .glorotUniform)
        self.init(
            filters: filters, kernelSize: kernel, strides: try config.size2("strides", atLeast: 1, default: 1),
            padding: padding, dilation: dilation, groups: groups, activation: try Activation(config: config),
            useBias: try config.bool("use_bias", default: true), kernelInitializer: kernelInit,
            biasInitializer: try Initializer(config: config, key: "bias_initializer", default: kernelInit.defaultBias))
    }

    public var config: Config {
        Config([
            "type": .string(Self.typeName), "filters": .int(filters), "kernel_size": .size(kernelSize),
            "strides": .size(strides), "padding": padding.configValue, "dilation": .size(dilation),
            "groups": .int(groups), "activation": activation.configValue, "use_bias": .bool(useBias),
            "kernel_initializer": .string(kernelInitializer.rawValue),
            "bias_initializer": .string(biasInitializer.rawValue)
        ])
    }

    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] {
        let name = Self.typeName
        try checkRank(inputShape, 3, name, expected: "[C, H, W]")
        guard inputShape[0] % groups == 0 else {
            throw ConfigError.invalidValue(
                owner: name, field: "groups",
                reason: "\(groups) does not divide the \(inputShape[0]) input channels")
        }
        let p = resolvedPadding
        let ho = try windowOutput(inputShape[1], kernel: kernelSize.h, stride: strides.h, padding: p.h, dilation: dilation.h, owner: name)
        let wo = try windowOutput(inputShape[2], kernel: kernelSize.w, stride: strides.w, padding: p.w, dilation: dilation.w, owner: name)
        let shape = [filters, inputShape[0] / groups, kernelSize.h, kernelSize.w]
        let fans = Tensor.fans(shape)
        weight = kernelInitializer.make(shape, fans: fans, generator: &generator)
        bias = useBias ? biasInitializer.make([filters], fans: fans, generator: &generator) : nil
        return [filters, ho, wo]
    }

    /// [N, C, H, W] -> [N, filters, Ho, Wo].
    public func callAsFunction(_ input: Tensor) -> Tensor {
        // ReLU runs inside the conv op: one buffer and one memory pass fewer.
        let fused = activation == .relu
        let y = convolve(input, fusedReLU: fused)
        return fused ? y : activation(y)
    }

    /// The convolution and bias, with or without a ReLU in the same op.
    private func convolve(_ input: Tensor, fusedReLU: Bool) -> Tensor {
        let w = requireBuilt(weight, "Conv2D")
        return conv2d(
            input, weight: w, bias: bias, stride: strides, padding: resolvedPadding,
            dilation: dilation, groups: groups, fusedReLU: fusedReLU)
    }

    public mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {
        if weight != nil { visitor(joinName(prefix, "weight"), &weight!) }
        if bias != nil { visitor(joinName(prefix, "bias"), &bias!) }
    }
}

/// A `.relu` convolution leaves its ReLU to a following max pool.
extension Conv2D: ReLUGiving {
    var endsWithReLU: Bool { activation == .relu }
    func callWithoutReLU(_ input: Tensor) -> Tensor { convolve(input, fusedReLU: false) }

    /// `pool(self(input))` as one op (`conv2dMaxPool2d`), the ReLU (if any)
    /// after the pool.
    func callPooled(_ input: Tensor, by pool: MaxPool2D) -> Tensor {
        let w = requireBuilt(weight, "Conv2D")
        return conv2dMaxPool2d(
            input, weight: w, bias: bias, stride: strides, padding: resolvedPadding,
            dilation: dilation, groups: groups, poolSize: pool.window.poolSize,
            poolStride: pool.window.strides, poolPadding: pool.window.resolvedPadding,
            fusedReLU: activation == .relu)
    }
}
