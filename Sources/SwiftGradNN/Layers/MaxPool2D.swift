/// 2-D max pooling (PyTorch's `nn.MaxPool2d`, floor mode; padding counts as
/// -infinity). No parameters.
///
/// Input [N, C, H, W] -> [N, C, Ho, Wo], Ho = (H + 2*pad - pool) / stride + 1.
///
/// Config: `{"type": "max_pool2d", "pool_size": 2, "strides": 2, "padding": "valid"}`
/// (`strides` defaults to `pool_size`).
public struct MaxPool2D: Layer {
    public static let typeName = "max_pool2d"

    /// Window size, strides and padding.
    public let window: PoolWindow

    /// `MaxPool2D(poolSize: 2)`; strides default to the pool size.
    /// - Precondition: padding at most half the window.
    public init(poolSize: Size2, strides: Size2? = nil, padding: Padding = .valid) {
        guard let w = PoolWindow(poolSize: poolSize, strides: strides, padding: padding) else {
            preconditionFailure("MaxPool2D: invalid window \(poolSize), strides \(String(describing: strides)), padding \(padding)")
        }
        window = w
    }

    public init(config: Config) throws {
        try config.checkOnly(["pool_size", "strides", "padding"])
        window = try PoolWindow(config: config)
    }

    public var config: Config {
        var c = Config(window.fields)
        c["type"] = .string(Self.typeName)
        return c
    }

    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] {
        try window.outputShape(inputShape, owner: Self.typeName)
    }

    /// [N, C, H, W] -> [N, C, Ho, Wo].
    public func callAsFunction(_ input: Tensor) -> Tensor { pool(input, fusedReLU: false) }

    private func pool(_ input: Tensor, fusedReLU: Bool) -> Tensor {
        maxPool2d(
            input, kernelSize: window.poolSize, stride: window.strides, padding: window.resolvedPadding,
            fusedReLU: fusedReLU)
    }
}

/// Max pooling commutes with ReLU; the ReLU then runs on the pooled output.
extension MaxPool2D: ReLUTaking {
    func callAfterReLU(_ input: Tensor) -> Tensor { pool(input, fusedReLU: true) }
}
