/// A U-Net for semantic segmentation (Ronneberger et al. 2015), scaled down,
/// with "same" padding so the output has the input's height and width.
///
/// For `channels` [c0, c1, ..., c(D-1)] and a bottleneck of B channels:
/// - encoder level i (`enc<i>`): two 3x3 convolutions (padding 1) + ReLU
///   with c_i filters, whose output is kept as the skip features, then a
///   2x2 max pool;
/// - bottleneck (`bottleneck`): two 3x3 convolutions + ReLU with B filters;
/// - decoder level i, from the deepest up (`up<i>`, `dec<i>`): a 2x2
///   stride-2 transposed convolution to c_i channels, concatenation
///   [skip_i, upsampled] along channels, two 3x3 convolutions + ReLU with c_i
///   filters;
/// - `head`: a 1x1 convolution to `classes` scores per pixel (logits).
///
/// Heights and widths need not be divisible by 2^D: where pooling dropped an
/// odd row or column, the transposed convolution gets an output padding of 1
/// so that it matches its skip features again (64x84 -> 42 -> 21 -> 10 -> 5
/// and back). Input [N, C, H, W] -> logits [N, classes, H, W], H and W at
/// least 2^D.
///
/// Config: `{"type": "unet", "channels": [16, 32, 64, 128],
/// "bottleneck": 256, "classes": 4, "activation": "relu",
/// "kernel_initializer": "he_uniform"}`;
/// `in_channels` is inferred at build and written back once known.
/// Parameter names follow PyTorch habits: "enc0.conv1.weight",
/// "bottleneck.conv2.bias", "up3.weight", "dec0.conv1.weight", "head.weight".
public struct UNet: CompositeLayer {
    public static let typeName = "unet"

    /// Two 3x3 convolutions with padding 1, each followed by ReLU.
    public struct DoubleConv: Sendable {
        /// First convolution (input channels -> filters).
        public var conv1: Conv2D
        /// Second convolution (filters -> filters).
        public var conv2: Conv2D

        /// Two unbuilt 3x3 convolutions with `filters` outputs each.
        public init(filters: Int, activation: Activation = .relu, initializer: Initializer) {
            func conv() -> Conv2D {
                Conv2D(
                    filters: filters, kernelSize: 3, padding: .explicit(1), activation: activation,
                    kernelInitializer: initializer, biasInitializer: .zeros)
            }
            (conv1, conv2) = (conv(), conv())
        }

        /// [N, C, H, W] -> [N, filters, H, W].
        public func callAsFunction(_ x: Tensor) -> Tensor { conv2(conv1(x)) }

        mutating func build(_ shape: [Int], _ generator: inout SeededGenerator) throws -> [Int] {
            let mid = try withContext("conv1") { try conv1.build(inputShape: shape, generator: &generator) }
            return try withContext("conv2") { try conv2.build(inputShape: mid, generator: &generator) }
        }

        mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {
            conv1.visitParameters(prefix: joinName(prefix, "conv1"), visitor)
            conv2.visitParameters(prefix: joinName(prefix, "conv2"), visitor)
        }
    }

    /// Filters of each encoder (and matching decoder) level, shallowest first.
    public let channels: [Int]
    /// Filters of the bottleneck convolutions.
    public let bottleneckChannels: Int
    /// Number of output classes (channels of the logits).
    public let classes: Int
    /// Applied after every 3x3 convolution (ReLU in the paper).
    public let activation: Activation
    /// Initializer of every convolution weight (biases start at zero).
    public let kernelInitializer: Initializer
    /// Input channels, from the config or inferred by `build`.
    public private(set) var inChannels: Int?

    /// Encoder levels, shallowest first (`enc<i>`).
    public private(set) var encoders: [DoubleConv]
    /// The deepest double convolution (`bottleneck`).
    public private(set) var bottleneck: DoubleConv
    /// Transposed convolutions by level (`up<i>` feeds decoder level i).
    /// Rebuilt by `build`, which sets their output padding.
    public private(set) var upsamplers: [ConvTranspose2D]
    /// Decoder levels by level (`dec<i>` runs after `up<i>`).
    public private(set) var decoders: [DoubleConv]
    /// The 1x1 convolution to class scores (`head`).
    public private(set) var head: Conv2D
    /// Per-sample output shape of each named part, filled by `build`.
    public private(set) var partShapes: [String: [Int]] = [:]

    /// The number of encoder levels D.
    public var depth: Int { channels.count }

    /// An unbuilt U-Net. Put it in a `Model` (or call `build`) to create the
    /// parameters: `try Model(inputShape: [1, 64, 64], root: UNet(classes: 4))`.
    /// - Precondition: at least one level, positive channel counts and classes.
    public init(
        classes: Int, channels: [Int] = [16, 32, 64, 128], bottleneck: Int = 256,
        inChannels: Int? = nil, activation: Activation = .relu, kernelInitializer: Initializer = .heUniform
    ) {
        precondition(
            !channels.isEmpty && channels.allSatisfy { $0 >= 1 } && bottleneck >= 1 && classes >= 1,
            "UNet: need at least one level and positive channels, bottleneck and classes; got channels \(channels), bottleneck \(bottleneck), classes \(classes)"
        )
        precondition(inChannels.map { $0 >= 1 } ?? true, "UNet: inChannels must be positive")
        (self.channels, self.bottleneckChannels, self.classes) = (channels, bottleneck, classes)
        (self.inChannels, self.activation, self.kernelInitializer) = (inChannels, activation, kernelInitializer)
        func block(_ filters: Int) -> DoubleConv { DoubleConv(filters: filters, activation: activation, initializer: kernelInitializer) }
        encoders = channels.map(block)
        self.bottleneck = block(bottleneck)
        upsamplers = channels.map { Self.upsampler(filters: $0, outputPadding: Size2(0, 0), kernelInitializer) }
        decoders = channels.map(block)
        head = Conv2D(filters: classes, kernelSize: 1, kernelInitializer: kernelInitializer, biasInitializer: .zeros)
    }

    static func upsampler(filters: Int, outputPadding: Size2, _ initializer: Initializer) -> ConvTranspose2D {
        ConvTranspose2D(
            filters: filters, kernelSize: 2, strides: 2, outputPadding: outputPadding,
            kernelInitializer: initializer, biasInitializer: .zeros)
    }

    public init(config: Config) throws {
        try config.checkOnly(["channels", "bottleneck", "classes", "in_channels", "activation", "kernel_initializer"])
        let channels = config.has("channels") ? try config.intArray("channels") : [16, 32, 64, 128]
        guard !channels.isEmpty, channels.allSatisfy({ $0 >= 1 }) else {
            throw ConfigError.invalidValue(
                owner: config.owner, field: "channels",
                reason: "must be a non-empty array of positive integers, got \(channels)")
        }
        let inChannels = config.has("in_channels") ? try config.int("in_channels", atLeast: 1) : nil
        self.init(
            classes: try config.int("classes", atLeast: 1), channels: channels,
            bottleneck: try config.int("bottleneck", atLeast: 1, default: 256), inChannels: inChannels,
            activation: config.has("activation") ? try Activation(config: config) : .relu,
            kernelInitializer: try Initializer(config: config, key: "kernel_initializer", default: .heUniform))
    }

    public var config: Config {
        var c = Config([
            "type": .string(Self.typeName), "channels": .array(channels.map { .int($0) }),
            "bottleneck": .int(bottleneckChannels), "classes": .int(classes),
            "activation": activation.configValue, "kernel_initializer": .string(kernelInitializer.rawValue)
        ])
        if let inChannels { c["in_channels"] = .int(inChannels) }
        return c
    }

    /// Creates every parameter for [C, H, W]; returns [classes, H, W].
    /// Throws when C contradicts `in_channels` or H, W are below 2^D.
    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] {
        let name = Self.typeName
        try checkRank(inputShape, 3, name, expected: "[C, H, W]")
        if let inChannels, inChannels != inputShape[0] {
            throw ConfigError.invalidValue(
                owner: name, field: "in_channels",
                reason: "is \(inChannels) but the input \(inputShape) has \(inputShape[0]) channels")
        }
        let minimum = 1 << depth
        guard inputShape[1] >= minimum, inputShape[2] >= minimum else {
            throw ConfigError.invalidValue(
                owner: name, field: "channels",
                reason: "has \(depth) levels, which need height and width of at least \(minimum); the input is \(inputShape)")
        }
        var shapes: [String: [Int]] = [:]
        var skips: [[Int]] = []
        var shape = inputShape
        for i in 0..<depth {
            shape = try withContext("enc\(i)") { try encoders[i].build(shape, &generator) }
            shapes["enc\(i)"] = shape
            skips.append(shape)
            shape = [shape[0], shape[1] / 2, shape[2] / 2]
        }
        shape = try withContext("bottleneck") { try bottleneck.build(shape, &generator) }
        shapes["bottleneck"] = shape
        for i in (0..<depth).reversed() {
            // Pooling floors odd extents; one extra output row/column undoes that.
            let skip = skips[i]
            let pad = Size2(skip[1] - 2 * shape[1], skip[2] - 2 * shape[2])
            upsamplers[i] = Self.upsampler(filters: channels[i], outputPadding: pad, kernelInitializer)
            shape = try withContext("up\(i)") { try upsamplers[i].build(inputShape: shape, generator: &generator) }
            shapes["up\(i)"] = shape
            shape = [skip[0] + shape[0], skip[1], skip[2]]
            shape = try withContext("dec\(i)") { try decoders[i].build(shape, &generator) }
            shapes["dec\(i)"] = shape
        }
        shape = try withContext("head") { try head.build(inputShape: shape, generator: &generator) }
        shapes["head"] = shape
        partShapes = shapes
        inChannels = inputShape[0]
        return shape
    }

    /// [N, C, H, W] -> logits [N, classes, H, W].
    public func callAsFunction(_ input: Tensor) -> Tensor {
        precondition(
            !partShapes.isEmpty, "UNet: not built; call build(inputShape:generator:) or put the layer in a Model before applying it")
        var skips: [Tensor] = []
        skips.reserveCapacity(depth)
        var x = input
        for encoder in encoders {
            x = encoder(x)
            skips.append(x)
            x = maxPool2d(x, kernelSize: 2)
        }
        x = bottleneck(x)
        for i in (0..<depth).reversed() {
            x = upsamplers[i](x)
            x = decoders[i](Tensor.concatenate([skips[i], x], axis: 1))
        }
        return head(x)
    }

    public mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {
        for i in encoders.indices {
            encoders[i].visitParameters(prefix: joinName(prefix, "enc\(i)"), visitor)
        }
        bottleneck.visitParameters(prefix: joinName(prefix, "bottleneck"), visitor)
        for i in (0..<depth).reversed() {
            upsamplers[i].visitParameters(prefix: joinName(prefix, "up\(i)"), visitor)
            decoders[i].visitParameters(prefix: joinName(prefix, "dec\(i)"), visitor)
        }
        head.visitParameters(prefix: joinName(prefix, "head"), visitor)
    }

    public func summaryRows(prefix: String) -> [LayerSummaryRow] {
        func row(_ part: String, _ type: String, _ layer: some ParameterContainer) -> LayerSummaryRow {
            LayerSummaryRow(
                name: joinName(prefix, part), type: type, outputShape: partShapes[part] ?? [],
                parameterCount: layer.parameterCount)
        }
        func block(_ part: String, _ b: DoubleConv) -> LayerSummaryRow {
            row(part, "double_conv", DoubleConvParameters(block: b))
        }
        var rows = encoders.indices.map { block("enc\($0)", encoders[$0]) }
        rows.append(block("bottleneck", bottleneck))
        for i in (0..<depth).reversed() {
            rows.append(row("up\(i)", ConvTranspose2D.typeName, upsamplers[i]))
            rows.append(block("dec\(i)", decoders[i]))
        }
        rows.append(row("head", Conv2D.typeName, head))
        return rows
    }
}

/// A double convolution seen as a parameter container, for summaries.
private struct DoubleConvParameters: ParameterContainer {
    var block: UNet.DoubleConv
    mutating func visitParameters(prefix: String, _ visitor: (String, inout Tensor) -> Void) {
        block.visitParameters(prefix: prefix, visitor)
    }
}
