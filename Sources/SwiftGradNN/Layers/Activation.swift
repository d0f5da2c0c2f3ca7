/// An element-wise activation applied at the end of a layer (`Dense`,
/// `Conv2D`, ...), named as in configs: `"relu"`, `"leaky_relu"`,
/// `"sigmoid"`, `"tanh"`, `"softmax"`, `"linear"` (also `"none"` or null).
public enum Activation: String, Sendable, CaseIterable {
    /// Identity.
    case linear
    /// max(x, 0).
    case relu
    /// x for x > 0, else 0.01 * x (PyTorch's default slope).
    case leakyRelu = "leaky_relu"
    /// 1 / (1 + e^-x).
    case sigmoid
    /// Hyperbolic tangent.
    case tanh
    /// Softmax over axis 1: the class axis of [N, C] and the channel axis of
    /// [N, C, H, W].
    case softmax

    /// Applies the activation to a batch of any shape (rank >= 2 for softmax).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .linear: x
        case .relu: x.relu()
        case .leakyRelu: x.leakyRelu(slope: 0.01)
        case .sigmoid: x.sigmoid()
        case .tanh: x.tanh()
        case .softmax: x.softmax(alongAxis: 1)
        }
    }

    /// Reads `key` (default "activation") from a config; absent, null,
    /// "none" and "linear" all mean `.linear`.
    public init(config: Config, key: String = "activation") throws {
        guard config.has(key) else {
            self = .linear
            return
        }
        let name = try config.string(key)
        if name == "none" {
            self = .linear
            return
        }
        guard let a = Activation(rawValue: name) else {
            throw ConfigError.invalidValue(
                owner: config.owner, field: key,
                reason: "'\(name)' is not an activation (known: none, \(Activation.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self = a
    }

    /// The config value: the name.
    public var configValue: ConfigValue { .string(rawValue) }
}
