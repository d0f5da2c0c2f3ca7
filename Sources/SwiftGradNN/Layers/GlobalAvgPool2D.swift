/// Global average pooling: the mean over each channel's spatial extent.
///
/// Input [N, C, H, W] -> [N, C] (or [N, C, 1, 1] with `keepDims`).
///
/// Config: `{"type": "global_avg_pool2d", "keep_dims": false}`.
public struct GlobalAvgPool2D: Layer {
    public static let typeName = "global_avg_pool2d"

    /// Keep the pooled axes with extent 1.
    public let keepDims: Bool

    /// A global average pool.
    public init(keepDims: Bool = false) { self.keepDims = keepDims }

    public init(config: Config) throws {
        try config.checkOnly(["keep_dims"])
        keepDims = try config.bool("keep_dims", default: false)
    }

    public var config: Config { Config(["type": .string(Self.typeName), "keep_dims": .bool(keepDims)]) }

    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] {
        try checkRank(inputShape, 3, Self.typeName, expected: "[C, H, W]")
        return keepDims ? [inputShape[0], 1, 1] : [inputShape[0]]
    }

    /// [N, C, H, W] -> [N, C] or [N, C, 1, 1].
    public func callAsFunction(_ input: Tensor) -> Tensor {
        precondition(input.rank == 4, "GlobalAvgPool2D: input \(input.shape) must be [N, C, H, W]")
        return input.mean(alongAxes: [2, 3], keepingDims: keepDims)
    }
}
