/// A 2-D transposed convolution layer (PyTorch's `nn.ConvTranspose2d`), the
/// usual upsampling step of a decoder.
///
/// Input [N, C, H, W] -> output [N, filters, Ho, Wo] with
/// Ho = (H-1)*stride - 2*pad + dilation*(kh-1) + output_padding + 1.
/// `"same"` padding gives Ho = H*stride (Keras's `Conv2DTranspose`).
///
/// Config: `{"type": "conv_transpose2d", "filters": 16, "kernel_size": 2,
/// "strides": 2, "padding": "valid", "output_padding": 0, "dilation": 1,
/// "groups": 1, "activation": "linear", "use_bias": true}`.
/// Parameters: `weight` [C, filters/groups, kh, kw], `bias` [filters].
public struct ConvTranspose2D: Layer {
    public static let typeName = "conv_transpose2d"

    /// Output channels.
    public let filters: Int
    /// Kernel extent (kh, kw).
    public let kernelSize: Size2
    /// Upsampling factor.
    public let strides: Size2
    /// Padding removed from the output ("valid" = none).
    public let padding: Padding
    /// Extra rows/columns added to one side of the output; nil means 0, or
    /// whatever "same" needs.
    public let outputPadding: Size2?
    /// Spacing between kernel taps.
    public let dilation: Size2
    /// Channel groups.
    public let groups: Int
    /// Applied after the convolution.
    public let activation: Activation
    /// Whether the layer has a `bias` parameter.
    public let useBias: Bool
    /// Weight initializer.
    public let kernelInitializer: Initializer
    /// Bias initializer.
    public let biasInitializer: Initializer
    /// [C, filters/groups, kh, kw], nil until built.
    public var weight: Tensor?
    /// [filters], nil until built or without bias.
    public var bias: Tensor?
    /// (padding, output padding) per side with "same" resolved.
    public let resolved: (padding: Size2, outputPadding: Size2)

    /// Resolves "same" to a symmetric padding plus output padding giving
    /// H*stride, or nil when no valid pair exists.
    static func resolve(_ padding: Padding, outputPadding: Size2?, kernel: Size2, strides: Size2, dilation: Size2)
        -> (padding: Size2, outputPadding: Size2)?
    {
        func axis(_ k: Int, _ s: Int, _ d: Int) -> (Int, Int)? {
            let total = d * (k - 1) + 1 - s  // 2*pad - outputPadding must equal this
            let pad = total > 0 ? (total + 1) / 2 : 0
            let out = 2 * pad - total
            return out < max(s, d) ? (pad, out) : nil
        }
        switch padding {
        case .same:
            guard outputPadding == nil, let h = axis(kernel.h, strides.h, dilation.h),
                let w = axis(kernel.w, strides.w, dilation.w)
            else { return nil }
            return (Size2(h.0, w.0), Size2(h.1, w.1))
        case .valid, .explicit:
            let p = padding == .valid ? Size2(0, 0) : (try? padding.resolve(kernel: kernel, owner: "")) ?? Size2(0, 0)
            let o = outputPadding ?? Size2(0, 0)
            guard o.h >= 0, o.w >= 0, o.h < max(strides.h, dilation.h), o.w < max(strides.w, dilation.w) else { return nil }
            return (p, o)
        }
    }

    /// A transposed convolution with `filters` output channels:
    /// `ConvTranspose2D(filters: 16, kernelSize: 2, strides: 2)`.
    /// - Precondition: positive sizes, output padding < max(stride, dilation),
    ///   "same" resolvable.
    public init(
        filters: Int, kernelSize: Size2, strides: Size2 = 1, padding: Padding = .valid, outputPadding: Size2? = nil,
        dilation: Size2 = 1, groups: Int = 1, activation: Activation = .linear, useBias: Bool = true,
        kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer? = nil
    ) {
        precondition(
            filters >= 1 && groups >= 1 && filters % groups == 0,
            "ConvTranspose2D: filters \(filters) must be positive and divisible by groups \(groups)")
        precondition(
            min(kernelSize.h, kernelSize.w, strides.h, strides.w, dilation.h, dilation.w) >= 1,
            "ConvTranspose2D: kernel size, strides and dilation must be positive")
        guard let r = Self.resolve(padding, outputPadding: outputPadding, kernel: kernelSize, strides: strides, dilation: dilation) else {
            preconditionFailure(
                "ConvTranspose2D: padding \(padding) / output padding \(String(describing: outputPadding)) invalid for kernel \(kernelSize), strides \(strides)"
            )
        }
        (self.filters, self.kernelSize, self.strides, self.padding) = (filters, kernelSize, strides, padding)
        (self.outputPadding, self.dilation, self.groups) = (outputPadding, dilation, groups)
        (self.activation, self.useBias, self.resolved) = (activation, useBias, r)
        self.kernelInitializer = kernelInitializer
        self.biasInitializer = biasInitializer ?? kernelInitializer.defaultBias
    }

    public init(config: Config) throws {
        try config.checkOnly([
            "filters", "kernel_size", "kernel", "strides", "padding", "output_padding", "dilation", "groups", "activation",
            "use_bias", "kernel_initializer", "bias_initializer"
        ])
        let filters = try config.int("filters", atLeast: 1)
        let groups = try config.int("groups", atLeast: 1, default: 1)
        guard filters % groups == 0 else {
            throw ConfigError.invalidValue(owner: config.owner, field: "filters", reason: "\(filters) is not divisible by groups \(groups)")
        }
        let kernel = try config.kernelSize()
        let strides = try config.size2("strides", atLeast: 1, default: 1)
        let dilation = try config.size2("dilation", atLeast: 1, default: 1)
        let padding = try Padding(config: config)
        let outPad = config.has("output_padding") ? try config.size2("output_padding", atLeast: 0) : nil
        guard Self.resolve(padding, outputPadding: outPad, kernel: kernel, strides: strides, dilation: dilation) != nil else {
            throw ConfigError.invalidValue(
                owner: config.owner, field: outPad == nil ? "padding" : "output_padding",
                reason:
                    "cannot be used with kernel \(kernel), strides \(strides), dilation \(dilation) (output padding must be < max(stride, dilation) and is set automatically for \"same\")"
            )
        }
        let kernelInit = try Initializer(config: config, key: "kernel_initializer", default: .glorotUniform)
        self.init(
            filters: filters, kernelSize: kernel, strides: strides, padding: padding, outputPadding: outPad,
            dilation: dilation, groups: groups, activation: try Activation(config: config),
            useBias: try config.bool("use_bias", default: true), kernelInitializer: kernelInit,
            biasInitializer: try Initializer(config: config, key: "bias_initializer", default: kernelInit.defaultBias))
    }

    public var config: Config {
        var c = Config([
            "type": .string(Self.typeName), "filters": .int(filters), "kernel_size": .size(kernelSize),
            "strides": .size(strides), "padding": padding.configValue, "dilation": .size(dilation),
            "groups": .int(groups), "activation": activation.configValue, "use_bias": .bool(useBias),
            "kernel_initializer": .string(kernelInitializer.rawValue), "bias_initializer": .string(biasInitializer.rawValue)
        ])
        if let outputPadding { c["output_padding"] = .size(outputPadding) }
        return c
    }

    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] {
        let name = Self.typeName
        try checkRank(inputShape, 3, name, expected: "[C, H, W]")
        guard inputShape[0] % groups == 0 else {
            throw ConfigError.invalidValue(
                owner: name, field: "groups", reason: "\(groups) does not divide the \(inputShape[0]) input channels")
        }
        let (p, o) = resolved
        let ho = (inputShape[1] - 1) * strides.h - 2 * p.h + dilation.h * (kernelSize.h - 1) + o.h + 1
        let wo = (inputShape[2] - 1) * strides.w - 2 * p.w + dilation.w * (kernelSize.w - 1) + o.w + 1
        guard ho >= 1, wo >= 1 else {
            throw ConfigError.invalidValue(owner: name, field: "padding", reason: "\(p) leaves an empty output for input \(inputShape)")
        }
        let shape = [inputShape[0], filters / groups, kernelSize.h, kernelSize.w]
        let fans = Tensor.fans(shape)
        weight = kernelInitializer.make(shape, fans: fans, generator: &generator)
        bias = useBias ? biasInitializer.make([filters], fans: fans, generator: &generator) : nil
        return [filters, ho, wo]
    }

    /// [N, C, H, W] -> [N, filters, Ho, Wo].
    public func callAsFunction(_ input: Tensor) -> Tensor {
        let w = requireBuilt(weight, "ConvTranspose2D")
        return activation(
            convTranspose2d(
                input, weight: w, bias: bias, stride: strides, padding: resolved.padding,
                outputPadding: resolved.outputPadding, dilation: dilation, groups: groups))
    }

    public mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {
        if weight != nil { visitor(joinName(prefix, "weight"), &weight!) }
        if bias != nil { visitor(joinName(prefix, "bias"), &bias!) }
    }
}
