/// max(x, 0) element-wise; any shape. Config: `{"type": "relu"}`.
public struct ReLU: Layer {
    public static let typeName = "relu"
    /// A ReLU layer.
    public init() {}
    public init(config: Config) throws { try config.checkOnly([]) }
    public var config: Config { Config(["type": .string(Self.typeName)]) }
    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] { inputShape }
    /// Same shape in and out.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.relu() }
}

/// A ReLU layer before a max pool becomes part of the pool.
extension ReLU: ReLUGiving {
    var endsWithReLU: Bool { true }
    func callWithoutReLU(_ input: Tensor) -> Tensor { input }
}

/// x for x > 0, else alpha * x; any shape.
/// Config: `{"type": "leaky_relu", "alpha": 0.01}` (PyTorch's default slope).
public struct LeakyReLU: Layer {
    public static let typeName = "leaky_relu"
    /// Slope for negative inputs.
    public let alpha: Float
    /// A leaky ReLU with negative slope `alpha`.
    public init(alpha: Float = 0.01) { self.alpha = alpha }
    public init(config: Config) throws {
        try config.checkOnly(["alpha"])
        alpha = try config.float("alpha", default: 0.01)
    }
    public var config: Config { Config(["type": .string(Self.typeName), "alpha": .float(alpha)]) }
    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] { inputShape }
    /// Same shape in and out.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.leakyRelu(slope: alpha) }
}

/// 1 / (1 + e^-x) element-wise; any shape. Config: `{"type": "sigmoid"}`.
public struct Sigmoid: Layer {
    public static let typeName = "sigmoid"
    /// A sigmoid layer.
    public init() {}
    public init(config: Config) throws { try config.checkOnly([]) }
    public var config: Config { Config(["type": .string(Self.typeName)]) }
    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] { inputShape }
    /// Same shape in and out.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.sigmoid() }
}

/// tanh element-wise; any shape. Config: `{"type": "tanh"}`.
public struct Tanh: Layer {
    public static let typeName = "tanh"
    /// A tanh layer.
    public init() {}
    public init(config: Config) throws { try config.checkOnly([]) }
    public var config: Config { Config(["type": .string(Self.typeName)]) }
    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] { inputShape }
    /// Same shape in and out.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.tanh() }
}

/// Softmax along `axis` of the batch tensor (default 1: classes of [N, C],
/// channels of [N, C, H, W]). Config: `{"type": "softmax", "axis": 1}`.
public struct Softmax: Layer {
    public static let typeName = "softmax"
    /// The axis of the batch tensor [N, ...] to normalize; negative counts from the end.
    public let axis: Int
    /// A softmax over `axis`.
    public init(axis: Int = 1) { self.axis = axis }
    public init(config: Config) throws {
        try config.checkOnly(["axis"])
        axis = try config.int("axis", default: 1)
        guard axis != 0 else {
            throw ConfigError.invalidValue(owner: config.owner, field: "axis", reason: "must not be the batch axis 0")
        }
    }
    public var config: Config { Config(["type": .string(Self.typeName), "axis": .int(axis)]) }
    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] {
        let rank = inputShape.count + 1
        guard axis < rank, axis >= -rank, axis != 0, axis != -rank else {
            throw ConfigError.invalidValue(
                owner: Self.typeName, field: "axis",
                reason: "\(axis) is out of range for batch input [N] + \(inputShape)")
        }
        return inputShape
    }
    /// Same shape in and out.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.softmax(alongAxis: axis) }
}
