/// The window of a 2-D pooling layer: size, strides and padding, shared by
/// `MaxPool2D` and `AvgPool2D`.
public struct PoolWindow: Sendable, Equatable {
    /// Window extent (kh, kw).
    public let poolSize: Size2
    /// Step between windows (defaults to `poolSize`).
    public let strides: Size2
    /// "valid", "same" (odd windows) or explicit padding of at most half the window.
    public let padding: Padding
    /// Padding per side with "same" resolved.
    public let resolvedPadding: Size2

    /// A window; nil when padding exceeds half the window (or "same" meets
    /// an even window).
    public init?(poolSize: Size2, strides: Size2? = nil, padding: Padding = .valid) {
        guard min(poolSize.h, poolSize.w) >= 1, let p = try? padding.resolve(kernel: poolSize, owner: ""),
            p.h <= poolSize.h / 2, p.w <= poolSize.w / 2
        else { return nil }
        let s = strides ?? poolSize
        guard min(s.h, s.w) >= 1 else { return nil }
        (self.poolSize, self.strides, self.padding, self.resolvedPadding) = (poolSize, s, padding, p)
    }

    /// Reads `pool_size`, `strides` and `padding` from a config.
    public init(config: Config) throws {
        let size = try config.size2("pool_size", atLeast: 1)
        let strides = config.has("strides") ? try config.size2("strides", atLeast: 1) : size
        let padding = try Padding(config: config)
        let p = try padding.resolve(kernel: size, owner: config.owner)
        guard p.h <= size.h / 2, p.w <= size.w / 2 else {
            throw ConfigError.invalidValue(
                owner: config.owner, field: "padding",
                reason: "\(p) must be at most half the pool size \(size)")
        }
        self.init(poolSize: size, strides: strides, padding: padding)!
    }

    /// The config fields of the window.
    public var fields: [String: ConfigValue] {
        ["pool_size": .size(poolSize), "strides": .size(strides), "padding": padding.configValue]
    }

    /// The per-sample output shape for input [C, H, W], throwing when the
    /// window does not fit.
    func outputShape(_ input: [Int], owner: String) throws -> [Int] {
        try checkRank(input, 3, owner, expected: "[C, H, W]")
        let p = resolvedPadding
        return [
            input[0],
            try windowOutput(input[1], kernel: poolSize.h, stride: strides.h, padding: p.h, owner: owner, field: "pool_size"),
            try windowOutput(input[2], kernel: poolSize.w, stride: strides.w, padding: p.w, owner: owner, field: "pool_size")
        ]
    }
}
