/// 2-D average pooling (PyTorch's `nn.AvgPool2d`, floor mode). No parameters.
///
/// Input [N, C, H, W] -> [N, C, Ho, Wo], Ho = (H + 2*pad - pool) / stride + 1.
///
/// Config: `{"type": "avg_pool2d", "pool_size": 2, "strides": 2,
/// "padding": "valid", "count_include_pad": true}`.
public struct AvgPool2D: Layer {
    public static let typeName = "avg_pool2d"

    /// Window size, strides and padding.
    public let window: PoolWindow
    /// Divide by the whole window, padding included (PyTorch's default).
    public let countIncludePad: Bool

    /// `AvgPool2D(poolSize: 2)`; strides default to the pool size.
    /// - Precondition: padding at most half the window.
    public init(poolSize: Size2, strides: Size2? = nil, padding: Padding = .valid, countIncludePad: Bool = true) {
        guard let w = PoolWindow(poolSize: poolSize, strides: strides, padding: padding) else {
            preconditionFailure("AvgPool2D: invalid window \(poolSize), strides \(String(describing: strides)), padding \(padding)")
        }
        window = w
        self.countIncludePad = countIncludePad
    }

    public init(config: Config) throws {
        try config.checkOnly(["pool_size", "strides", "padding", "count_include_pad"])
        window = try PoolWindow(config: config)
        countIncludePad = try config.bool("count_include_pad", default: true)
    }

    public var config: Config {
        var c = Config(window.fields)
        c["type"] = .string(Self.typeName)
        c["count_include_pad"] = .bool(countIncludePad)
        return c
    }

    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] {
        try window.outputShape(inputShape, owner: Self.typeName)
    }

    /// [N, C, H, W] -> [N, C, Ho, Wo].
    public func callAsFunction(_ input: Tensor) -> Tensor {
        avgPool2d(
            input, kernelSize: window.poolSize, stride: window.strides, padding: window.resolvedPadding,
            countIncludePad: countIncludePad)
    }
}
