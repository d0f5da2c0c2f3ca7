/// Flattens every per-sample axis into one: [N, d1, d2, ...] -> [N, d1*d2*...].
/// No parameters. Config: `{"type": "flatten"}`.
public struct Flatten: Layer {
    public static let typeName = "flatten"

    /// A flatten layer.
    public init() {}

    public init(config: Config) throws { try config.checkOnly([]) }

    public var config: Config { Config(["type": .string(Self.typeName)]) }

    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] {
        [inputShape.reduce(1, *)]
    }

    /// [N, ...] -> [N, product of the rest].
    public func callAsFunction(_ input: Tensor) -> Tensor {
        input.rank == 2 ? input : input.flattened(startAxis: 1)
    }
}

/// Reshapes each sample: [N, ...] -> [N, ...targetShape]. One entry of
/// `targetShape` may be -1 (inferred). No parameters.
/// Config: `{"type": "reshape", "target_shape": [64, 7, 7]}`.
public struct Reshape: Layer {
    public static let typeName = "reshape"

    /// The per-sample output shape (no batch axis), possibly with one -1.
    public let targetShape: [Int]

    /// A reshape to `targetShape` per sample.
    public init(targetShape: [Int]) { self.targetShape = targetShape }

    public init(config: Config) throws {
        try config.checkOnly(["target_shape"])
        targetShape = try config.intArray("target_shape")
        let bad = targetShape.filter { $0 == 0 || $0 < -1 }.count > 0 || targetShape.filter { $0 == -1 }.count > 1
        guard !targetShape.isEmpty, !bad else {
            throw ConfigError.invalidValue(
                owner: config.owner, field: "target_shape",
                reason: "\(targetShape) must hold positive extents and at most one -1")
        }
    }

    public var config: Config {
        Config(["type": .string(Self.typeName), "target_shape": .array(targetShape.map { .int($0) })])
    }

    public mutating func build(inputShape: [Int], generator: inout SeededGenerator) throws -> [Int] {
        let count = inputShape.reduce(1, *)
        let known = targetShape.filter { $0 != -1 }.reduce(1, *)
        let inferred = targetShape.contains(-1) ? (known > 0 && count % known == 0 ? count / known : -1) : known
        let shape = targetShape.map { $0 == -1 ? inferred : $0 }
        guard inferred > 0, shape.reduce(1, *) == count else {
            throw ConfigError.invalidValue(
                owner: Self.typeName, field: "target_shape",
                reason: "\(targetShape) does not fit input \(inputShape) (\(count) elements)")
        }
        return shape
    }

    /// [N, ...] -> [N, ...targetShape].
    public func callAsFunction(_ input: Tensor) -> Tensor {
        input.reshaped(to: [input.shape[0]] + targetShape)
    }
}
